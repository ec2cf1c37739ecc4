using System.Globalization;
using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Runtime;
using Microsoft.Data.Analysis;

namespace KnowledgeDistillation.Experiments;

/// <summary>A result from a paper or a tutorial: a teacher, the student trained without it, and the student distilled
/// with one method, as accuracies in percent. These figures are quoted, not measured by this project.</summary>
/// <param name="Source">Who published it, for example <c>Hinton et al. 2015</c>.</param>
/// <param name="Citation">Where exactly: paper, section or table, or page.</param>
/// <param name="Dataset">The dataset and the metric, for example <c>MNIST (test accuracy)</c>.</param>
/// <param name="Pair">Teacher → student.</param>
/// <param name="Method">The method in this library's names (<see cref="Training.DistillationMethods.Names"/>).</param>
/// <param name="Teacher">The teacher's accuracy, percent.</param>
/// <param name="Scratch">The student's accuracy without the teacher, percent.</param>
/// <param name="Distilled">The distilled student's accuracy, percent.</param>
/// <param name="Short">A short name of the source and setting for chart labels, for example <c>Hinton 2015 · MNIST</c>.</param>
public sealed record PublishedResult(string Source, string Citation, string Dataset, string Pair, string Method,
    double Teacher, double Scratch, double Distilled, string Short)
{
    /// <summary>The distilled student's accuracy minus the scratch student's, in points.</summary>
    public double Gain => Distilled - Scratch;

    /// <summary>The share of the teacher–student gap that distillation closed: gain / (teacher − scratch). It puts
    /// results of different datasets on one scale. NaN when the teacher is not better than the scratch student.</summary>
    public double GapClosed => ReferenceResults.GapClosed(Teacher, Scratch, Distilled);
}

/// <summary>A row of a table that one of this project's notebooks printed in a full run, recorded in
/// <c>datasets/reference-results/earlier-notebooks.csv</c>. These figures were measured by this project.</summary>
/// <param name="Notebook">The notebook, for example <c>05-feature-based-distillation</c>.</param>
/// <param name="Regime">The regime's name in that notebook's table, for example <c>1,000 labels</c>.</param>
/// <param name="Images">Labelled training images the students saw.</param>
/// <param name="Epochs">Epochs of each student run.</param>
/// <param name="Method"><see cref="Reproduction.Scratch"/> or a method's name.</param>
/// <param name="Runs">Seeds.</param>
/// <param name="Mean">Mean test accuracy, percent.</param>
/// <param name="Std">Sample standard deviation over the seeds, percent points.</param>
/// <param name="Teacher">The teacher, for example <c>cnn-teacher (pretrained)</c>.</param>
/// <param name="TeacherAccuracy">The teacher's test accuracy, percent.</param>
/// <param name="TestImages">Test images of the evaluation.</param>
/// <param name="Settings">Optimiser and schedule, as the notebook states them.</param>
/// <param name="Recorded">The date of the run.</param>
public sealed record RecordedResult(string Notebook, string Regime, int Images, int Epochs, string Method, int Runs,
    double Mean, double Std, string Teacher, double TeacherAccuracy, int TestImages, string Settings, string Recorded);

/// <summary>One method in one regime: this run's difference to the scratch student next to an earlier notebook's.</summary>
/// <param name="Regime">The regime (matched by the number of labelled images).</param>
/// <param name="Images">Labelled training images.</param>
/// <param name="Method">The method.</param>
/// <param name="Delta">This run: mean accuracy minus the scratch student's, in points.</param>
/// <param name="WelchT">This run: Welch's t of that difference (NaN for single runs).</param>
/// <param name="Notebook">The earlier notebook.</param>
/// <param name="RecordedDelta">The earlier notebook's difference, in points.</param>
/// <param name="RecordedWelchT">The earlier notebook's Welch t.</param>
/// <param name="Verdict">This run's verdict for the method by the library's one rule (<see cref="Significance"/>: Welch's
/// test, Holm-corrected over the regime's methods, 5 %): "better", "worse", "not distinguishable" or "cannot be judged".</param>
/// <param name="RecordedVerdict">The same rule applied to the earlier notebook's table.</param>
public sealed record DeltaComparison(string Regime, int Images, string Method, double Delta, double WelchT, string Notebook,
    double RecordedDelta, double RecordedWelchT, string Verdict, string RecordedVerdict)
{
    /// <summary>How the two verdicts relate: <c>both help</c> and <c>both hurt</c> (the same clear direction),
    /// <c>opposite</c> (clear, opposite directions), <c>both within noise</c>, or <c>one within noise</c>.</summary>
    public string Agreement => ReferenceResults.Agreement(Verdict, RecordedVerdict);
}

/// <summary>One bar of <see cref="ResultCharts.GapClosed"/>: a distilled student's gain and the share of the
/// teacher–student gap it closed.</summary>
/// <param name="Label">For example <c>Hinton 2015 · MNIST · kd</c>.</param>
/// <param name="Gain">Distilled minus scratch, in points.</param>
/// <param name="GapClosed">Gain / (teacher − scratch); NaN when the teacher is not better.</param>
/// <param name="Measured">True for this project's measurements, false for quoted figures.</param>
public sealed record GapPoint(string Label, double Gain, double GapClosed, bool Measured);

/// <summary>
/// The figures that notebook 09 compares its table with: what papers and the PyTorch tutorial published (quoted), and
/// what this project's notebooks 04–06 printed in their full runs (measured here).
/// </summary>
/// <remarks>Published figures are copied from their sources as printed; each <see cref="PublishedResult"/> names where.
/// None of them is on Fashion-MNIST, and each uses other models, so compare gains and the share of the gap closed,
/// not accuracies.</remarks>
public static class ReferenceResults
{
    const string Hinton = "Hinton, Vinyals and Dean 2015";
    const string HintonPaper = "Distilling the Knowledge in a Neural Network, arXiv:1503.02531";
    const string Tutorial = "PyTorch KD tutorial";
    const string TutorialPage = "Chariton, Knowledge Distillation Tutorial, pytorch.org/tutorials (beginner/knowledge_distillation_tutorial), the page's printed results (they come from the page's own build run)";
    const string RepDistiller = "RepDistiller (Tian et al. 2020)";
    const string RepDistillerTable = "Tian, Krishnan and Isola, Contrastive Representation Distillation, ICLR 2020, table 1; github.com/HobbitLong/RepDistiller README";

    /// <summary>The file of the earlier notebooks' full-run tables, relative to the repository root.</summary>
    public static readonly string RecordedFile = Path.Combine("datasets", "reference-results", "earlier-notebooks.csv");

    /// <summary>The published anchors: Hinton et al.'s MNIST and speech results, the PyTorch tutorial's CIFAR-10 table and
    /// RepDistiller's CIFAR-100 table for two ResNet pairs and the methods this library has.</summary>
    public static IReadOnlyList<PublishedResult> Published { get; } = BuildPublished();

    static List<PublishedResult> BuildPublished()
    {
        var list = new List<PublishedResult>
        {
            // Section 3: 67 test errors (teacher), 146 (student alone), 74 (student matching soft targets at T = 20), of 10,000.
            new(Hinton, HintonPaper + ", section 3 (67, 146 and 74 test errors of 10,000)", "MNIST (test accuracy)",
                "1200-1200 MLP with dropout and jitter → 800-800 MLP, T = 20", "kd", 99.33, 98.54, 99.26, "Hinton 2015 · MNIST"),
            // Table 1: frame accuracy of the baseline acoustic model, a 10-model ensemble, and one model distilled from it.
            new(Hinton, HintonPaper + ", table 1", "speech (test frame accuracy)",
                "ensemble of 10 acoustic models → 1 model", "kd", 61.1, 58.9, 60.8, "Hinton 2015 · speech"),
            // Table 5: the student sees 3% of the data; the soft targets come from the baseline trained on all of it.
            new(Hinton, HintonPaper + ", section 6, table 5", "speech, 3% of the data (test frame accuracy)",
                "baseline on 100% → model on 3%", "kd", 58.9, 44.5, 57.0, "Hinton 2015 · speech, 3% of data"),
            new(Tutorial, TutorialPage, "CIFAR-10 (test accuracy)", "DeepNN (4 conv) → LightNN (2 conv), T = 2", "kd", 75.10, 69.86, 70.80, "PyTorch tutorial · CIFAR-10"),
        };
        // RepDistiller, table 1 (teacher and student of the same kind), the two ResNet pairs, the methods we have.
        (string Pair, double Teacher, double Student, (string Method, double Accuracy)[] Methods)[] pairs =
        [
            ("resnet56 → resnet20", 72.34, 69.06, [("kd", 70.66), ("fitnet", 69.21), ("at", 70.55), ("sp", 69.67), ("rkd", 69.61), ("pkt", 70.34)]),
            ("resnet32x4 → resnet8x4", 79.42, 72.50, [("kd", 73.33), ("fitnet", 73.50), ("at", 73.44), ("sp", 72.94), ("rkd", 71.90), ("pkt", 73.64)]),
        ];
        foreach (var (pair, teacher, student, methods) in pairs)
            list.AddRange(methods.Select(m => new PublishedResult(RepDistiller, RepDistillerTable, "CIFAR-100 (test accuracy)", pair, m.Method, teacher, student, m.Accuracy,
                $"RepDistiller · {pair.Replace(" → ", "→", StringComparison.Ordinal)}")));
        return list;
    }

    /// <summary>(distilled − scratch) / (teacher − scratch); NaN when the teacher is not better than the scratch student.</summary>
    public static double GapClosed(double teacher, double scratch, double distilled) =>
        teacher > scratch ? (distilled - scratch) / (teacher - scratch) : double.NaN;

    /// <summary>Reads the earlier notebooks' full-run tables from <paramref name="path"/> (default: <see cref="RecordedFile"/>
    /// in the repository).</summary>
    /// <exception cref="FileNotFoundException">The file is missing.</exception>
    /// <exception cref="FormatException">A line does not have the expected columns or numbers; the message names the line.</exception>
    public static IReadOnlyList<RecordedResult> LoadRecorded(string? path = null)
    {
        path ??= Path.Combine(RepoPaths.Root ?? Directory.GetCurrentDirectory(), RecordedFile);
        if (!File.Exists(path))
            throw new FileNotFoundException($"The earlier notebooks' results are not at {path}; they ship with the repository in {RecordedFile}.", path);
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        string[] header = ["notebook", "regime", "images", "epochs", "method", "runs", "mean", "std", "teacher", "teacher_accuracy", "test_images", "settings", "recorded"];
        if (lines.Count == 0 || !SplitCsv(lines[0]).SequenceEqual(header))
            throw new FormatException($"{path}: the first line must be the header {string.Join(",", header)}.");
        var rows = new List<RecordedResult>();
        for (int i = 1; i < lines.Count; i++)
        {
            var f = SplitCsv(lines[i]);
            if (f.Count != header.Length)
                throw new FormatException($"{path}: data line {i} has {f.Count} fields, expected {header.Length}: {lines[i]}");
            try
            {
                rows.Add(new RecordedResult(f[0], f[1], Int(f[2]), Int(f[3]), f[4], Int(f[5]), Num(f[6]), Num(f[7]), f[8], Num(f[9]), Int(f[10]), f[11], f[12]));
            }
            catch (FormatException e)
            {
                throw new FormatException($"{path}: data line {i}: {e.Message} ({lines[i]})", e);
            }
        }
        return rows;

        static int Int(string s) => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture);
        static double Num(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>Splits one CSV line; fields may be quoted with <c>"</c> (a doubled quote inside stands for one).</summary>
    static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { current.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else current.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(current.ToString()); current.Clear(); }
            else current.Append(c);
        }
        fields.Add(current.ToString());
        return fields;
    }

    /// <summary>
    /// Lines up this run's methods with the earlier notebooks' rows of the same method and the same number of labelled
    /// images, as differences to each table's own scratch student (the settings differ, so absolute accuracies do not
    /// compare, but the sign and size of a method's effect should).
    /// </summary>
    /// <param name="summaries">This run's summaries (<see cref="Reproduction.Summarise"/>).</param>
    /// <param name="recorded">The earlier notebooks' rows (<see cref="LoadRecorded"/>).</param>
    public static IReadOnlyList<DeltaComparison> CompareWithRecorded(IReadOnlyList<ReproductionSummary> summaries, IReadOnlyList<RecordedResult> recorded)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        ArgumentNullException.ThrowIfNull(recorded);
        var result = new List<DeltaComparison>();
        var verdicts = summaries.Where(s => s.Method == Reproduction.Scratch).Select(s => s.Regime).Distinct()
            .SelectMany(regime => Reproduction.CompareWithScratch(summaries, regime).Select(c => (Key: (regime, c.Name), c.Verdict)))
            .ToDictionary(x => x.Key, x => x.Verdict);
        // Each earlier table against its own scratch student, by the same rule (tables without a scratch row are skipped).
        var recordedComparisons = new Dictionary<(string Notebook, int Images, string Method), Comparison>();
        foreach (var table in recorded.GroupBy(r => (r.Notebook, r.Images)))
        {
            if (table.FirstOrDefault(r => r.Method == Reproduction.Scratch) is not { } baseline) continue;
            var methods = table.Where(r => r.Method is not (Reproduction.Scratch or Reproduction.Teacher)).Select(r => (r.Method, new MeanStd(r.Mean, r.Std, r.Runs))).ToList();
            foreach (var c in Significance.CompareAll(methods, new MeanStd(baseline.Mean, baseline.Std, baseline.Runs)))
                recordedComparisons[(table.Key.Notebook, table.Key.Images, c.Name)] = c;
        }
        foreach (var s in summaries.Where(s => s.Method is not (Reproduction.Teacher or Reproduction.Scratch)))
        {
            var scratch = summaries.FirstOrDefault(x => x.Regime == s.Regime && x.Method == Reproduction.Scratch);
            if (scratch is null) continue;
            double delta = 100 * (s.MeanAccuracy - scratch.MeanAccuracy);
            double t = Reproduction.WelchT(s, scratch);
            foreach (var r in recorded.Where(r => r.Method == s.Method && r.Images == s.Images))
            {
                if (!recordedComparisons.TryGetValue((r.Notebook, r.Images, r.Method), out var earlier)) continue;
                result.Add(new DeltaComparison(s.Regime, s.Images, s.Method, delta, t, r.Notebook, earlier.Test.Difference, earlier.Test.T,
                    verdicts[(s.Regime, s.Method)], earlier.Verdict));
            }
        }
        return result;
    }

    /// <summary>How two verdicts of <see cref="Significance.Verdict"/> relate. See <see cref="DeltaComparison.Agreement"/>.</summary>
    public static string Agreement(string verdict1, string verdict2)
    {
        static bool Clear(string v) => v is "better" or "worse";
        if (Clear(verdict1) && Clear(verdict2)) return verdict1 != verdict2 ? "opposite" : verdict1 == "better" ? "both help" : "both hurt";
        if (!Clear(verdict1) && !Clear(verdict2)) return "both within noise";
        return "one within noise";
    }

    /// <summary>The published results as <see cref="GapPoint"/>s (quoted).</summary>
    public static IReadOnlyList<GapPoint> GapPoints(IReadOnlyList<PublishedResult> published)
    {
        ArgumentNullException.ThrowIfNull(published);
        return [.. published.Select(p => new GapPoint($"{p.Short} · {p.Method}", p.Gain, p.GapClosed, Measured: false))];
    }

    /// <summary>This run's methods as <see cref="GapPoint"/>s (measured): per regime, each method's mean accuracy against
    /// the scratch student's and the teacher's.</summary>
    /// <param name="report">A finished table.</param>
    /// <param name="label">What to call it in the labels, for example <c>this run, cnn-teacher</c>.</param>
    /// <param name="methods">Only these methods (all when null).</param>
    public static IReadOnlyList<GapPoint> GapPoints(ReproductionReport report, string label, IReadOnlyCollection<string>? methods = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        var summaries = report.Summaries;
        var points = new List<GapPoint>();
        foreach (var regime in summaries.Select(s => s.Regime).Distinct())
        {
            var teacher = summaries.FirstOrDefault(s => s.Regime == regime && s.Method == Reproduction.Teacher);
            var scratch = summaries.FirstOrDefault(s => s.Regime == regime && s.Method == Reproduction.Scratch);
            if (teacher is null || scratch is null) continue;
            foreach (var s in summaries.Where(s => s.Regime == regime && s.Method is not (Reproduction.Teacher or Reproduction.Scratch)))
            {
                if (methods is not null && !methods.Contains(s.Method)) continue;
                points.Add(new GapPoint($"{label} · {regime} · {s.Method}", 100 * (s.MeanAccuracy - scratch.MeanAccuracy),
                    GapClosed(teacher.MeanAccuracy, scratch.MeanAccuracy, s.MeanAccuracy), Measured: true));
            }
        }
        return points;
    }

    /// <summary>The published anchors as a DataFrame: source, dataset, pair, method, teacher, scratch, distilled, gain
    /// and share of the gap closed (percent), and where each figure is printed.</summary>
    public static DataFrame PublishedTable(IReadOnlyList<PublishedResult>? rows = null)
    {
        rows ??= Published;
        return new DataFrame(
            new StringDataFrameColumn("source (quoted)", rows.Select(r => r.Source)),
            new StringDataFrameColumn("dataset", rows.Select(r => r.Dataset)),
            new StringDataFrameColumn("teacher → student", rows.Select(r => r.Pair)),
            new StringDataFrameColumn("method", rows.Select(r => r.Method)),
            new PrimitiveDataFrameColumn<double>("teacher %", rows.Select(r => r.Teacher)),
            new PrimitiveDataFrameColumn<double>("scratch %", rows.Select(r => r.Scratch)),
            new PrimitiveDataFrameColumn<double>("distilled %", rows.Select(r => r.Distilled)),
            new PrimitiveDataFrameColumn<double>("gain (points)", rows.Select(r => Math.Round(r.Gain, 2))),
            new PrimitiveDataFrameColumn<double>("gap closed %", rows.Select(r => Math.Round(100 * r.GapClosed, 1))),
            new StringDataFrameColumn("where", rows.Select(r => r.Citation)));
    }

    /// <summary>The comparisons as a DataFrame.</summary>
    public static DataFrame ComparisonTable(IReadOnlyList<DeltaComparison> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return new DataFrame(
            new StringDataFrameColumn("regime", rows.Select(r => r.Regime)),
            new StringDataFrameColumn("method", rows.Select(r => r.Method)),
            new PrimitiveDataFrameColumn<double>("Δ this run", rows.Select(r => Math.Round(r.Delta, 2))),
            new PrimitiveDataFrameColumn<double>("t this run", rows.Select(r => Math.Round(r.WelchT, 2))),
            new StringDataFrameColumn("earlier notebook", rows.Select(r => r.Notebook)),
            new PrimitiveDataFrameColumn<double>("Δ recorded", rows.Select(r => Math.Round(r.RecordedDelta, 2))),
            new PrimitiveDataFrameColumn<double>("t recorded", rows.Select(r => Math.Round(r.RecordedWelchT, 2))),
            new StringDataFrameColumn("agreement", rows.Select(r => r.Agreement)));
    }
}
