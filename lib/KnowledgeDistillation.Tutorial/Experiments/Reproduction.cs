using System.Diagnostics;
using System.Globalization;
using System.Text;
using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Charts;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using Microsoft.Data.Analysis;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Experiments;

/// <summary>A training regime of the experiment table: how many labelled images the students see, and for how long.</summary>
/// <param name="Name">For example <c>all labels</c> or <c>1,000 labels</c>.</param>
/// <param name="Images">The size of the class-balanced training subset, drawn anew for each seed; null for the whole
/// training set.</param>
/// <param name="Epochs">Epochs of every student run in this regime.</param>
public sealed record ReproductionRegime(string Name, int? Images, int Epochs);

/// <summary>What <see cref="Reproduction.Run"/> trains. <see cref="Full"/> and <see cref="Quick"/> are the two presets.</summary>
public sealed record ReproductionSettings
{
    /// <summary>The regimes, each a block of the table.</summary>
    public IReadOnlyList<ReproductionRegime> Regimes { get; init; } = FullRegimes;

    /// <summary>The distillation methods; the student from scratch is always trained too, as the baseline.</summary>
    public IReadOnlyList<DistillationMethod> Methods { get; init; } = DistillationMethods.All;

    /// <summary>One run per seed and method. The seed sets the training subset, the student's initial weights (the same
    /// for scratch and every method), the shuffling and any FitNets regressor.</summary>
    public IReadOnlyList<long> Seeds { get; init; } = [0, 1, 2];

    /// <summary>The student's <see cref="ModelZoo"/> name.</summary>
    public string Student { get; init; } = "cnn-student";

    /// <summary>T, α and the feature weight (null: each method's default) of the distillation methods: T = 4 and
    /// α = 0.9, the best of those measured on 1,000 labels (see <see cref="Reproduction"/>' remarks).</summary>
    public MethodSettings Method { get; init; } = new() { T = 4, Alpha = 0.9 };

    /// <summary>Optimiser, learning rate, schedule, batch size and device of every run; epochs and seed come from the
    /// regime and the run. Adam at 0.005 with cosine decay, batches of 128; only the final epoch is evaluated.</summary>
    public TrainingOptions Training { get; init; } = new() { Optimizer = OptimizerKind.Adam, LearningRate = 5e-3, Schedule = ScheduleKind.Cosine, BatchSize = 128, EvaluateEveryEpoch = false };

    /// <summary>Evaluate on a class-balanced subset of this many test images (drawn once, seed 0); null for all 10,000.</summary>
    public int? TestImages { get; init; }

    /// <summary>Epochs when the teacher is retrained (<see cref="Reproduction.TrainTeacher"/>).</summary>
    public int TeacherEpochs { get; init; } = 15;

    /// <summary>When the teacher is retrained: a class-balanced subset of this many training images (seed 0); null for all.</summary>
    public int? TeacherImages { get; init; }

    /// <summary>When the teacher is retrained: the learning rate (the rest as <see cref="Training"/>). 0.001, the default
    /// of <c>kd train-teacher</c>, which trained the 91% teacher of the measurements; the students' 0.005 is too high for
    /// the wider teacher (82% instead of 86% after 2 epochs on 10,000 images).</summary>
    public double TeacherLearningRate { get; init; } = 1e-3;

    /// <summary>When the teacher is retrained: the number format of its training (the students use <see cref="Training"/>'s).</summary>
    public TrainingPrecision TeacherPrecision { get; init; } = TrainingPrecision.Float32;

    static readonly ReproductionRegime[] FullRegimes = [new("all labels", null, 20), new("1,000 labels", 1000, 30)];

    /// <summary>The full table, as a GPU user runs it: all 60,000 images for 20 epochs, and 1,000 images for 30 epochs;
    /// every test image. See <see cref="Reproduction"/>' remarks for how these were chosen.</summary>
    public static ReproductionSettings Full { get; } = new();

    /// <summary>The quick table for a laptop CPU: 5,000 images (a balanced stand-in for all labels) for 4 epochs and
    /// 1,000 images for 20 epochs, on 2,000 test images; see <see cref="Reproduction"/>' remarks for the measured run time.</summary>
    public static ReproductionSettings Quick { get; } = new()
    {
        Regimes = [new("all labels", 5000, 4), new("1,000 labels", 1000, 20)],
        TestImages = 2000,
        TeacherEpochs = 2,
        TeacherImages = 10000,
    };
}

/// <summary>One finished run of the experiment table.</summary>
/// <param name="Regime">The regime's name.</param>
/// <param name="Images">Training images the model saw.</param>
/// <param name="Method"><see cref="Reproduction.Teacher"/>, <see cref="Reproduction.Scratch"/> or a method's name.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Accuracy">Test accuracy, 0 to 1.</param>
/// <param name="Loss">Test cross entropy.</param>
/// <param name="Ece">Test expected calibration error.</param>
/// <param name="Seconds">Wall time of the run (training and its evaluations); for a reused run, the time it took when it
/// was trained.</param>
/// <param name="Reused">True when the run was read from a <see cref="RunCache"/> instead of trained.</param>
/// <param name="ResumedFromEpoch">The epoch a run continued from when it resumed a killed run's checkpoint
/// (<see cref="RunCache.CheckpointPath"/>); 0 when it started from scratch.</param>
public sealed record ReproductionRow(string Regime, int Images, string Method, long Seed, double Accuracy, double Loss, double Ece, double Seconds,
    bool Reused = false, int ResumedFromEpoch = 0);

/// <summary>The runs of one regime and method, summarised over seeds.</summary>
/// <param name="Regime">The regime's name.</param>
/// <param name="Images">Training images.</param>
/// <param name="Method">The method.</param>
/// <param name="Runs">How many seeds.</param>
/// <param name="MeanAccuracy">Mean test accuracy.</param>
/// <param name="StdAccuracy">Sample standard deviation (n − 1) of the test accuracy; NaN for a single run.</param>
/// <param name="MeanEce">Mean test ECE.</param>
/// <param name="DeltaVsScratch">Mean accuracy minus the scratch student's in the same regime; null when there is none.</param>
public sealed record ReproductionSummary(string Regime, int Images, string Method, int Runs, double MeanAccuracy, double StdAccuracy, double MeanEce, double? DeltaVsScratch);

/// <summary>Everything a reproduction produced.</summary>
/// <param name="Settings">What was run.</param>
/// <param name="TeacherName">Where the teacher came from, for example <c>cnn-teacher (pretrained)</c>.</param>
/// <param name="Rows">One row per regime × method × seed, the teacher once per regime.</param>
/// <param name="Elapsed">Wall time of the whole table.</param>
public sealed record ReproductionReport(ReproductionSettings Settings, string TeacherName, IReadOnlyList<ReproductionRow> Rows, TimeSpan Elapsed)
{
    /// <summary>The rows summarised per regime and method, in the table's order.</summary>
    public IReadOnlyList<ReproductionSummary> Summaries => Reproduction.Summarise(Rows);
}

/// <summary>The files <see cref="Reproduction.Save"/> wrote.</summary>
public sealed record ReproductionFiles(string Csv, string Markdown, string Html);

/// <summary>
/// The experiment table of the tutorial: a student from scratch and the student distilled with each
/// <see cref="DistillationMethod"/>, over several seeds, with all labels and with only 1,000, against one teacher.
/// </summary>
/// <remarks>
/// <para>The 1,000-label regime is where soft targets should help most. Hinton, Vinyals and Dean (2015, section 6,
/// table 5) train a speech model on 3% of the data: with hard targets it overfits and reaches 44.5% frame accuracy on the
/// test set; with the soft targets of the teacher trained on all the data it reaches 57.0%. The teacher here is trained on
/// all the labels; only the student is restricted.</para>
/// <para><b>How the defaults were chosen.</b> Measured in quick mode on 2 CPU cores, with a cnn-teacher trained for 3
/// epochs on all 60,000 images (91.0% test accuracy), on the 2,000-image test subset, with Adam, cosine decay and batches
/// of 128. Runs of one seed are paired (same subset, same initial weights); each figure is the mean over seeds 0–2 unless
/// a seed is named.</para>
/// <list type="bullet">
/// <item>1,000 labels, 20 epochs, lr 0.005: scratch 82.5%; KD with T = 4, α = 0.9: 84.6% (+2.1); T = 4, α = 0.5: 84.3%;
/// T = 2, α = 0.9: 84.0%; T = 2, α = 0.5: 83.8%. Hence T = 4, α = 0.9.</item>
/// <item>1,000 labels, shorter or longer (seeds 0–1): at 10 epochs scratch 81.5%, KD (T = 2) 82.4%, KD (T = 4) 82.0%;
/// at 30 epochs (seed 0) scratch 83.0%, KD (T = 4) 85.5%. KD's lead grows with training while the scratch student
/// overfits its 1,000 images; 20 epochs keep the quick table short.</item>
/// <item>Learning rate (1,000 labels, seeds 0–1): at 8 epochs scratch reaches 80.7% with lr 0.005 and 79.1% with 0.01;
/// at 10 epochs 81.5% and 80.9%. At 15 epochs lr 0.002 gives scratch 82.3% and KD 82.3%, lr 0.005 scratch 82.2% and KD
/// 83.6%. Hence 0.005: best for the baseline, and KD needs fewer epochs with it.</item>
/// <item>5,000 images, lr 0.005: 2 epochs, scratch 82.7%, KD (T = 4) 81.8% (seeds 0–1); 4 epochs, scratch 85.2%, KD
/// (T = 4) 85.7%, KD (T = 2) 86.2%. Four epochs give KD room to help.</item>
/// <item>Time: on an idle machine a 5,000-image, 4-epoch run takes about 2 s and a 1,000-image, 20-epoch run about
/// 2 s (RKD then about 3 times as long, before its angle term used the Gram matrix: the term is cubic in the batch
/// size); the whole quick table, 60 runs, takes
/// about 3–4 minutes. On a machine shared with other jobs it can take several times longer.</item>
/// </list>
/// <para>The full table's epochs (20 on all 60,000 images, 30 on 1,000) are for a GPU; only the 1,000-image one was
/// measured here, on one seed.</para>
/// <para>Each run seeds torch with its seed right before creating the student, so the scratch student and every
/// distilled student of a seed start from identical weights and see the same subset in the same order.</para>
/// </remarks>
public static class Reproduction
{
    /// <summary>The method name of the student trained on hard labels only.</summary>
    public const string Scratch = "scratch";

    /// <summary>The method name of the teacher's row.</summary>
    public const string Teacher = "teacher";

    /// <summary>The seed of the test subset when <see cref="ReproductionSettings.TestImages"/> is set.</summary>
    public const long TestSubsetSeed = 0;

    /// <summary>Hinton et al.'s low-data result, quoted in the reports.</summary>
    public const string HintonLowDataNote =
        "Hinton, Vinyals and Dean (2015, section 6, table 5) trained a speech model on 3% of the data: 44.5% frame accuracy with hard " +
        "targets, 57.0% with the soft targets of a teacher trained on all of it. Soft targets should help most with few labels.";

    /// <summary>Runs the table: the teacher's evaluation, then per regime and seed the scratch student and each method.</summary>
    /// <param name="teacher">The trained teacher (an <see cref="FeatureModel"/>); it is frozen and not changed.</param>
    /// <param name="teacherName">How to name it in the reports.</param>
    /// <param name="train">The full training set; regimes with <see cref="ReproductionRegime.Images"/> draw balanced subsets.</param>
    /// <param name="test">The test set.</param>
    /// <param name="settings">What to run.</param>
    /// <param name="finished">Called after each run with its row (for progress lines).</param>
    /// <param name="cancellation">Cancels between batches.</param>
    /// <param name="teacherImages">How many training images the teacher saw, for its rows; <paramref name="train"/>'s count when null.</param>
    /// <param name="cache">Where finished runs are stored and looked up (see <see cref="RunCache"/>); every run is trained
    /// when null.</param>
    public static ReproductionReport Run(FeatureModel teacher, string teacherName, LabelledImages train, LabelledImages test,
        ReproductionSettings settings, Action<ReproductionRow>? finished = null, CancellationToken cancellation = default, int? teacherImages = null,
        RunCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(settings);
        Validate(settings, train);
        var clock = Stopwatch.StartNew();
        var rows = new List<ReproductionRow>();
        void Add(ReproductionRow row)
        {
            rows.Add(row);
            finished?.Invoke(row);
        }

        using var testSubset = settings.TestImages is { } n ? test.BalancedSubset(n, TestSubsetSeed) : null;
        var testSet = testSubset ?? test;
        var device = Runtime.Devices.Resolve(settings.Training.Device);
        teacher.to(device);
        var teacherClock = Stopwatch.StartNew();
        EvaluationResult teacherResult;
        // The test set and each seed's training subset go to the device once and serve every run (the trainer aliases
        // tensors that are on its device already instead of copying them).
        using var testOnDevice = testSet.To(device);
        teacherResult = Evaluator.Evaluate(teacher, testOnDevice);
        var callbacks = new TrainingCallbacks { Cancellation = cancellation };

        // What a run's cache key depends on besides its own settings: the teacher's weights and the data, by value.
        string? teacherPrint = cache is null ? null : RunCache.Fingerprint(teacher);
        string? trainPrint = cache is null ? null : RunCache.Fingerprint(train);
        string? testPrint = cache is null ? null : RunCache.Fingerprint(testSet);

        foreach (var regime in settings.Regimes)
        {
            Add(new ReproductionRow(regime.Name, teacherImages ?? train.Count, Teacher, -1, teacherResult.Accuracy, teacherResult.Loss, teacherResult.Ece, teacherClock.Elapsed.TotalSeconds));
            foreach (var seed in settings.Seeds)
            {
                using var subset = regime.Images is { } k && k < train.Count ? train.BalancedSubset(k, seed) : null;
                using var data = (subset ?? train).To(device);
                var options = settings.Training with { Epochs = regime.Epochs, Seed = seed, CheckpointPath = null, Resume = false };
                // One teacher pass per subset, shared by every method (its outputs do not depend on the method); computed
                // only when a method has to be trained.
                TeacherOutputs? shared = null;
                try
                {
                    foreach (var method in settings.Methods.Select(m => (DistillationMethod?)m).Prepend(null))
                    {
                        string name = method is { } m0 ? DistillationMethods.Name(m0) : Scratch;
                        // The scratch student does not see the teacher, so its key leaves the teacher out: it is reused across teachers.
                        string? description = cache is null ? null
                            : RunCache.Describe(name, settings, regime, seed, options, method is null ? "none (labels only)" : teacherPrint!, trainPrint!, testPrint!);
                        string? key = description is null ? null : RunCache.Key(description);
                        if (key is not null && cache!.TryGet(key) is { } stored)
                        {
                            Add(stored);
                            continue;
                        }
                        var runClock = Stopwatch.StartNew();
                        var student = NewStudent(settings.Student, seed);
                        // With a cache, the run checkpoints every epoch and resumes a killed run's checkpoint.
                        string? checkpoint = key is null ? null : cache!.CheckpointPath(key);
                        int resumedFrom = checkpoint is not null && File.Exists(checkpoint) ? Checkpoint.ReadState(checkpoint).Epoch : 0;
                        var runOptions = checkpoint is null ? options : options with { CheckpointPath = checkpoint, Resume = true };
                        TrainingResult result;
                        if (method is not { } m)
                            result = Trainer.Train(student, data, testOnDevice, runOptions, callbacks);
                        else
                        {
                            if (shared is null && options.CacheTeacherOutputs)
                                shared = SharedTeacherOutputs(teacher, settings, data, device, options.EvaluationBatchSize);
                            using var objective = DistillationMethods.Build(m, student, teacher, settings.Method);
                            result = Trainer.Distill(student, teacher, objective, data, testOnDevice, runOptions, callbacks, shared);
                        }
                        var row = Row(regime, data.Count, name, seed, result, runClock) with { ResumedFromEpoch = resumedFrom };
                        if (key is not null)
                        {
                            cache!.Put(key, description!, row, result.History);
                            File.Delete(checkpoint!);
                        }
                        Add(row);
                        student.Dispose();
                    }
                }
                finally
                {
                    shared?.Dispose();
                }
            }
        }
        return new ReproductionReport(settings, teacherName, rows, clock.Elapsed);
    }

    /// <summary>The teacher's logits and every feature the methods read, for <paramref name="data"/>, on <paramref name="device"/>.</summary>
    static TeacherOutputs SharedTeacherOutputs(FeatureModel teacher, ReproductionSettings settings,
        LabelledImages data, Device device, int batchSize)
    {
        // The pairs depend only on the models' declared features, so a throwaway student tells which teacher features are
        // read; it and each method's objective (some hold a regressor) are disposed at once.
        using var probe = ModelZoo.Create(settings.Student);
        var indices = new SortedSet<int>();
        foreach (var method in settings.Methods)
        {
            using var objective = DistillationMethods.Build(method, probe, teacher, settings.Method);
            foreach (var term in objective.Terms) indices.UnionWith(term.TeacherFeatures);
        }
        teacher.to(device);
        using var onDevice = data.To(device);
        return TeacherOutputs.Compute(teacher, onDevice.Images, [.. indices], batchSize);
    }

    /// <summary>Trains a teacher with cross entropy (seed 0) for <see cref="ReproductionSettings.TeacherEpochs"/> epochs on
    /// <see cref="ReproductionSettings.TeacherImages"/> of <paramref name="train"/>, as <c>kd reproduce --retrain-teacher</c> does.</summary>
    public static FeatureModel TrainTeacher(string model, LabelledImages train, LabelledImages test, ReproductionSettings settings,
        TrainingCallbacks? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(settings);
        using var subset = settings.TeacherImages is { } n && n < train.Count ? train.BalancedSubset(n, 0) : null;
        manual_seed(0);
        var teacher = ModelZoo.Create(model);
        Trainer.Train(teacher, subset ?? train, test, settings.Training with { Epochs = settings.TeacherEpochs, LearningRate = settings.TeacherLearningRate, Precision = settings.TeacherPrecision, Seed = 0, CheckpointPath = null, Resume = false }, callbacks);
        teacher.eval();
        return teacher;
    }

    /// <summary>A fresh student: torch is seeded with <paramref name="seed"/> right before it is created, so every run of
    /// a seed starts from the same weights.</summary>
    public static FeatureModel NewStudent(string name, long seed)
    {
        manual_seed(seed);
        return ModelZoo.Create(name);
    }

    /// <summary>The mean and the sample standard deviation (divided by n − 1) of <paramref name="values"/>; the standard
    /// deviation of a single value is NaN.</summary>
    /// <exception cref="ArgumentException">No values.</exception>
    public static (double Mean, double Std) MeanAndStd(IReadOnlyList<double> values)
    {
        var stats = MeanStd.Of(values);
        return (stats.Mean, stats.Std);
    }

    /// <summary>Welch's t of the difference between two rows' mean accuracies (see <see cref="MeanStd.WelchT"/>); NaN
    /// for single runs.</summary>
    public static double WelchT(ReproductionSummary a, ReproductionSummary b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return new MeanStd(a.MeanAccuracy, a.StdAccuracy, a.Runs).WelchT(new MeanStd(b.MeanAccuracy, b.StdAccuracy, b.Runs));
    }

    /// <summary>
    /// Every distilled student of <paramref name="regime"/> against that regime's scratch student, by the library's one
    /// rule (<see cref="Significance.CompareAll"/>): Welch's test on the accuracies in percent over the seeds, Holm's
    /// correction over all the regime's methods, and the verdict at 5 %.
    /// </summary>
    /// <exception cref="ArgumentException">The regime has no scratch student.</exception>
    public static IReadOnlyList<Comparison> CompareWithScratch(IReadOnlyList<ReproductionSummary> summaries, string regime)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        var scratch = summaries.FirstOrDefault(s => s.Regime == regime && s.Method == Scratch)
            ?? throw new ArgumentException($"The regime '{regime}' has no scratch student to compare with.", nameof(regime));
        static MeanStd Percent(ReproductionSummary s) => new(100 * s.MeanAccuracy, 100 * s.StdAccuracy, s.Runs);
        var methods = summaries.Where(s => s.Regime == regime && s.Method is not (Teacher or Scratch)).Select(s => (s.Method, Percent(s))).ToList();
        return Significance.CompareAll(methods, Percent(scratch));
    }

    /// <summary>The rows per regime and method, in order of first appearance, with the delta against the scratch student.</summary>
    public static IReadOnlyList<ReproductionSummary> Summarise(IEnumerable<ReproductionRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var groups = rows.GroupBy(r => (r.Regime, r.Method)).ToList();
        var scratch = groups.Where(g => g.Key.Method == Scratch).ToDictionary(g => g.Key.Regime, g => g.Average(r => r.Accuracy));
        return [.. groups.Select(g =>
        {
            var (mean, std) = MeanAndStd([.. g.Select(r => r.Accuracy)]);
            double? delta = scratch.TryGetValue(g.Key.Regime, out var s) ? mean - s : null;
            return new ReproductionSummary(g.Key.Regime, g.First().Images, g.Key.Method, g.Count(), mean, std, g.Average(r => r.Ece), delta);
        })];
    }

    /// <summary>The rows as a DataFrame (the columns of <c>results.csv</c>).</summary>
    public static DataFrame ToDataFrame(IReadOnlyList<ReproductionRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return new DataFrame(
            new StringDataFrameColumn("regime", rows.Select(r => r.Regime)),
            new PrimitiveDataFrameColumn<int>("images", rows.Select(r => r.Images)),
            new StringDataFrameColumn("method", rows.Select(r => r.Method)),
            new PrimitiveDataFrameColumn<long>("seed", rows.Select(r => r.Seed)),
            new PrimitiveDataFrameColumn<double>("test_acc", rows.Select(r => r.Accuracy)),
            new PrimitiveDataFrameColumn<double>("test_loss", rows.Select(r => r.Loss)),
            new PrimitiveDataFrameColumn<double>("test_ece", rows.Select(r => r.Ece)),
            new PrimitiveDataFrameColumn<double>("seconds", rows.Select(r => Math.Round(r.Seconds, 2))));
    }

    /// <summary>The summaries as a DataFrame: regime, method, runs, accuracy % (mean and ± sample std), the difference to
    /// the scratch student of the same regime, Welch's t of that difference, and the mean ECE. The teacher's and the
    /// scratch student's rows have no difference or t (NaN).</summary>
    public static DataFrame SummaryTable(IReadOnlyList<ReproductionSummary> summaries)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        bool IsBaseline(ReproductionSummary s) => s.Method is Teacher or Scratch;
        double T(ReproductionSummary s) =>
            IsBaseline(s) || summaries.FirstOrDefault(x => x.Regime == s.Regime && x.Method == Scratch) is not { } scratch ? double.NaN : WelchT(s, scratch);
        return new DataFrame(
            new StringDataFrameColumn("regime", summaries.Select(s => s.Regime)),
            new StringDataFrameColumn("method", summaries.Select(s => s.Method)),
            new PrimitiveDataFrameColumn<int>("runs", summaries.Select(s => s.Runs)),
            new PrimitiveDataFrameColumn<double>("accuracy %", summaries.Select(s => Math.Round(100 * s.MeanAccuracy, 2))),
            new PrimitiveDataFrameColumn<double>("± std", summaries.Select(s => Math.Round(100 * s.StdAccuracy, 2))),
            new PrimitiveDataFrameColumn<double>("Δ vs scratch", summaries.Select(s => IsBaseline(s) || s.DeltaVsScratch is not { } d ? double.NaN : Math.Round(100 * d, 2))),
            new PrimitiveDataFrameColumn<double>("Welch t", summaries.Select(s => Math.Round(T(s), 2))),
            new PrimitiveDataFrameColumn<double>("ECE", summaries.Select(s => Math.Round(s.MeanEce, 4))));
    }

    /// <summary>The settings as lines of text, for the console and the reports.</summary>
    public static IReadOnlyList<string> DescribeSettings(ReproductionSettings s)
    {
        var t = s.Training;
        var lines = new List<string>
        {
            $"student {s.Student}; seeds {string.Join(", ", s.Seeds)}; methods {string.Join(", ", s.Methods.Select(DistillationMethods.Name))}",
            $"T = {s.Method.T.ToString(CultureInfo.InvariantCulture)}, alpha = {s.Method.Alpha.ToString(CultureInfo.InvariantCulture)}, feature weights: " +
                (s.Method.FeatureWeight is { } w ? w.ToString(CultureInfo.InvariantCulture) : "each method's default (" +
                string.Join(", ", s.Methods.Where(m => DistillationMethods.DefaultWeight(m) is not null)
                    .Select(m => $"{DistillationMethods.Name(m)} {DistillationMethods.DefaultWeight(m)!.Value.ToString("0.###", CultureInfo.InvariantCulture)}")) + ")"),
            $"{t.Optimizer} lr {t.LearningRate.ToString(CultureInfo.InvariantCulture)}, {t.Schedule} schedule, batch {t.BatchSize}, weight decay {t.WeightDecay.ToString(CultureInfo.InvariantCulture)}",
            "regimes: " + string.Join("; ", s.Regimes.Select(r => $"{r.Name}: {(r.Images is { } n ? $"{n:N0} images" : "all images")}, {r.Epochs} epochs")),
            $"test set: {(s.TestImages is { } k ? $"a balanced subset of {k:N0} test images" : "all 10,000 test images")}",
        };
        return lines;
    }

    /// <summary>The summary as a Markdown table (regime, method, accuracy mean ± std, mean ECE, delta vs scratch), with
    /// the settings and Hinton's low-data result above it.</summary>
    public static string ToMarkdown(ReproductionReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        md.AppendLine("# Distillation methods on Fashion-MNIST").AppendLine();
        md.AppendLine($"Teacher: {report.TeacherName}. Accuracy is on the test set, mean ± sample standard deviation over " +
                      $"{report.Settings.Seeds.Count} seed(s); Δ is the difference to the student trained from scratch in the same regime.").AppendLine();
        foreach (var line in DescribeSettings(report.Settings)) md.AppendLine($"- {line}");
        md.AppendLine($"- wall time {report.Elapsed.TotalMinutes:F1} min").AppendLine();
        md.AppendLine("| regime | images | method | runs | accuracy (%) | ECE | Δ vs scratch (points) |");
        md.AppendLine("| --- | ---: | --- | ---: | ---: | ---: | ---: |");
        foreach (var s in report.Summaries)
            md.AppendLine($"| {s.Regime} | {s.Images:N0} | {s.Method} | {s.Runs} | {FormatAccuracy(s)} | {s.MeanEce:F4} | {FormatDelta(s)} |");
        md.AppendLine().AppendLine($"> {HintonLowDataNote}");
        return md.ToString();
    }

    /// <summary>The summary as a fixed-width text table for the console.</summary>
    public static string ToText(IReadOnlyList<ReproductionSummary> summaries)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        var text = new StringBuilder();
        text.AppendLine($"{"regime",-14} {"images",7} {"method",-8} {"runs",4} {"accuracy %",15} {"ECE",7} {"Δ vs scratch",13}");
        foreach (var s in summaries)
            text.AppendLine($"{s.Regime,-14} {s.Images,7:N0} {s.Method,-8} {s.Runs,4} {FormatAccuracy(s),15} {s.MeanEce,7:F4} {FormatDelta(s),13}");
        return text.ToString();
    }

    /// <summary><c>84.12 ± 0.35</c> in percent; <c>84.12</c> alone for a single run.</summary>
    public static string FormatAccuracy(ReproductionSummary s) =>
        double.IsNaN(s.StdAccuracy) ? $"{100 * s.MeanAccuracy:F2}" : $"{100 * s.MeanAccuracy:F2} ± {100 * s.StdAccuracy:F2}";

    static string FormatDelta(ReproductionSummary s) =>
        s.DeltaVsScratch is not { } d || s.Method == Scratch ? "" : (d >= 0 ? "+" : "−") + $"{100 * Math.Abs(d):F2}";

    /// <summary>Writes <c>results.csv</c> (one row per run), <c>results.md</c> (the summary table) and <c>results.html</c>
    /// (accuracy bars with error bars, plotly.js embedded for offline use) into <paramref name="directory"/>.</summary>
    public static ReproductionFiles Save(ReproductionReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(directory);
        var files = new ReproductionFiles(Path.Combine(directory, "results.csv"), Path.Combine(directory, "results.md"), Path.Combine(directory, "results.html"));
        DataFrame.SaveCsv(ToDataFrame(report.Rows), files.Csv, cultureInfo: CultureInfo.InvariantCulture);
        File.WriteAllText(files.Markdown, ToMarkdown(report));
        ChartFiles.SaveHtml(ResultCharts.AccuracyBars(report.Summaries, $"Test accuracy, mean ± std over {report.Settings.Seeds.Count} seed(s); teacher {report.TeacherName}"), files.Html);
        return files;
    }

    static ReproductionRow Row(ReproductionRegime regime, int images, string method, long seed, TrainingResult result, Stopwatch clock) =>
        new(regime.Name, images, method, seed, result.Final.Accuracy, result.Final.Loss, result.Final.Ece, clock.Elapsed.TotalSeconds);

    static void Validate(ReproductionSettings s, LabelledImages train)
    {
        if (s.Regimes.Count == 0) throw new ArgumentException("The reproduction needs at least one regime.", nameof(s));
        if (s.Seeds.Count == 0) throw new ArgumentException("The reproduction needs at least one seed.", nameof(s));
        if (s.Seeds.Distinct().Count() != s.Seeds.Count) throw new ArgumentException("The seeds must be distinct.", nameof(s));
        if (s.Methods.Distinct().Count() != s.Methods.Count) throw new ArgumentException("A method is listed twice.", nameof(s));
        if (s.Regimes.Select(r => r.Name).Distinct().Count() != s.Regimes.Count) throw new ArgumentException("Regime names must be distinct.", nameof(s));
        foreach (var r in s.Regimes)
        {
            if (r.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(s), r.Epochs, $"Regime '{r.Name}': epochs must be at least 1.");
            if (r.Images is { } n && (n < FashionMnist.NumClasses || n > train.Count))
                throw new ArgumentOutOfRangeException(nameof(s), n, $"Regime '{r.Name}': {n} images, but the training set has {train.Count}.");
        }
        if (s.TestImages is < FashionMnist.NumClasses) throw new ArgumentOutOfRangeException(nameof(s), s.TestImages, "TestImages must be at least the number of classes.");
        if (s.TeacherEpochs < 1) throw new ArgumentOutOfRangeException(nameof(s), s.TeacherEpochs, "TeacherEpochs must be at least 1.");
        s.Training.Validate();
    }
}
