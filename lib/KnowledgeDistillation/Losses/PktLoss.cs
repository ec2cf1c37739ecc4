using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Probabilistic knowledge transfer: cosine similarities within the batch, <c>K_ij = (cos(f_i, f_j) + 1) / 2</c>, are
/// turned into conditional probabilities by normalising each row, <c>p_{j|i} = K_ij / Σ_j K_ij</c>, and the student's
/// are compared with the teacher's by KL divergence, averaged over the B² entries.
/// </summary>
/// <remarks>
/// N. Passalis and A. Tefas, "Learning Deep Representations with Probabilistic Knowledge Transfer", ECCV 2018
/// (arXiv:1803.10837), with the cosine kernel of the authors' code:
/// <c>loss = mean_ij p^T_ij · log((p^T_ij + ε) / (p^S_ij + ε))</c>, ε = 1e-7.
/// </remarks>
public sealed class PktLoss : nn.Module<Tensor, Tensor, Tensor>
{
    const double Eps = 1e-7;

    /// <summary>Creates the loss.</summary>
    public PktLoss() : base(nameof(PktLoss)) => RegisterComponents();

    /// <summary>The KL divergence between the row-normalised cosine kernels; the teacher's features are detached.</summary>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        LossChecks.SameBatch(student, teacher);
        using var scope = NewDisposeScope();
        var ps = Probabilities(student);
        Tensor pt;
        using (no_grad()) pt = Probabilities(teacher);
        return pt.mul(pt.add(Eps).div(ps.add(Eps)).log()).mean().MoveToOuterDisposeScope();
    }

    /// <summary>The conditional probabilities [B, B] from the cosine kernel of the flattened features.</summary>
    public static Tensor Probabilities(Tensor features)
    {
        using var scope = NewDisposeScope();
        var f = features.flatten(1);
        var unit = f.div(f.pow(2).sum(1, keepdim: true).sqrt().add(Eps));
        var kernel = unit.matmul(unit.t()).add(1).div(2);
        return kernel.div(kernel.sum(1, keepdim: true)).MoveToOuterDisposeScope();
    }
}
