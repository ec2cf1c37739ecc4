using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// The cosine hidden-representation loss of the PyTorch knowledge-distillation tutorial:
/// <c>mean over the batch of 1 − cos(s_b, t_b)</c>, where s and t are the student's and teacher's hidden
/// representations, flattened per sample.
/// </summary>
/// <remarks>
/// PyTorch tutorial "Knowledge Distillation Tutorial" (A. Chariton, 2023), "Cosine loss minimization run": it uses
/// <c>nn.CosineEmbeddingLoss</c> with target 1, and shrinks the teacher's flattened representation to the student's
/// size with <c>avg_pool1d</c>. Here too: when the teacher's size is an integer multiple k of the student's, the teacher's
/// vector is average-pooled over windows of k; any other mismatch is an error.
/// </remarks>
public sealed class CosineHiddenLoss : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates the loss.</summary>
    public CosineHiddenLoss() : base(nameof(CosineHiddenLoss)) => RegisterComponents();

    /// <summary><c>mean(1 − cos(s, t))</c>; the teacher's representation is detached.</summary>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        LossChecks.SameBatch(student, teacher);
        using var scope = NewDisposeScope();
        var s = student.flatten(1);
        var t = teacher.detach().flatten(1);
        long ds = s.shape[1], dt = t.shape[1];
        if (dt != ds)
        {
            if (dt % ds != 0)
                throw new ArgumentException($"The teacher's hidden size {dt} is not a multiple of the student's {ds} (student {LossChecks.Shape(student)}, teacher {LossChecks.Shape(teacher)}).", nameof(teacher));
            t = F.avg_pool1d(t.unsqueeze(1), dt / ds).squeeze(1);
        }
        return F.cosine_similarity(s, t, dim: 1).neg().add(1).mean().MoveToOuterDisposeScope();
    }
}
