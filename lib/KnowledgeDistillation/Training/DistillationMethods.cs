using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;

namespace KnowledgeDistillation.Training;

/// <summary>The distillation methods that <c>kd distill</c>, <c>kd reproduce</c> and the notebooks share.</summary>
/// <remarks>On the command line each has a lower-case name: <c>kd logits fitnet at cosine rkd sp pkt kd+rkd</c>.</remarks>
public enum DistillationMethod
{
    /// <summary>Hinton KD, <c>kd</c>: <c>(1 − α) · CE + α · T² · KL(p_T ‖ q_T)</c>.</summary>
    Kd,
    /// <summary>Logit matching, <c>logits</c>: <c>CE + w · ½‖z − v‖²</c> (Ba and Caruana).</summary>
    Logits,
    /// <summary>FitNets, <c>fitnet</c>: <c>CE + w · mean((r(s) − t)²)</c> on the deepest feature-map pair of equal size.</summary>
    FitNet,
    /// <summary>Attention transfer, <c>at</c>: <c>CE + w · Σ mean((Q_S − Q_T)²)</c> over feature-map pairs of equal size.</summary>
    At,
    /// <summary>Cosine hidden-representation loss, <c>cosine</c>: <c>CE + w · mean(1 − cos(s, t))</c>.</summary>
    Cosine,
    /// <summary>Relational KD, <c>rkd</c>: <c>CE + w · (RKD-D + 2 · RKD-A)</c> on the embeddings.</summary>
    Rkd,
    /// <summary>Similarity-preserving KD, <c>sp</c>: <c>CE + w · SP</c> on the last feature-map pair.</summary>
    Sp,
    /// <summary>Probabilistic knowledge transfer, <c>pkt</c>: <c>CE + w · PKT</c> on the embeddings.</summary>
    Pkt,
    /// <summary>Hinton KD plus RKD, <c>kd+rkd</c>: <c>(1 − α) · CE + α · T² · KL + w · (RKD-D + 2 · RKD-A)</c>.</summary>
    KdRkd,
}

/// <summary>The settings of a distillation method.</summary>
public sealed record MethodSettings
{
    /// <summary>The temperature of the soft targets (<see cref="DistillationMethod.Kd"/>, <see cref="DistillationMethod.KdRkd"/>).</summary>
    public double T { get; init; } = 4;

    /// <summary>The weight of the soft term; the hard labels get 1 − α (<see cref="DistillationMethod.Kd"/>, <see cref="DistillationMethod.KdRkd"/>).</summary>
    public double Alpha { get; init; } = 0.9;

    /// <summary>The weight of the method's feature or logit term; null means <see cref="DistillationMethods.DefaultWeight"/>.</summary>
    public double? FeatureWeight { get; init; }
}

/// <summary>
/// Builds the <see cref="DistillationObjective"/> of each <see cref="DistillationMethod"/> for a student and a teacher,
/// so that the command line, the experiment table and the notebooks use one definition.
/// </summary>
/// <remarks>
/// <para><b>Every method keeps a cross-entropy term on the hard labels.</b> KD and KD+RKD weight it 1 − α; the others
/// weight it 1 and add one term with weight w (<see cref="MethodSettings.FeatureWeight"/>, or the default below).</para>
/// <para><b>Default weights.</b> Where our loss computes what RepDistiller's does, we take RepDistiller's weight β from
/// <c>scripts/run_cifar_distill.sh</c> (Y. Tian, D. Krishnan, P. Isola, "Contrastive Representation Distillation",
/// ICLR 2020, github.com/HobbitLong/RepDistiller), which runs every method with <c>-r 1</c> (cross entropy weight 1):</para>
/// <list type="bullet">
/// <item><c>fitnet</c> 100: RepDistiller's <c>-b 100</c>; both HintLosses are an element-wise mean squared error.</item>
/// <item><c>at</c> 1000: RepDistiller's <c>-b 1000</c>, with the same per-pair loss (mean over batch and positions of the
/// squared difference of L2-normalised maps) summed over pairs. Zagoruyko and Komodakis's own code uses β = 1000 too, but
/// multiplies by β/2.</item>
/// <item><c>sp</c> 3000: RepDistiller's <c>-b 3000</c>, same loss (<c>‖G_T − G_S‖²_F / B²</c>) on the last feature map.</item>
/// <item><c>rkd</c> 25: RepDistiller runs <c>-b 1</c>, but its <c>RKDLoss</c> weights distance 25 and angle 50 inside;
/// our term is <c>w · (RKD-D + 2 · RKD-A)</c> (Park et al.'s 1 : 2), so w = 25 gives the same 25 and 50.</item>
/// <item><c>pkt</c> 30000: RepDistiller's <c>-b 30000</c>; both average the KL over the B² entries.</item>
/// </list>
/// <para>The two methods RepDistiller does not have get weights chosen so that their term's gradient is comparable to
/// the cross entropy's at the start of training, for the SmallCnn pair, and checked by <c>kd reproduce --quick</c>:</para>
/// <list type="bullet">
/// <item><c>logits</c> 0.1: Ba and Caruana's <c>½‖z − v‖²</c> summed over 10 classes is tens at the start (the
/// teacher's logits spread over ±15), against a cross entropy of about 2.3.</item>
/// <item><c>cosine</c> 1/3: the PyTorch knowledge-distillation tutorial weights cross entropy 0.75 and the cosine loss
/// 0.25; with cross entropy at weight 1 that ratio is 1/3.</item>
/// </list>
/// <para><b>Which features.</b> Feature maps ([C, H, W] features) pair by rank: the k-th map of the student with the
/// k-th map of the teacher (for SmallCnn teacher and student that is index k). The embeddings, the last feature of every
/// <see cref="FeatureModel"/>, pair with each other. A method whose pair the shapes do not allow throws an
/// <see cref="ArgumentException"/> that lists both models' features: an MLP student has no feature maps, so
/// <c>fitnet</c>, <c>at</c> and <c>sp</c> fail on it.</para>
/// </remarks>
public static class DistillationMethods
{
    static readonly (DistillationMethod Method, string Name)[] Table =
    [
        (DistillationMethod.Kd, "kd"), (DistillationMethod.Logits, "logits"), (DistillationMethod.FitNet, "fitnet"),
        (DistillationMethod.At, "at"), (DistillationMethod.Cosine, "cosine"), (DistillationMethod.Rkd, "rkd"),
        (DistillationMethod.Sp, "sp"), (DistillationMethod.Pkt, "pkt"), (DistillationMethod.KdRkd, "kd+rkd"),
    ];

    /// <summary>Every method, in the order of the experiment table.</summary>
    public static IReadOnlyList<DistillationMethod> All { get; } = [.. Table.Select(t => t.Method)];

    /// <summary>The command-line names, in the same order: <c>kd, logits, fitnet, at, cosine, rkd, sp, pkt, kd+rkd</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Table.Select(t => t.Name)];

    /// <summary>The command-line name of <paramref name="method"/>.</summary>
    public static string Name(DistillationMethod method) =>
        Table.FirstOrDefault(t => t.Method == method).Name ?? throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown method.");

    /// <summary>Reads a command-line name (case-insensitive).</summary>
    public static bool TryParse(string? name, out DistillationMethod method)
    {
        foreach (var (m, n) in Table)
        {
            if (string.Equals(n, name?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                method = m;
                return true;
            }
        }
        method = default;
        return false;
    }

    /// <summary>Reads a command-line name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the valid ones.</exception>
    public static DistillationMethod Parse(string name) =>
        TryParse(name, out var method) ? method : throw new ArgumentException(UnknownMessage(name), nameof(name));

    /// <summary>The message for an unknown method name, listing the valid ones.</summary>
    public static string UnknownMessage(string? name) => $"Unknown method '{name}'. Valid methods: {string.Join(", ", Names)}.";

    /// <summary>
    /// The default weight w of the method's extra term (see the class remarks for where each comes from); null for
    /// <see cref="DistillationMethod.Kd"/>, whose soft term is weighted by α.
    /// </summary>
    public static double? DefaultWeight(DistillationMethod method) => method switch
    {
        DistillationMethod.Kd => null,
        DistillationMethod.Logits => 0.1,
        DistillationMethod.FitNet => 100,
        DistillationMethod.At => 1000,
        DistillationMethod.Cosine => 1.0 / 3.0,
        DistillationMethod.Rkd or DistillationMethod.KdRkd => 25,
        DistillationMethod.Sp => 3000,
        DistillationMethod.Pkt => 30000,
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown method."),
    };

    /// <summary>The objective as a formula with its weights, for logs: <c>0.1·ce + 0.9·kd(T=4)</c>.</summary>
    public static string Describe(DistillationObjective objective) =>
        string.Join(" + ", objective.Terms.Select(t => $"{t.Weight:0.####}·{t.Name}"));

    /// <summary>
    /// The objective of <paramref name="method"/> for this student and teacher. The feature pairs are chosen from the
    /// models' <see cref="FeatureModel.Features"/>; a FitNets regressor is created here (seed torch first to make it
    /// reproducible) and trains with the student.
    /// </summary>
    /// <exception cref="ArgumentException">The settings are invalid, or the models have no features the method can pair;
    /// the message names the features.</exception>
    public static DistillationObjective Build(DistillationMethod method, FeatureModel student, FeatureModel teacher, MethodSettings settings)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(settings);
        if (!(settings.T > 0) || double.IsInfinity(settings.T))
            throw new ArgumentOutOfRangeException(nameof(settings), settings.T, $"T must be a finite number > 0; got {settings.T}.");
        if (!(settings.Alpha >= 0 && settings.Alpha <= 1))
            throw new ArgumentOutOfRangeException(nameof(settings), settings.Alpha, $"alpha must be in [0, 1]; got {settings.Alpha}.");
        if (settings.FeatureWeight is { } given && (!(given >= 0) || double.IsInfinity(given)))
            throw new ArgumentOutOfRangeException(nameof(settings), given, $"The feature weight must be a finite number >= 0; got {given}.");
        if (method == DistillationMethod.Kd && settings.FeatureWeight is not null)
            throw new ArgumentException("Method 'kd' has no feature term; its soft term is weighted by alpha, so leave the feature weight unset.", nameof(settings));
        if (student.NumClasses != teacher.NumClasses)
            throw new ArgumentException($"The teacher has {teacher.NumClasses} classes but the student has {student.NumClasses}; distillation needs the same classes.");

        double w = settings.FeatureWeight ?? DefaultWeight(method) ?? 0;
        var ce = DistillationTerms.CrossEntropy();
        int se = student.Features.Count - 1, te = teacher.Features.Count - 1;
        return method switch
        {
            DistillationMethod.Kd => new(DistillationTerms.CrossEntropy(1 - settings.Alpha), DistillationTerms.Soft(settings.T, settings.Alpha)),
            DistillationMethod.Logits => new(ce, DistillationTerms.Logits(w, LogitMatching.Caruana)),
            DistillationMethod.FitNet => new(ce, Hint(student, teacher, w)),
            DistillationMethod.At => new(ce, DistillationTerms.Attention(EqualSizeMaps(student, teacher, "at"), w)),
            DistillationMethod.Cosine => new(ce, Cosine(student, teacher, w)),
            DistillationMethod.Rkd => new(ce, DistillationTerms.Rkd(se, te, w)),
            DistillationMethod.Sp => new(ce, DistillationTerms.SimilarityPreserving([MapPairs(student, teacher, "sp")[^1]], w)),
            DistillationMethod.Pkt => new(ce, DistillationTerms.Pkt(se, te, w)),
            DistillationMethod.KdRkd => new(DistillationTerms.CrossEntropy(1 - settings.Alpha), DistillationTerms.Soft(settings.T, settings.Alpha), DistillationTerms.Rkd(se, te, w)),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown method."),
        };
    }

    /// <summary>Feature-map pairs by rank, counted from the deepest: the student's last [C, H, W] feature with the teacher's
    /// last, the one before with the one before, and so on for as many maps as the shallower model has. With equal
    /// numbers of maps this is the k-th with the k-th; a deeper teacher (ResNet-20's three stages against the CNN
    /// student's two blocks) gives its first stages no partner.</summary>
    /// <exception cref="ArgumentException">One of the models has no feature maps.</exception>
    public static IReadOnlyList<(int Student, int Teacher)> MapPairs(FeatureModel student, FeatureModel teacher, string term)
    {
        var s = SpatialIndices(student);
        var t = SpatialIndices(teacher);
        if (s.Count == 0 || t.Count == 0)
            throw new ArgumentException($"The term '{term}' needs feature maps [C, H, W] in both models, but {(s.Count == 0 ? "the student" : "the teacher")} has none. {Both(student, teacher)}");
        return DeepestAligned(s, t);
    }

    /// <summary>The feature-map pairs of equal spatial size (attention transfer; FitNets uses the deepest).</summary>
    /// <exception cref="ArgumentException">No pair has equal spatial sizes.</exception>
    public static IReadOnlyList<(int Student, int Teacher)> EqualSizeMaps(FeatureModel student, FeatureModel teacher, string term)
    {
        var pairs = MapPairs(student, teacher, term).Where(p => SameSize(student.Features[p.Student], teacher.Features[p.Teacher])).ToList();
        if (pairs.Count == 0)
            throw new ArgumentException($"The term '{term}' needs a student and a teacher feature map of the same height and width, paired by rank; none match. {Both(student, teacher)}");
        return pairs;
    }

    static DistillationTerm Hint(FeatureModel student, FeatureModel teacher, double weight)
    {
        var (s, t) = EqualSizeMaps(student, teacher, "hint")[^1];
        var loss = new HintLoss(student.Features[s].Channels, teacher.Features[t].Channels, spatial: true);
        return DistillationTerms.Hint(loss, s, t, weight);
    }

    /// <summary>The deepest pair (embeddings first, then feature maps from the last) whose teacher size is a whole
    /// multiple of the student's, as the cosine loss needs.</summary>
    static DistillationTerm Cosine(FeatureModel student, FeatureModel teacher, double weight)
    {
        var candidates = new List<(int Student, int Teacher)> { (student.Features.Count - 1, teacher.Features.Count - 1) };
        var s = SpatialIndices(student);
        var t = SpatialIndices(teacher);
        candidates.AddRange(DeepestAligned(s, t).AsEnumerable().Reverse());
        foreach (var (si, ti) in candidates)
        {
            if (student.Features[si].IsSpatial != teacher.Features[ti].IsSpatial) continue;
            if (teacher.Features[ti].Numel % student.Features[si].Numel == 0) return DistillationTerms.Cosine(si, ti, weight);
        }
        throw new ArgumentException($"The term 'cosine' needs a feature pair whose teacher size is a whole multiple of the student's; none is. {Both(student, teacher)}");
    }

    static List<(int Student, int Teacher)> DeepestAligned(List<int> s, List<int> t)
    {
        int k = Math.Min(s.Count, t.Count);
        return [.. s.Skip(s.Count - k).Zip(t.Skip(t.Count - k))];
    }

    static List<int> SpatialIndices(FeatureModel model) =>
        [.. Enumerable.Range(0, model.Features.Count).Where(i => model.Features[i].IsSpatial)];

    static bool SameSize(FeatureInfo a, FeatureInfo b) => a.Shape[1] == b.Shape[1] && a.Shape[2] == b.Shape[2];

    static string Both(FeatureModel student, FeatureModel teacher) =>
        $"Student features: {List(student)}. Teacher features: {List(teacher)}.";

    static string List(FeatureModel model) => string.Join(", ", model.Features.Select((f, i) => $"{i}: {f}"));
}
