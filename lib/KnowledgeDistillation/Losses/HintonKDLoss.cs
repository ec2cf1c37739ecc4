using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>Which of the two equivalent soft-target terms to compute.</summary>
public enum SoftTargetForm
{
    /// <summary><c>KL(p_T ‖ q_T)</c>: zero when the student matches the teacher.</summary>
    KL,
    /// <summary><c>CE(p_T, q_T) = −Σ p_T log q_T</c>: the KL form plus the teacher's entropy, a constant for the student.</summary>
    CrossEntropy,
}

/// <summary>The two terms of <see cref="HintonKDLoss"/>, before weighting.</summary>
/// <param name="Soft">The distillation loss (蒸餾損失), already multiplied by T².</param>
/// <param name="Hard">The student loss (學生損失): cross entropy with the hard labels, at T = 1.</param>
public sealed record HintonTerms(Tensor Soft, Tensor Hard);

/// <summary>
/// Hinton's knowledge-distillation loss (知識蒸餾):
/// <c>L = α · T² · KL(p_T ‖ q_T) + (1 − α) · CE(softmax(z), y)</c>,
/// with <c>p_T = softmax(v / T)</c> from the teacher's logits v and <c>q_T = softmax(z / T)</c> from the student's logits z.
/// </summary>
/// <remarks>
/// <para>Hinton, Vinyals and Dean, "Distilling the Knowledge in a Neural Network", 2015 (arXiv:1503.02531). The T² factor
/// keeps the soft term's gradients, which scale as 1/T², comparable in size as T changes (section 2).</para>
/// <para>Both terms are averaged over the batch ("batchmean"). The hard term uses the student's logits at T = 1.</para>
/// <para>Validation: T &gt; 0, α ∈ [0, 1], teacher and student with the same class count and batch size, labels in range;
/// each rejection is an <see cref="ArgumentException"/> that names the value.</para>
/// </remarks>
public sealed class HintonKDLoss : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="T">The temperature, &gt; 0.</param>
    /// <param name="alpha">The weight of the soft term, in [0, 1]; the hard term gets 1 − α.</param>
    /// <param name="form">KL (default) or cross entropy with soft targets; they differ by a constant.</param>
    public HintonKDLoss(double T = 4.0, double alpha = 0.9, SoftTargetForm form = SoftTargetForm.KL) : base(nameof(HintonKDLoss))
    {
        LossChecks.Temperature(T);
        LossChecks.Weight(alpha);
        this.T = T;
        this.alpha = alpha;
        this.form = form;
        RegisterComponents();
    }

    /// <summary>The temperature.</summary>
    public double T { get; }

    readonly double alpha;
    readonly SoftTargetForm form;

    /// <summary>The weight of the soft term.</summary>
    public double Alpha => alpha;

    /// <summary>Which soft term is used.</summary>
    public SoftTargetForm Form => form;

    /// <summary>The weighted total, <c>α · soft + (1 − α) · hard</c>.</summary>
    /// <param name="student">The student's logits z, [B, C].</param>
    /// <param name="teacher">The teacher's logits v, [B, C]; treated as constants.</param>
    /// <param name="labels">Hard labels y, int64 [B].</param>
    public override Tensor forward(Tensor student, Tensor teacher, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var terms = Terms(student, teacher, labels);
        return terms.Soft.mul(alpha).add(terms.Hard.mul(1 - alpha)).MoveToOuterDisposeScope();
    }

    /// <summary>Both terms, unweighted (the soft one already times T²), for reporting and plots.</summary>
    public HintonTerms Terms(Tensor student, Tensor teacher, Tensor labels)
    {
        LossChecks.PairedLogits(student, teacher);
        LossChecks.Labels(labels, student.shape[0], student.shape[1]);
        using var scope = NewDisposeScope();
        var soft = SoftLoss(student, teacher, T, form);
        var hard = F.cross_entropy(student, labels);
        return new HintonTerms(soft.MoveToOuterDisposeScope(), hard.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The soft term alone, <c>T² · KL(p_T ‖ q_T)</c> (or <c>T² · CE(p_T, q_T)</c>), averaged over the batch. The teacher's
    /// logits are detached: no gradient flows into the teacher.
    /// </summary>
    public static Tensor SoftLoss(Tensor student, Tensor teacher, double T, SoftTargetForm form = SoftTargetForm.KL)
    {
        LossChecks.Temperature(T);
        LossChecks.PairedLogits(student, teacher);
        using var scope = NewDisposeScope();
        var logQ = SoftTargets.LogProbabilities(student, T);
        var target = teacher.detach();
        var divergence = form == SoftTargetForm.KL
            ? KLDivergence.BatchMean(logQ, SoftTargets.LogProbabilities(target, T))
            : KLDivergence.SoftCrossEntropy(logQ, SoftTargets.Probabilities(target, T));
        return divergence.mul(T * T).MoveToOuterDisposeScope();
    }
}
