#!/usr/bin/env python3
"""PyTorch peer of the KD training-step benchmark (kd-bench step): the same student MLP, the same inputs, the same
Hinton loss and SGD as the TorchSharp side. Reads the inputs that kd-bench wrote (meta.json plus raw little-endian
float32/int64 files), times each step, and prints one JSON line: per-step seconds, mean loss, thread count, version.

Comparison only; nothing in the library depends on it. Needs numpy and torch (Debian: apt-get install python3-torch).
Usage: pytorch_peer.py DATA_DIR --threads N --steps N --warmup N --seed N
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(os.path.join(args.data, "meta.json")) as f:
        meta = json.load(f)
    b, n_batches, features, classes = meta["batch"], meta["batches"], meta["features"], meta["classes"]
    x = torch.from_numpy(np.fromfile(os.path.join(args.data, "x.f32"), dtype="<f4").reshape(n_batches, b, features))
    t = torch.from_numpy(np.fromfile(os.path.join(args.data, "teacher.f32"), dtype="<f4").reshape(n_batches, b, classes))
    y = torch.from_numpy(np.fromfile(os.path.join(args.data, "labels.i64"), dtype="<i8").reshape(n_batches, b))
    flat = np.fromfile(os.path.join(args.data, "weights.f32"), dtype="<f4")

    # Linear -> ReLU -> ... -> Linear, as KnowledgeDistillation.Models.Mlp without dropout.
    widths = [features] + meta["hidden"] + [classes]
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    params = list(model.parameters())
    offset = 0
    with torch.no_grad():
        for p, shape in zip(params, meta["shapes"]):
            count = int(np.prod(shape))
            assert list(p.shape) == shape, (p.shape, shape)
            p.copy_(torch.from_numpy(flat[offset:offset + count].reshape(shape)))
            offset += count
    assert offset == flat.size

    T, alpha, lr = meta["temperature"], meta["alpha"], meta["lr"]
    opt = torch.optim.SGD(params, lr=lr)

    def step(i):
        xb, tb, yb = x[i % n_batches], t[i % n_batches], y[i % n_batches]
        logits = model(xb)
        # Hinton: alpha * T^2 * KL(p_T || q_T) (batchmean) + (1 - alpha) * CE(z, y)
        soft = F.kl_div(F.log_softmax(logits / T, dim=1), F.log_softmax(tb / T, dim=1),
                        reduction="sum", log_target=True) / xb.shape[0] * (T * T)
        hard = F.cross_entropy(logits, yb)
        loss = soft * alpha + hard * (1 - alpha)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    losses, seconds = [], []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        value = step(i)
        elapsed = time.perf_counter() - start
        losses.append(value)
        if i >= args.warmup:
            seconds.append(elapsed)
    # Which BLAS this build uses (Debian's python3-torch: "generic", the reference BLAS; pip's wheels: MKL).
    config = torch.__config__.show()
    blas = config.split("BLAS_INFO=")[1].split(",")[0] if "BLAS_INFO=" in config else "unknown"
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas,
                      "seconds": seconds, "mean_loss": float(np.mean(losses)), "steps": len(losses)}))


if __name__ == "__main__":
    main()
