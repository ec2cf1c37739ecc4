using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Similarity-preserving distillation: inputs that the teacher finds similar should look similar to the student.
/// With features flattened per sample, <c>G = F·Fᵀ</c> [B, B] is row-normalised (L2), and the loss is
/// <c>‖G_T − G_S‖²_F / B²</c>.
/// </summary>
/// <remarks>
/// F. Tung and G. Mori, "Similarity-Preserving Knowledge Distillation", ICCV 2019 (arXiv:1907.09682), eq. 1–4.
/// Only B×B similarities are compared, so student and teacher layers may have any shapes. Permuting the features of
/// every sample the same way leaves G, and so the loss, unchanged.
/// </remarks>
public sealed class SimilarityPreservingLoss : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates the loss.</summary>
    public SimilarityPreservingLoss() : base(nameof(SimilarityPreservingLoss)) => RegisterComponents();

    /// <summary><c>‖G_T − G_S‖²_F / B²</c>; the teacher's features are detached.</summary>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        LossChecks.SameBatch(student, teacher);
        using var scope = NewDisposeScope();
        long b = student.shape[0];
        var gs = Similarity(student);
        Tensor gt;
        using (no_grad()) gt = Similarity(teacher);
        return gt.sub(gs).pow(2).sum().div(b * b).MoveToOuterDisposeScope();
    }

    /// <summary>The row-normalised similarity matrix <c>G = normalize(F·Fᵀ)</c> [B, B].</summary>
    public static Tensor Similarity(Tensor features)
    {
        using var scope = NewDisposeScope();
        var f = features.flatten(1);
        return F.normalize(f.matmul(f.t()), p: 2, dim: 1).MoveToOuterDisposeScope();
    }
}
