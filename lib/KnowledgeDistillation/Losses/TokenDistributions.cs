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

    /// <summary>The mean of per-token values over the tokens the mask keeps.</summary>
    public static Tensor MaskedMean(Tensor perToken, Tensor mask)
    {
        var count = mask.sum();
        if (count.to_type(ScalarType.Float64).item<double>() <= 0) throw new ArgumentException("The mask keeps no tokens.", nameof(mask));
        return perToken.mul(mask).sum().div(count);
    }
}
