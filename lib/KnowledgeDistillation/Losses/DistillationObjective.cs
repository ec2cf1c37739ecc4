using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>What one training step gives the distillation terms: both models' logits, the labels, and their features.</summary>
/// <param name="StudentLogits">The student's logits [B, C].</param>
/// <param name="TeacherLogits">The teacher's logits [B, C] (constants).</param>
/// <param name="Labels">Hard labels [B], or null for unlabelled data.</param>
/// <param name="StudentFeatures">The student's intermediate features, in the model's order, or null.</param>
/// <param name="TeacherFeatures">The teacher's intermediate features, in the model's order, or null.</param>
public sealed record DistillationBatch(
    Tensor StudentLogits, Tensor TeacherLogits, Tensor? Labels = null,
    IReadOnlyList<Tensor>? StudentFeatures = null, IReadOnlyList<Tensor>? TeacherFeatures = null)
{
    /// <summary>Set by the trainer when it has checked every training label once (<c>[0, classes)</c>): the terms then
    /// skip the per-batch range check, which reads the labels' minimum and maximum on the host.</summary>
    internal bool LabelsInRange { get; init; }

    internal Tensor StudentFeature(int index, string term) => Feature(StudentFeatures, index, term, "student");

    internal Tensor TeacherFeature(int index, string term) => Feature(TeacherFeatures, index, term, "teacher");

    static Tensor Feature(IReadOnlyList<Tensor>? features, int index, string term, string who)
    {
        if (features is null)
            throw new ArgumentException($"The term '{term}' needs the {who}'s features, but the batch has none; run the model with features.");
        if (index < 0 || index >= features.Count)
            throw new ArgumentException($"The term '{term}' asks for {who} feature {index}, but the {who} has {features.Count} (0..{features.Count - 1}).");
        return features[index];
    }
}

/// <summary>One weighted term of a <see cref="DistillationObjective"/>.</summary>
/// <param name="Name">A short name for reports and plots, unique within the objective.</param>
/// <param name="Weight">The term's weight, ≥ 0.</param>
/// <param name="Compute">Computes the unweighted term from a batch.</param>
/// <param name="Trainable">A module whose parameters train with the student (a FitNets regressor), or null.</param>
public sealed record DistillationTerm(string Name, double Weight, Func<DistillationBatch, Tensor> Compute, nn.Module? Trainable = null)
{
    /// <summary>The teacher's feature indices this term reads (empty for logit-only terms); the trainer caches these.</summary>
    public IReadOnlyList<int> TeacherFeatures { get; init; } = [];

    /// <summary>The student's feature indices this term reads.</summary>
    public IReadOnlyList<int> StudentFeatures { get; init; } = [];

    /// <summary>True when the term reads intermediate features, not only logits.</summary>
    public bool UsesFeatures => TeacherFeatures.Count > 0 || StudentFeatures.Count > 0;

    /// <summary>True when the term needs hard labels.</summary>
    public bool UsesLabels { get; init; }
}

/// <summary>The objective's value for one batch.</summary>
/// <param name="Total">The weighted sum, with gradients.</param>
/// <param name="Terms">Each term's unweighted value, detached, by name.</param>
public sealed record ObjectiveValue(Tensor Total, IReadOnlyDictionary<string, Tensor> Terms);

/// <summary>
/// A weighted sum of distillation terms, <c>L = Σ_k w_k · L_k</c>, that also reports each term separately (for plots).
/// Hinton KD is <c>CrossEntropy(1 − α) + Soft(T, α)</c>; FitNets adds <c>Hint(...)</c>; and so on.
/// </summary>
/// <remarks>Dispose it when done: that frees the native memory of the terms' trainable modules (a FitNets regressor).</remarks>
public sealed class DistillationObjective : IDisposable
{
    readonly List<DistillationTerm> terms = [];

    /// <summary>Creates an objective from terms.</summary>
    /// <exception cref="ArgumentException">A name repeats or a weight is negative.</exception>
    public DistillationObjective(params IEnumerable<DistillationTerm> terms)
    {
        foreach (var term in terms) Add(term);
    }

    /// <summary>The terms, in order.</summary>
    public IReadOnlyList<DistillationTerm> Terms => terms;

    /// <summary>Adds a term.</summary>
    public DistillationObjective Add(DistillationTerm term)
    {
        ArgumentNullException.ThrowIfNull(term);
        LossChecks.NonNegative(term.Weight, $"weight of '{term.Name}'");
        if (terms.Any(t => t.Name == term.Name))
            throw new ArgumentException($"The objective already has a term named '{term.Name}'.", nameof(term));
        terms.Add(term);
        return this;
    }

    /// <summary>The parameters of the terms' trainable modules (to give the optimiser with the student's).</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> parameters() =>
        terms.Where(t => t.Trainable is not null).SelectMany(t => t.Trainable!.parameters());

    /// <summary>Moves the trainable modules to <paramref name="device"/>.</summary>
    public DistillationObjective to(Device device)
    {
        foreach (var t in terms) t.Trainable?.to(device);
        return this;
    }

    /// <summary>Disposes the terms' trainable modules.</summary>
    public void Dispose()
    {
        foreach (var t in terms) t.Trainable?.Dispose();
    }

    /// <summary>Computes every term and the weighted total.</summary>
    /// <param name="batch">The models' outputs for one batch.</param>
    /// <param name="skipLabelTerms">Leave out terms that need labels (used to check shapes on unlabelled probes).</param>
    public ObjectiveValue Compute(DistillationBatch batch, bool skipLabelTerms = false)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (terms.Count == 0) throw new InvalidOperationException("The objective has no terms.");
        using var scope = NewDisposeScope();
        Tensor? total = null;
        var values = new Dictionary<string, Tensor>();
        foreach (var term in terms)
        {
            if (skipLabelTerms && term.UsesLabels) continue;
            var value = term.Compute(batch);
            var weighted = value.mul(term.Weight);
            total = total is null ? weighted : total.add(weighted);
            values[term.Name] = value.detach().MoveToOuterDisposeScope();
        }
        total ??= zeros(1, dtype: batch.StudentLogits.dtype, device: batch.StudentLogits.device).squeeze();
        return new ObjectiveValue(total.MoveToOuterDisposeScope(), values);
    }
}

/// <summary>Factories for the terms the tutorial uses.</summary>
public static class DistillationTerms
{
    /// <summary>The student loss: cross entropy with the hard labels.</summary>
    public static DistillationTerm CrossEntropy(double weight = 1.0) => new("ce", weight, b =>
    {
        if (b.Labels is null) throw new ArgumentException("The term 'ce' needs labels, but the batch has none.");
        LossChecks.Logits(b.StudentLogits, "student");
        LossChecks.Labels(b.Labels, b.StudentLogits.shape[0], b.StudentLogits.shape[1], checkRange: !b.LabelsInRange);
        return F.cross_entropy(b.StudentLogits, b.Labels);
    }) { UsesLabels = true };

    /// <summary>The distillation loss of Hinton KD, <c>T² · KL(p_T ‖ q_T)</c> (or the cross-entropy form).</summary>
    public static DistillationTerm Soft(double T, double weight = 1.0, SoftTargetForm form = SoftTargetForm.KL)
    {
        LossChecks.Temperature(T);
        return new("kd", weight, b => HintonKDLoss.SoftLoss(b.StudentLogits, b.TeacherLogits, T, form));
    }

    /// <summary>Logit matching (Caruana, or Hinton's high-temperature limit).</summary>
    public static DistillationTerm Logits(double weight = 1.0, LogitMatching kind = LogitMatching.Caruana)
    {
        var loss = new LogitMatchingLoss(kind);
        return new("logits", weight, b => loss.call(b.StudentLogits, b.TeacherLogits));
    }

    /// <summary>A FitNets hint between one student and one teacher feature; the regressor trains with the student.</summary>
    public static DistillationTerm Hint(HintLoss loss, int studentFeature, int teacherFeature, double weight = 1.0) =>
        new("hint", weight, b => loss.call(b.StudentFeature(studentFeature, "hint"), b.TeacherFeature(teacherFeature, "hint")), loss)
        { StudentFeatures = [studentFeature], TeacherFeatures = [teacherFeature] };

    /// <summary>Attention transfer, summed over feature pairs (student index, teacher index).</summary>
    public static DistillationTerm Attention(IReadOnlyList<(int Student, int Teacher)> pairs, double weight = 1.0, double p = 2.0)
    {
        var loss = new AttentionTransferLoss(p);
        return new("at", weight, b => SumOver(pairs, "at", b, loss.call))
        { StudentFeatures = pairs.Select(p => p.Student).ToList(), TeacherFeatures = pairs.Select(p => p.Teacher).ToList() };
    }

    /// <summary>The cosine hidden-representation loss between one student and one teacher feature.</summary>
    public static DistillationTerm Cosine(int studentFeature, int teacherFeature, double weight = 1.0)
    {
        var loss = new CosineHiddenLoss();
        return new("cosine", weight, b => loss.call(b.StudentFeature(studentFeature, "cosine"), b.TeacherFeature(teacherFeature, "cosine")))
        { StudentFeatures = [studentFeature], TeacherFeatures = [teacherFeature] };
    }

    /// <summary>RKD, distance-wise and angle-wise, on one pair of embeddings (Park et al. weight them 1 and 2).</summary>
    public static DistillationTerm Rkd(int studentFeature, int teacherFeature, double weight = 1.0, double distanceWeight = 1.0, double angleWeight = 2.0)
    {
        LossChecks.NonNegative(distanceWeight, nameof(distanceWeight));
        LossChecks.NonNegative(angleWeight, nameof(angleWeight));
        var distance = new RkdDistanceLoss();
        var angle = new RkdAngleLoss();
        return new("rkd", weight, b =>
        {
            var s = b.StudentFeature(studentFeature, "rkd");
            var t = b.TeacherFeature(teacherFeature, "rkd");
            return distance.call(s, t).mul(distanceWeight).add(angle.call(s, t).mul(angleWeight));
        }) { StudentFeatures = [studentFeature], TeacherFeatures = [teacherFeature] };
    }

    /// <summary>Similarity-preserving KD, summed over feature pairs.</summary>
    public static DistillationTerm SimilarityPreserving(IReadOnlyList<(int Student, int Teacher)> pairs, double weight = 1.0)
    {
        var loss = new SimilarityPreservingLoss();
        return new("sp", weight, b => SumOver(pairs, "sp", b, loss.call))
        { StudentFeatures = pairs.Select(p => p.Student).ToList(), TeacherFeatures = pairs.Select(p => p.Teacher).ToList() };
    }

    /// <summary>Probabilistic knowledge transfer on one pair of embeddings.</summary>
    public static DistillationTerm Pkt(int studentFeature, int teacherFeature, double weight = 1.0)
    {
        var loss = new PktLoss();
        return new("pkt", weight, b => loss.call(b.StudentFeature(studentFeature, "pkt"), b.TeacherFeature(teacherFeature, "pkt")))
        { StudentFeatures = [studentFeature], TeacherFeatures = [teacherFeature] };
    }

    static Tensor SumOver(IReadOnlyList<(int Student, int Teacher)> pairs, string name, DistillationBatch b, Func<Tensor, Tensor, Tensor> loss)
    {
        if (pairs.Count == 0) throw new ArgumentException($"The term '{name}' needs at least one feature pair.");
        Tensor? sum = null;
        foreach (var (s, t) in pairs)
        {
            var value = loss(b.StudentFeature(s, name), b.TeacherFeature(t, name));
            sum = sum is null ? value : sum.add(value);
        }
        return sum!;
    }
}
