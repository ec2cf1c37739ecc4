using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Soft targets (軟標籤): the softmax of logits divided by a temperature (溫度) T,
/// <c>p_i = exp(z_i / T) / Σ_j exp(z_j / T)</c>.
/// </summary>
/// <remarks>
/// T = 1 is the ordinary softmax; T → 0 approaches the one-hot argmax; T → ∞ approaches the uniform distribution.
/// Hinton, Vinyals and Dean, "Distilling the Knowledge in a Neural Network", 2015 (arXiv:1503.02531), section 2.
/// </remarks>
public static class SoftTargets
{
    /// <summary><c>softmax(logits / T)</c> over the last dimension.</summary>
    /// <exception cref="ArgumentOutOfRangeException">T is not a finite number &gt; 0.</exception>
    public static Tensor Probabilities(Tensor logits, double T = 1.0)
    {
        ArgumentNullException.ThrowIfNull(logits);
        LossChecks.Temperature(T);
        using var scope = NewDisposeScope();
        return F.softmax(logits.div(T), -1).MoveToOuterDisposeScope();
    }

    /// <summary><c>log_softmax(logits / T)</c> over the last dimension, computed stably (not as the log of <see cref="Probabilities"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">T is not a finite number &gt; 0.</exception>
    public static Tensor LogProbabilities(Tensor logits, double T = 1.0)
    {
        ArgumentNullException.ThrowIfNull(logits);
        LossChecks.Temperature(T);
        using var scope = NewDisposeScope();
        return F.log_softmax(logits.div(T), -1).MoveToOuterDisposeScope();
    }

    /// <summary>The entropy <c>H(p) = −Σ p_i log p_i</c> of each distribution over the last dimension, in nats (0·log 0 = 0).</summary>
    public static Tensor Entropy(Tensor probabilities)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        using var scope = NewDisposeScope();
        var plogp = probabilities.mul(probabilities.clamp_min(1e-30).log());
        return plogp.sum(-1).neg().MoveToOuterDisposeScope();
    }
}
