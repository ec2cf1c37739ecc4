using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// The Kullback–Leibler divergence <c>KL(p ‖ q) = Σ_i p_i (log p_i − log q_i)</c> and the cross entropy with soft
/// targets <c>CE(p, q) = −Σ_i p_i log q_i</c>, averaged over the batch ("batchmean").
/// </summary>
/// <remarks>
/// <para>CE(p, q) = H(p) + KL(p ‖ q): the two differ by the teacher's entropy H(p), which does not depend on the student,
/// so they have the same gradient with respect to the student.</para>
/// <para>TorchSharp's <c>kl_div</c> defaults to <c>log_target = true</c> (PyTorch's to false), and its reductions have no
/// "batchmean": both are spelled out here, as a sum divided by the batch size.</para>
/// </remarks>
public static class KLDivergence
{
    /// <summary><c>(1/B) Σ_b KL(p_b ‖ q_b)</c> from log-probabilities of shape [B, C].</summary>
    /// <param name="studentLogProbs">log q, the distribution being trained.</param>
    /// <param name="teacherLogProbs">log p, the target distribution.</param>
    public static Tensor BatchMean(Tensor studentLogProbs, Tensor teacherLogProbs)
    {
        CheckPair(studentLogProbs, teacherLogProbs);
        using var scope = NewDisposeScope();
        var sum = F.kl_div(studentLogProbs, teacherLogProbs, log_target: true, reduction: nn.Reduction.Sum);
        return sum.div(studentLogProbs.shape[0]).MoveToOuterDisposeScope();
    }

    /// <summary><c>(1/B) Σ_b CE(p_b, q_b) = −(1/B) Σ_b Σ_i p_i log q_i</c>, the cross entropy with soft targets.</summary>
    /// <param name="studentLogProbs">log q.</param>
    /// <param name="teacherProbs">p (probabilities, not logs).</param>
    public static Tensor SoftCrossEntropy(Tensor studentLogProbs, Tensor teacherProbs)
    {
        CheckPair(studentLogProbs, teacherProbs);
        using var scope = NewDisposeScope();
        return teacherProbs.mul(studentLogProbs).sum().neg().div(studentLogProbs.shape[0]).MoveToOuterDisposeScope();
    }

    static void CheckPair(Tensor student, Tensor teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        if (!student.shape.SequenceEqual(teacher.shape))
            throw new ArgumentException($"Student {LossChecks.Shape(student)} and teacher {LossChecks.Shape(teacher)} distributions must have the same shape.");
        if (student.dim() < 1 || student.shape[0] == 0)
            throw new ArgumentException("The batch is empty.");
    }
}
