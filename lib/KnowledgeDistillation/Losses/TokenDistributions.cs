using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>Shared shape handling for losses over next-token distributions: logits [..., V], an optional mask [...].</summary>
static class TokenDistributions
{
    /// <summary>Flattens logits to [N, V] and the mask to a float [N] (all ones when null).</summary>
    public static (Tensor Student, Tensor Teacher, Tensor Mask) Flatten(Tensor student, Tensor teacher, Tensor? mask)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        if (!student.shape.SequenceEqual(teacher.shape))
            throw new ArgumentException($"Student logits {LossChecks.Shape(student)} and teacher logits {LossChecks.Shape(teacher)} must have the same shape (same tokens, same vocabulary).");
        if (student.dim() < 2)
            throw new ArgumentException($"Token logits must be [..., vocabulary]; got {LossChecks.Shape(student)}.");
        long vocabulary = student.shape[^1];
        var s = student.reshape(-1, vocabulary);
        var t = teacher.reshape(-1, vocabulary);
        Tensor m;
        if (mask is null)
        {
            m = ones(s.shape[0], dtype: s.dtype, device: s.device);
        }
        else
        {
            if (!mask.shape.SequenceEqual(student.shape[..^1]))
                throw new ArgumentException($"The mask {LossChecks.Shape(mask)} must match the token positions [{string.Join(", ", student.shape[..^1])}].", nameof(mask));
            m = mask.reshape(-1).to_type(s.dtype);
        }
        return (s, t, m);
    }

    /// <summary>
    /// The weighted mean <c>Σ_i w_i x_i / Σ_i w_i</c> of per-token values <paramref name="perToken"/> [N] with the weights
    /// <paramref name="mask"/> [N]. Weights that sum to 0 give NaN (0/0), with no check: a check would read the device
    /// every step.
    /// </summary>
    public static Tensor MaskedMean(Tensor perToken, Tensor mask) => MaskedMean(perToken, mask, mask);

    /// <summary>
    /// <c>Σ (values · weights) / Σ weightsPerToken</c>: <paramref name="weights"/> broadcasts against
    /// <paramref name="values"/> (the weights [N, 1] of values [N, V], say), and <paramref name="weightsPerToken"/> [N] is one
    /// weight per token, the denominator.
    /// </summary>
    public static Tensor MaskedMean(Tensor values, Tensor weights, Tensor weightsPerToken) =>
        values.mul(weights).sum().div(weightsPerToken.sum());
}
