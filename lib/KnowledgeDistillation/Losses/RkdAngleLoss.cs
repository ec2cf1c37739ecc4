using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Relational knowledge distillation, angle-wise: the student matches the cosines of the angles formed by every triple
/// of embeddings in the batch, <c>ψ_A(t_i, t_j, t_k) = ⟨e_ij, e_kj⟩</c> with <c>e_ij = (t_i − t_j) / ‖t_i − t_j‖₂</c>,
/// compared with the Huber loss (δ = 1).
/// </summary>
/// <remarks>
/// W. Park, D. Kim, Y. Lu, M. Cho, "Relational Knowledge Distillation", CVPR 2019 (arXiv:1904.05068), eq. 6–8.
/// As in the authors' code, the Huber loss is averaged over all B³ triples (degenerate ones, i = j or k = j, are zero for
/// both). Angles ignore scale and translation. Memory grows as B²·D for the differences and B³ for the cosines.
/// </remarks>
public sealed class RkdAngleLoss : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates the loss.</summary>
    public RkdAngleLoss() : base(nameof(RkdAngleLoss)) => RegisterComponents();

    /// <summary>The Huber loss between the angle cosines; the teacher's embeddings are detached.</summary>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        LossChecks.SameBatch(student, teacher);
        if (student.shape[0] < 3) throw new ArgumentException("Angle-wise RKD needs a batch of at least 3.", nameof(student));
        using var scope = NewDisposeScope();
        Tensor at;
        using (no_grad()) at = AngleCosines(teacher.flatten(1));
        var @as = AngleCosines(student.flatten(1));
        return F.huber_loss(@as, at, delta: 1.0).MoveToOuterDisposeScope();
    }

    /// <summary>The cosines [B, B, B]: entry (j, i, k) is ⟨e_ij, e_kj⟩, the cosine of the angle at t_j.</summary>
    public static Tensor AngleCosines(Tensor e)
    {
        using var scope = NewDisposeScope();
        var differences = e.unsqueeze(0).sub(e.unsqueeze(1));           // [j, i, :] = e_i − e_j
        var directions = F.normalize(differences, p: 2, dim: 2);
        return directions.bmm(directions.transpose(1, 2)).MoveToOuterDisposeScope();
    }
}
