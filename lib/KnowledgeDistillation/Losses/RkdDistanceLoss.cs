using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Relational knowledge distillation, distance-wise: the student matches the teacher's pairwise distances within the
/// batch, each normalised by the mean pairwise distance, <c>ψ_D(t_i, t_j) = ‖t_i − t_j‖₂ / μ</c>, compared with the
/// Huber loss (δ = 1).
/// </summary>
/// <remarks>
/// W. Park, D. Kim, Y. Lu, M. Cho, "Relational Knowledge Distillation", CVPR 2019 (arXiv:1904.05068), eq. 3–5.
/// As in the authors' code, μ is the mean over distinct pairs, and the Huber loss is averaged over the whole B×B matrix
/// (whose diagonal is zero for both). Because of the normalisation the loss ignores the embeddings' scale, so student
/// and teacher embeddings may have different sizes and widths.
/// </remarks>
public sealed class RkdDistanceLoss : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates the loss.</summary>
    public RkdDistanceLoss() : base(nameof(RkdDistanceLoss)) => RegisterComponents();

    /// <summary>The Huber loss between normalised distance matrices; the teacher's embeddings are detached.</summary>
    /// <param name="student">Student embeddings [B, ...], flattened per sample.</param>
    /// <param name="teacher">Teacher embeddings [B, ...], flattened per sample.</param>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        LossChecks.SameBatch(student, teacher);
        if (student.shape[0] < 2) throw new ArgumentException("Distance-wise RKD needs a batch of at least 2.", nameof(student));
        using var scope = NewDisposeScope();
        Tensor dt;
        using (no_grad()) dt = NormalisedDistances(teacher.flatten(1));
        var ds = NormalisedDistances(student.flatten(1));
        return F.huber_loss(ds, dt, delta: 1.0).MoveToOuterDisposeScope();
    }

    /// <summary>Pairwise Euclidean distances [B, B] with a zero diagonal, divided by their mean over distinct pairs.</summary>
    public static Tensor NormalisedDistances(Tensor embeddings)
    {
        using var scope = NewDisposeScope();
        var d = PairwiseDistances(embeddings);
        long b = embeddings.shape[0];
        var mean = d.sum().div(b * (b - 1));
        return d.div(mean).MoveToOuterDisposeScope();
    }

    /// <summary>Pairwise Euclidean distances [B, B] of the rows of <paramref name="e"/> [B, D], with a zero diagonal.</summary>
    /// <remarks><c>‖e_i‖² + ‖e_j‖² − 2 e_i·e_j</c>, clamped at 1e-12 before the square root so the gradient stays finite.</remarks>
    public static Tensor PairwiseDistances(Tensor e)
    {
        using var scope = NewDisposeScope();
        var square = e.pow(2).sum(1);
        var d = square.unsqueeze(0).add(square.unsqueeze(1)).sub(e.matmul(e.t()).mul(2)).clamp_min(1e-12).sqrt();
        var offDiagonal = ones(e.shape[0], e.shape[0], dtype: e.dtype, device: e.device).sub(eye(e.shape[0], dtype: e.dtype, device: e.device));
        return d.mul(offDiagonal).MoveToOuterDisposeScope();
    }
}
