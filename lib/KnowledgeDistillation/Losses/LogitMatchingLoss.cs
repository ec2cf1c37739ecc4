using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>Which logit-matching loss.</summary>
public enum LogitMatching
{
    /// <summary>Ba and Caruana's regression on logits: <c>½ ‖z − v‖²</c> per sample.</summary>
    Caruana,
    /// <summary>Hinton's high-temperature limit: <c>(1 / 2N) ‖(z − z̄) − (v − v̄)‖²</c> per sample, with N classes and
    /// logits centred to zero mean; its gradient is the limit of the T²-scaled KD gradient as T → ∞.</summary>
    HintonLimit,
}

/// <summary>
/// Logit matching: the student regresses the teacher's logits directly, with a squared error, averaged over the batch.
/// </summary>
/// <remarks>
/// <para><see cref="LogitMatching.Caruana"/>: J. Ba and R. Caruana, "Do Deep Nets Really Need to be Deep?", NeurIPS 2014,
/// <c>L = (1/B) Σ_b ½ ‖z_b − v_b‖²</c>.</para>
/// <para><see cref="LogitMatching.HintonLimit"/>: Hinton et al. 2015, section 2.1: at high temperature the gradient of
/// <c>KL(p_T ‖ q_T)</c> with respect to z_i tends to <c>(z_i − v_i) / (N T²)</c> for zero-mean logits, so
/// <c>T² · KL</c> tends to the gradient of <c>(1 / 2N) ‖z − v‖²</c>. Centring both logit vectors makes this exact for any
/// logits, since softmax ignores a constant shift.</para>
/// </remarks>
public sealed class LogitMatchingLoss : nn.Module<Tensor, Tensor, Tensor>
{
    readonly LogitMatching kind;

    /// <summary>Creates the loss.</summary>
    public LogitMatchingLoss(LogitMatching kind = LogitMatching.Caruana) : base(nameof(LogitMatchingLoss))
    {
        this.kind = kind;
        RegisterComponents();
    }

    /// <summary>Which variant.</summary>
    public LogitMatching Kind => kind;

    /// <summary>The loss for student logits z and teacher logits v, both [B, C]; v is detached.</summary>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        LossChecks.PairedLogits(student, teacher);
        using var scope = NewDisposeScope();
        var z = student;
        var v = teacher.detach();
        double scale = 0.5;
        if (kind == LogitMatching.HintonLimit)
        {
            z = z.sub(z.mean([1], keepdim: true));
            v = v.sub(v.mean([1], keepdim: true));
            scale = 0.5 / student.shape[1];
        }
        return z.sub(v).pow(2).sum().mul(scale / student.shape[0]).MoveToOuterDisposeScope();
    }
}
