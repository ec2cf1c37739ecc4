#!/usr/bin/python3
"""Golden values for the losses in lib/KnowledgeDistillation/Losses/.

Writes losses.json next to this script. GoldenLossTests.cs reads it; the C# tests never need Python.

How to run (Debian/Ubuntu; PyTorch 1.13 from the distribution, CPU only):

    apt-get install python3-torch
    cd tests/KnowledgeDistillation.Tests/Fixtures/losses
    /usr/bin/python3 make_loss_fixtures.py

Re-running produces a byte-identical losses.json (each case seeds torch from a hash of its name, and floats are
written with Python's shortest round-trip repr).

Each loss is written here from the formula in its paper, as quoted in the XML docs of the C# class, with plain
torch tensor ops (no torch.nn.functional loss, softmax, normalize or pooling helpers, and nothing from the C# code).
Gradients come from torch.autograd on these formulas. Everything is float64.

Case format (one entry of "cases"):
    name      unique, shown as the xunit row
    loss      which C# entry point ("HintonKDLoss", "SoftTargets.Probabilities", ...)
    params    the loss's parameters (T, alpha, form, beta, ...)
    inputs    name -> {"dtype": "float64" | "int64", "shape": [...], "values": [flat, row-major]}
    expected  name -> {"shape": [...], "values": [...]}:
              "value" (the loss; a tensor for SoftTargets), "grad.student" (d value / d student input),
              and for some losses extra terms ("soft", "hard") or parameter gradients ("grad.regressor.weight").
    For losses whose value is a tensor (SoftTargets.*), the gradient is the vector-Jacobian product with the input
    "grad_output", i.e. d sum(value * grad_output) / d student.
"""

import json
import math
import os
import zlib

import torch

torch.set_default_dtype(torch.float64)
D = torch.float64


# ----------------------------------------------------------------------------------------------------------------------
# Helpers, written out by hand.

def log_softmax(z, T=1.0):
    """log softmax(z / T) over the last dimension: x - max - log sum exp(x - max)."""
    x = z / T
    x = x - x.max(dim=-1, keepdim=True).values.detach()
    return x - torch.log(torch.exp(x).sum(dim=-1, keepdim=True))


def softmax(z, T=1.0):
    x = z / T
    x = x - x.max(dim=-1, keepdim=True).values.detach()
    e = torch.exp(x)
    return e / e.sum(dim=-1, keepdim=True)


def l2_normalise_rows(x, eps=1e-12):
    """x / max(||x||_2, eps) along the last dimension (the eps never bites on these inputs)."""
    n = torch.sqrt((x * x).sum(dim=-1, keepdim=True))
    return x / torch.clamp(n, min=eps)


def huber_mean(a, b, delta=1.0):
    """Huber loss, mean over all entries: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""
    d = a - b
    ad = d.abs()
    quad = 0.5 * d * d
    lin = delta * (ad - 0.5 * delta)
    return torch.where(ad < delta, quad, lin).mean()


def adaptive_avg_pool_1d_last(x, out):
    """Adaptive average pooling over the last dim: window i is [floor(i*n/out), ceil((i+1)*n/out))."""
    n = x.shape[-1]
    cols = []
    for i in range(out):
        start = (i * n) // out
        end = -((-(i + 1) * n) // out)
        cols.append(x[..., start:end].mean(dim=-1))
    return torch.stack(cols, dim=-1)


def adaptive_avg_pool2d(x, h, w):
    """Adaptive average pooling of [B, C, H, W] to [B, C, h, w], separably (exact for rectangular windows)."""
    x = adaptive_avg_pool_1d_last(x, w)                      # pool W
    x = adaptive_avg_pool_1d_last(x.transpose(2, 3), h)      # pool H
    return x.transpose(2, 3)


# ----------------------------------------------------------------------------------------------------------------------
# The losses, from the documented formulas.

def soft_targets_entropy(p):
    """H(p) = -sum p log p, with 0 log 0 = 0 (p clamped at 1e-30 inside the log, as documented)."""
    return -(p * torch.log(torch.clamp(p, min=1e-30))).sum(dim=-1)


def kl_batchmean(log_q, log_p):
    """(1/B) sum_b sum_i p_i (log p_i - log q_i)."""
    return (torch.exp(log_p) * (log_p - log_q)).sum() / log_q.shape[0]


def soft_cross_entropy(log_q, p):
    """-(1/B) sum_b sum_i p_i log q_i."""
    return -(p * log_q).sum() / log_q.shape[0]


def hinton_terms(z, v, y, T, form):
    """soft = T^2 KL(p_T || q_T) (or T^2 CE(p_T, q_T)), batchmean; hard = CE(softmax(z), y) at T = 1, batch mean."""
    B = z.shape[0]
    log_q = log_softmax(z, T)
    log_p = log_softmax(v, T)
    p = torch.exp(log_p)
    if form == "KL":
        soft = (p * (log_p - log_q)).sum() / B
    else:
        soft = -(p * log_q).sum() / B
    soft = soft * T * T
    log_q1 = log_softmax(z, 1.0)
    hard = -log_q1[torch.arange(B), y].sum() / B
    return soft, hard


def logit_matching(z, v, kind):
    """Caruana: (1/B) sum_b 1/2 ||z_b - v_b||^2.  HintonLimit: (1/B) sum_b 1/(2N) ||(z - mean z) - (v - mean v)||^2."""
    B, N = z.shape
    if kind == "Caruana":
        return 0.5 * ((z - v) ** 2).sum() / B
    zc = z - z.mean(dim=1, keepdim=True)
    vc = v - v.mean(dim=1, keepdim=True)
    return ((zc - vc) ** 2).sum() / (2.0 * N * B)


def masked_token_mean(per_token, mask):
    m = mask.reshape(-1)
    return (per_token * m).sum() / m.sum()


def reverse_kl(s, t, T, mask):
    """mean over kept tokens of KL(q || p) = sum_v q_v (log q_v - log p_v); q student, p teacher, both at T."""
    V = s.shape[-1]
    log_q = log_softmax(s.reshape(-1, V), T)
    log_p = log_softmax(t.reshape(-1, V), T)
    per_token = (torch.exp(log_q) * (log_q - log_p)).sum(dim=-1)
    return masked_token_mean(per_token, mask)


def generalized_jsd(s, t, beta, T, mask):
    """mean over kept tokens of beta KL(p || m) + (1 - beta) KL(q || m), m = beta p + (1 - beta) q.

    The mixture is formed directly in probability space here (the C# code uses logsumexp), an independent route.
    """
    V = s.shape[-1]
    q = softmax(s.reshape(-1, V), T)
    p = softmax(t.reshape(-1, V), T)
    m = beta * p + (1.0 - beta) * q
    kl_pm = (p * (torch.log(p) - torch.log(m))).sum(dim=-1)
    kl_qm = (q * (torch.log(q) - torch.log(m))).sum(dim=-1)
    return masked_token_mean(beta * kl_pm + (1.0 - beta) * kl_qm, mask)


def hint_loss(s, t, weight, bias, spatial):
    """mean((r(s) - t)^2); r is a 1x1 convolution (weight [Ct, Cs, 1, 1]) or a linear map (weight [Dt, Ds])."""
    if spatial:
        r = torch.einsum("oc,bchw->bohw", weight[:, :, 0, 0], s) + bias[None, :, None, None]
    else:
        r = s @ weight.t() + bias[None, :]
    return ((r - t) ** 2).mean()


def attention_map(f, p):
    """Q(f) = vec(mean_c |f_c|^p) / ||vec(mean_c |f_c|^p)||_2, per sample."""
    a = (f.abs() ** p).mean(dim=1).reshape(f.shape[0], -1)
    return l2_normalise_rows(a)


def attention_transfer(s, t, p):
    """mean over batch and positions of (Q_S - Q_T)^2; the larger map is adaptive-average-pooled to the smaller."""
    h = min(s.shape[2], t.shape[2])
    w = min(s.shape[3], t.shape[3])
    if s.shape[2] != h or s.shape[3] != w:
        s = adaptive_avg_pool2d(s, h, w)
    if t.shape[2] != h or t.shape[3] != w:
        t = adaptive_avg_pool2d(t, h, w)
    return ((attention_map(s, p) - attention_map(t, p)) ** 2).mean()


def cosine_hidden(s, t):
    """mean_b (1 - cos(s_b, t_b)); a teacher k times wider is averaged over consecutive windows of k."""
    B = s.shape[0]
    s = s.reshape(B, -1)
    t = t.reshape(B, -1)
    ds, dt = s.shape[1], t.shape[1]
    if dt != ds:
        assert dt % ds == 0
        t = t.reshape(B, ds, dt // ds).mean(dim=2)
    cos = (s * t).sum(dim=1) / (torch.sqrt((s * s).sum(dim=1)) * torch.sqrt((t * t).sum(dim=1)))
    return (1.0 - cos).mean()


def pairwise_distances(e):
    """d_ij = ||e_i - e_j||_2 from explicit differences; the diagonal is 0 (sqrt taken of 1 there, then masked)."""
    B = e.shape[0]
    diff = e[:, None, :] - e[None, :, :]
    eye = torch.eye(B, dtype=D)
    sq = (diff * diff).sum(dim=-1)
    return torch.sqrt(sq + eye) * (1.0 - eye)


def rkd_distance(s, t):
    """Huber(psi_D(s), psi_D(t)), mean over B x B; psi_D = d_ij / mu, mu = mean over the B(B-1) distinct pairs."""
    B = s.shape[0]

    def psi(e):
        d = pairwise_distances(e.reshape(B, -1))
        return d / (d.sum() / (B * (B - 1)))

    return huber_mean(psi(s), psi(t.detach()))


def huber_linear_entries(s, t):
    """How many entries of the distance-wise comparison fall in the Huber loss's linear branch (|d| >= 1)."""
    B = s.shape[0]
    ps = pairwise_distances(s.detach().reshape(B, -1))
    pt = pairwise_distances(t.detach().reshape(B, -1))
    diff = ps / (ps.sum() / (B * (B - 1))) - pt / (pt.sum() / (B * (B - 1)))
    return int((diff.abs() >= 1.0).sum())


def rkd_angle(s, t):
    """Huber(psi_A(s), psi_A(t)), mean over all B^3 triples; psi_A(i, j, k) = <e_ij, e_kj>, e_ij = unit(t_i - t_j).

    Degenerate triples (i = j or k = j) are 0 for both.
    """
    B = s.shape[0]

    def psi(x):
        x = x.reshape(B, -1)
        diff = x[None, :, :] - x[:, None, :]                  # [j, i] = x_i - x_j
        eye = torch.eye(B, dtype=D)
        norm = torch.sqrt((diff * diff).sum(dim=-1) + eye)    # 1 on the diagonal, where diff is 0
        unit = diff / norm[:, :, None]
        return torch.einsum("jid,jkd->jik", unit, unit)

    return huber_mean(psi(s), psi(t.detach()))


def similarity_preserving(s, t):
    """||G_T - G_S||_F^2 / B^2 with G = rownorm_L2(F F^T), F the features flattened per sample."""
    B = s.shape[0]

    def g(x):
        f = x.reshape(B, -1)
        return l2_normalise_rows(f @ f.t())

    return ((g(t.detach()) - g(s)) ** 2).sum() / (B * B)


def pkt(s, t):
    """mean_ij p^T_ij log((p^T_ij + eps) / (p^S_ij + eps)); p_{j|i} = K_ij / sum_j K_ij, K = (cos + 1) / 2, eps = 1e-7.

    Unit vectors are f / (||f|| + eps), as in the authors' code.
    """
    eps = 1e-7
    B = s.shape[0]

    def prob(x):
        f = x.reshape(B, -1)
        unit = f / (torch.sqrt((f * f).sum(dim=1, keepdim=True)) + eps)
        k = (unit @ unit.t() + 1.0) / 2.0
        return k / k.sum(dim=1, keepdim=True)

    pt = prob(t.detach())
    ps = prob(s)
    return (pt * torch.log((pt + eps) / (ps + eps))).mean()


# ----------------------------------------------------------------------------------------------------------------------
# Fixture plumbing.

def tensor_json(x):
    x = x.detach()
    vals = x.reshape(-1).tolist()
    if x.dtype == torch.int64:
        return {"dtype": "int64", "shape": list(x.shape), "values": [int(v) for v in vals]}
    return {"dtype": "float64", "shape": list(x.shape), "values": [float(v) for v in vals]}


CASES = []


def seed_for(name):
    torch.manual_seed(zlib.crc32(name.encode("utf-8")))


def add(name, loss, params, inputs, expected, note=None):
    assert all(c["name"] != name for c in CASES), name
    for k, v in expected.items():
        assert torch.isfinite(v).all(), (name, k)
    case = {
        "name": name,
        "loss": loss,
        "params": params,
        "inputs": {k: tensor_json(v) for k, v in inputs.items()},
        "expected": {k: {"shape": list(v.shape), "values": [float(x) for x in v.detach().reshape(-1).tolist()]}
                     for k, v in expected.items()},
    }
    if note:
        case["note"] = note
    CASES.append(case)


def grad_of(value, wrt, grad_output=None):
    gs = torch.autograd.grad(value, wrt, grad_outputs=grad_output, retain_graph=True)
    return list(gs)


def randn(*shape, scale=1.0):
    return torch.randn(*shape, dtype=D) * scale


# ----------------------------------------------------------------------------------------------------------------------
# Cases.

def soft_target_cases():
    for T in (0.5, 1.0, 4.0):
        for fn, name in ((softmax, "Probabilities"), (log_softmax, "LogProbabilities")):
            case = f"SoftTargets.{name} T={T:g}"
            seed_for(case)
            z = randn(4, 5, scale=2.0).requires_grad_()
            go = randn(4, 5)
            out = fn(z, T)
            (g,) = grad_of(out, [z], go)
            add(case, f"SoftTargets.{name}", {"T": T}, {"student": z, "grad_output": go},
                {"value": out, "grad.student": g})
    case = "SoftTargets.Entropy"
    seed_for(case)
    p = softmax(randn(4, 5, scale=2.0)).detach().requires_grad_()
    go = randn(4)
    out = soft_targets_entropy(p)
    (g,) = grad_of(out, [p], go)
    add(case, "SoftTargets.Entropy", {}, {"student": p, "grad_output": go}, {"value": out, "grad.student": g})


def kl_cases():
    case = "KLDivergence.BatchMean"
    seed_for(case)
    log_q = log_softmax(randn(5, 5, scale=2.0)).detach().requires_grad_()
    log_p = log_softmax(randn(5, 5, scale=2.0)).detach()
    v = kl_batchmean(log_q, log_p)
    (g,) = grad_of(v, [log_q])
    add(case, "KLDivergence.BatchMean", {}, {"student": log_q, "teacher": log_p}, {"value": v, "grad.student": g})

    case = "KLDivergence.SoftCrossEntropy"
    seed_for(case)
    log_q = log_softmax(randn(5, 5, scale=2.0)).detach().requires_grad_()
    p = softmax(randn(5, 5, scale=2.0)).detach()
    v = soft_cross_entropy(log_q, p)
    (g,) = grad_of(v, [log_q])
    add(case, "KLDivergence.SoftCrossEntropy", {}, {"student": log_q, "teacher": p}, {"value": v, "grad.student": g})


def hinton_cases():
    for form in ("KL", "CrossEntropy"):
        for T, alpha in ((1.0, 0.5), (4.0, 0.9), (2.0, 0.0), (8.0, 1.0)):
            case = f"HintonKDLoss form={form} T={T:g} alpha={alpha:g}"
            seed_for(case)
            z = randn(6, 5, scale=2.0).requires_grad_()
            v = randn(6, 5, scale=3.0)
            y = torch.randint(0, 5, (6,), dtype=torch.int64)
            soft, hard = hinton_terms(z, v, y, T, form)
            total = alpha * soft + (1.0 - alpha) * hard
            (g,) = grad_of(total, [z])
            add(case, "HintonKDLoss", {"T": T, "alpha": alpha, "form": form},
                {"student": z, "teacher": v, "labels": y},
                {"value": total, "soft": soft, "hard": hard, "grad.student": g})


def logit_matching_cases():
    for kind in ("Caruana", "HintonLimit"):
        case = f"LogitMatchingLoss kind={kind}"
        seed_for(case)
        z = randn(6, 5, scale=2.0).requires_grad_()
        v = randn(6, 5, scale=3.0) + 1.5          # an offset, so centring matters for HintonLimit
        val = logit_matching(z, v, kind)
        (g,) = grad_of(val, [z])
        add(case, "LogitMatchingLoss", {"kind": kind}, {"student": z, "teacher": v}, {"value": val, "grad.student": g})


TOKEN_MASK = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]], dtype=D)


def token_cases():
    for masked in (False, True):
        suffix = " masked" if masked else ""
        for T in (1.0, 2.0):
            case = f"ReverseKLLoss T={T:g}{suffix}"
            seed_for(case)
            s = randn(2, 3, 7, scale=2.0).requires_grad_()
            t = randn(2, 3, 7, scale=2.0)
            mask = TOKEN_MASK if masked else torch.ones(2, 3, dtype=D)
            val = reverse_kl(s, t, T, mask)
            (g,) = grad_of(val, [s])
            inputs = {"student": s, "teacher": t}
            if masked:
                inputs["mask"] = TOKEN_MASK
            add(case, "ReverseKLLoss", {"T": T}, inputs, {"value": val, "grad.student": g})
            for beta in (0.1, 0.5, 0.9):
                case = f"GeneralizedJSDLoss beta={beta:g} T={T:g}{suffix}"
                seed_for(case)
                s = randn(2, 3, 7, scale=2.0).requires_grad_()
                t = randn(2, 3, 7, scale=2.0)
                val = generalized_jsd(s, t, beta, T, mask)
                (g,) = grad_of(val, [s])
                inputs = {"student": s, "teacher": t}
                if masked:
                    inputs["mask"] = TOKEN_MASK
                add(case, "GeneralizedJSDLoss", {"beta": beta, "T": T}, inputs, {"value": val, "grad.student": g})


def hint_cases():
    case = "HintLoss spatial"
    seed_for(case)
    s = randn(4, 3, 4, 4).requires_grad_()
    t = randn(4, 5, 4, 4)
    w = randn(5, 3, 1, 1, scale=0.5).requires_grad_()
    b = randn(5, scale=0.5).requires_grad_()
    val = hint_loss(s, t, w, b, True)
    gs, gw, gb = grad_of(val, [s, w, b])
    add(case, "HintLoss", {"studentWidth": 3, "teacherWidth": 5, "spatial": True},
        {"student": s, "teacher": t, "regressor.weight": w, "regressor.bias": b},
        {"value": val, "grad.student": gs, "grad.regressor.weight": gw, "grad.regressor.bias": gb})

    case = "HintLoss linear"
    seed_for(case)
    s = randn(5, 6).requires_grad_()
    t = randn(5, 8)
    w = randn(8, 6, scale=0.5).requires_grad_()
    b = randn(8, scale=0.5).requires_grad_()
    val = hint_loss(s, t, w, b, False)
    gs, gw, gb = grad_of(val, [s, w, b])
    add(case, "HintLoss", {"studentWidth": 6, "teacherWidth": 8, "spatial": False},
        {"student": s, "teacher": t, "regressor.weight": w, "regressor.bias": b},
        {"value": val, "grad.student": gs, "grad.regressor.weight": gw, "grad.regressor.bias": gb})


def attention_cases():
    shapes = [
        ("equal sizes", (4, 3, 4, 4), (4, 6, 4, 4), 2.0),
        ("equal sizes p=1", (4, 3, 4, 4), (4, 6, 4, 4), 1.0),
        ("student 8x8 pooled to teacher 4x4", (4, 3, 8, 8), (4, 6, 4, 4), 2.0),
        ("teacher 8x8 pooled to student 4x4", (4, 3, 4, 4), (4, 6, 8, 8), 2.0),
        ("student 6x5 pooled to teacher 4x3 (overlapping windows)", (4, 3, 6, 5), (4, 6, 4, 3), 2.0),
    ]
    for label, ss, ts, p in shapes:
        case = f"AttentionTransferLoss {label}"
        seed_for(case)
        s = randn(*ss).requires_grad_()
        t = randn(*ts)
        val = attention_transfer(s, t, p)
        (g,) = grad_of(val, [s])
        add(case, "AttentionTransferLoss", {"p": p}, {"student": s, "teacher": t}, {"value": val, "grad.student": g})


def cosine_cases():
    case = "CosineHiddenLoss equal sizes"
    seed_for(case)
    s = randn(4, 2, 3, 2).requires_grad_()       # flattened to 12
    t = randn(4, 12)
    val = cosine_hidden(s, t)
    (g,) = grad_of(val, [s])
    add(case, "CosineHiddenLoss", {}, {"student": s, "teacher": t}, {"value": val, "grad.student": g})

    case = "CosineHiddenLoss teacher 2x student"
    seed_for(case)
    s = randn(4, 12).requires_grad_()
    t = randn(4, 4, 3, 2)                         # flattened to 24, pooled in windows of 2
    val = cosine_hidden(s, t)
    (g,) = grad_of(val, [s])
    add(case, "CosineHiddenLoss", {}, {"student": s, "teacher": t}, {"value": val, "grad.student": g})


def relational_cases():
    case = "RkdDistanceLoss"
    seed_for(case)
    s = randn(6, 8).requires_grad_()
    t = randn(6, 12, scale=3.0)
    val = rkd_distance(s, t)
    (g,) = grad_of(val, [s])
    add(case, "RkdDistanceLoss", {}, {"student": s, "teacher": t}, {"value": val, "grad.student": g})

    # A teacher with one far outlier: most normalised distances shrink and the outlier's grow, so some |differences|
    # exceed delta = 1 and the Huber loss's linear branch is exercised.
    case = "RkdDistanceLoss teacher outlier (Huber linear branch)"
    seed_for(case)
    s = randn(6, 2, 2, 2).requires_grad_()
    t = randn(6, 12)
    t[0] += 20.0
    val = rkd_distance(s, t)
    assert huber_linear_entries(s, t) > 0
    (g,) = grad_of(val, [s])
    add(case, "RkdDistanceLoss", {}, {"student": s, "teacher": t}, {"value": val, "grad.student": g})

    case = "RkdAngleLoss"
    seed_for(case)
    s = randn(5, 8).requires_grad_()
    t = randn(5, 2, 3, 2)
    val = rkd_angle(s, t)
    (g,) = grad_of(val, [s])
    add(case, "RkdAngleLoss", {}, {"student": s, "teacher": t}, {"value": val, "grad.student": g})

    case = "SimilarityPreservingLoss"
    seed_for(case)
    s = randn(5, 3, 4, 4).requires_grad_()
    t = randn(5, 7)
    val = similarity_preserving(s, t)
    (g,) = grad_of(val, [s])
    add(case, "SimilarityPreservingLoss", {}, {"student": s, "teacher": t}, {"value": val, "grad.student": g})

    case = "PktLoss"
    seed_for(case)
    s = randn(6, 8).requires_grad_()
    t = randn(6, 3, 2, 2)
    val = pkt(s, t)
    (g,) = grad_of(val, [s])
    add(case, "PktLoss", {}, {"student": s, "teacher": t}, {"value": val, "grad.student": g})


def objective_cases():
    # DistillationObjective: L = sum_k w_k L_k, here ce (w 0.3) + kd (T 2, w 0.7) + logits (Caruana, w 0.25).
    case = "DistillationObjective ce+kd+logits"
    seed_for(case)
    z = randn(6, 5, scale=2.0).requires_grad_()
    v = randn(6, 5, scale=3.0)
    y = torch.randint(0, 5, (6,), dtype=torch.int64)
    kd, ce = hinton_terms(z, v, y, 2.0, "KL")
    logits = logit_matching(z, v, "Caruana")
    total = 0.3 * ce + 0.7 * kd + 0.25 * logits
    (g,) = grad_of(total, [z])
    add(case, "DistillationObjective", {"ce": 0.3, "kd": 0.7, "T": 2.0, "logits": 0.25},
        {"student": z, "teacher": v, "labels": y},
        {"value": total, "ce": ce, "kd": kd, "logits": logits, "grad.student": g})


def self_checks():
    """Sanity checks of the hand-written helpers against torch's own (not used for the fixture values)."""
    import torch.nn.functional as F
    torch.manual_seed(0)
    x = randn(2, 3, 6, 5)
    assert torch.allclose(adaptive_avg_pool2d(x, 4, 3), F.adaptive_avg_pool2d(x, (4, 3)), rtol=0, atol=1e-14)
    assert torch.allclose(adaptive_avg_pool2d(x, 3, 5), F.adaptive_avg_pool2d(x, (3, 5)), rtol=0, atol=1e-14)
    z = randn(4, 5, scale=3.0)
    assert torch.allclose(log_softmax(z, 2.0), F.log_softmax(z / 2.0, -1), rtol=0, atol=1e-14)
    assert torch.allclose(softmax(z, 0.5), F.softmax(z / 0.5, -1), rtol=0, atol=1e-14)
    a, b = randn(10), randn(10) * 3
    assert torch.allclose(huber_mean(a, b), F.huber_loss(a, b, delta=1.0), rtol=0, atol=1e-14)


def main():
    self_checks()
    soft_target_cases()
    kl_cases()
    hinton_cases()
    logit_matching_cases()
    token_cases()
    hint_cases()
    attention_cases()
    cosine_cases()
    relational_cases()
    objective_cases()

    doc = {
        "generator": "make_loss_fixtures.py",
        "torch": torch.__version__.split("+")[0],
        "dtype": "float64",
        "cases": CASES,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "losses.json")
    # One case per line: small diffs when a case changes, and no line per number.
    head = {k: v for k, v in doc.items() if k != "cases"}
    text = json.dumps(head, ensure_ascii=True)[:-1] + ', "cases": [\n'
    text += ",\n".join(json.dumps(c, ensure_ascii=True, separators=(",", ":")) for c in CASES)
    text += "\n]}\n"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)

    print(f"wrote {path}: {len(CASES)} cases, {len(text) / 1024:.1f} KiB")
    for c in CASES:
        v = c["expected"]["value"]["values"]
        shown = f"{v[0]:.12g}" if len(v) == 1 else f"[{len(v)} values]"
        print(f"  {c['name']:<78} {shown}")


if __name__ == "__main__":
    main()
