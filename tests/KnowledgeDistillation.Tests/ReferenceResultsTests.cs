using KnowledgeDistillation.Charts;
using KnowledgeDistillation.Experiments;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Tests;

/// <summary>Notebook 09's comparison figures: the quoted anchors, the recorded tables of notebooks 04–06, and how this
/// run is lined up with them.</summary>
public class ReferenceResultsTests
{
    [Fact]
    public void Hinton_mnist_anchor_closes_91_percent_of_the_gap_as_the_paper_counts_errors()
    {
        // Section 3: 67 errors (teacher), 146 (student alone), 74 (distilled), of 10,000 test images.
        var mnist = ReferenceResults.Published.Single(p => p.Dataset.StartsWith("MNIST", StringComparison.Ordinal));
        Assert.Equal(100 - 0.67, mnist.Teacher, 1e-9);
        Assert.Equal(100 - 1.46, mnist.Scratch, 1e-9);
        Assert.Equal(100 - 0.74, mnist.Distilled, 1e-9);
        Assert.Equal((146.0 - 74) / (146 - 67), mnist.GapClosed, 1e-9);
        Assert.Equal(0.72, mnist.Gain, 1e-9);
    }

    [Fact]
    public void Published_anchors_are_named_sourced_and_use_this_librarys_method_names()
    {
        var published = ReferenceResults.Published;
        Assert.Contains(published, p => p.Source.Contains("PyTorch", StringComparison.Ordinal) && p.Teacher == 75.10 && p.Scratch == 69.86 && p.Distilled == 70.80);
        Assert.Contains(published, p => p.Dataset.Contains("3%", StringComparison.Ordinal) && p.Scratch == 44.5 && p.Distilled == 57.0);
        Assert.Equal(12, published.Count(p => p.Source.StartsWith("RepDistiller", StringComparison.Ordinal))); // 2 pairs × 6 methods
        Assert.All(published, p =>
        {
            Assert.True(DistillationMethods.TryParse(p.Method, out _), $"{p.Method} is not a method of the library");
            Assert.False(string.IsNullOrWhiteSpace(p.Citation));
            Assert.True(p.Teacher > p.Scratch, $"{p.Source} {p.Pair}: the teacher beats the student");
            Assert.InRange(p.Distilled, 0, 100);
        });
        // RepDistiller's resnet32x4 → resnet8x4 RKD student is below its baseline: a negative share must survive.
        var rkd = published.Single(p => p.Pair.StartsWith("resnet32x4", StringComparison.Ordinal) && p.Method == "rkd");
        Assert.True(rkd.GapClosed < 0);
        Assert.True(double.IsNaN(ReferenceResults.GapClosed(70, 70, 71)), "no gap, no share");
    }

    [Fact]
    public void The_shipped_earlier_notebook_tables_load_and_each_has_its_scratch_baseline()
    {
        var recorded = ReferenceResults.LoadRecorded();
        Assert.Contains(recorded, r => r.Notebook.StartsWith("04", StringComparison.Ordinal));
        Assert.Contains(recorded, r => r.Notebook.StartsWith("05", StringComparison.Ordinal));
        Assert.All(recorded, r =>
        {
            Assert.True(r.Method == Reproduction.Scratch || DistillationMethods.TryParse(r.Method, out _), $"unknown method {r.Method}");
            Assert.InRange(r.Mean, 50, 100);
            Assert.InRange(r.Std, 0, 5);
            Assert.True(r.Runs >= 1 && r.Epochs >= 1 && r.Images >= 10);
            Assert.Contains(recorded, s => s.Notebook == r.Notebook && s.Images == r.Images && s.Method == Reproduction.Scratch);
        });
        var kd = recorded.Single(r => r.Notebook.StartsWith("05", StringComparison.Ordinal) && r.Images == 1000 && r.Method == "kd");
        Assert.Equal(84.50, kd.Mean, 1e-9);
        Assert.Equal("Adam lr 0.005, cosine schedule, batch 128", kd.Settings);
    }

    [Fact]
    public void Notebooks_that_ran_the_same_table_recorded_the_same_figures()
    {
        // Notebooks 05 and 06 run the same code on the same teacher, subsets and seeds; their shared methods must agree.
        var recorded = ReferenceResults.LoadRecorded();
        var pairs = recorded.Where(r => r.Notebook.StartsWith("05", StringComparison.Ordinal))
            .Join(recorded.Where(r => r.Notebook.StartsWith("06", StringComparison.Ordinal)), a => (a.Images, a.Method), b => (b.Images, b.Method), (a, b) => (a, b))
            .ToList();
        Assert.Equal(10, pairs.Count); // scratch, kd, fitnet, at and cosine, with 5,000 and with 1,000 labels
        foreach (var (a, b) in pairs)
        {
            Assert.Equal(a.Mean, b.Mean, 0.011);
            Assert.Equal(a.Std, b.Std, 0.011);
        }
    }

    [Fact]
    public void Loading_a_damaged_file_names_the_problem()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "r.csv");
        Assert.Throws<FileNotFoundException>(() => ReferenceResults.LoadRecorded(path));

        File.WriteAllText(path, "notebook,regime\n");
        Assert.Contains("header", Assert.Throws<FormatException>(() => ReferenceResults.LoadRecorded(path)).Message);

        const string header = "notebook,regime,images,epochs,method,runs,mean,std,teacher,teacher_accuracy,test_images,settings,recorded\n";
        File.WriteAllText(path, header + "05,\"1,000 labels\",1000,30,kd,3,84.5,0.18,t,92.96,10000,\"Adam, cosine\",2026-11-29\n05,x,1000,30,kd\n");
        var e = Assert.Throws<FormatException>(() => ReferenceResults.LoadRecorded(path));
        Assert.Contains("data line 2 has 5 fields", e.Message);

        File.WriteAllText(path, header + "05,x,lots,30,kd,3,84.5,0.18,t,92.96,10000,s,d\n");
        Assert.Contains("data line 1", Assert.Throws<FormatException>(() => ReferenceResults.LoadRecorded(path)).Message);

        File.WriteAllText(path, header + "# a comment\n05,\"1,000 labels\",1000,30,kd,3,84.5,0.18,t,92.96,10000,\"Adam, \"\"cosine\"\"\",2026-11-29\n");
        var row = Assert.Single(ReferenceResults.LoadRecorded(path));
        Assert.Equal("1,000 labels", row.Regime);
        Assert.Equal("Adam, \"cosine\"", row.Settings);
    }

    static ReproductionSummary Summary(string regime, int images, string method, double mean, double std) =>
        new(regime, images, method, 3, mean, std, 0.05, null);

    static RecordedResult Recorded(string notebook, int images, string method, double mean, double std) =>
        new(notebook, $"{images} labels", images, 10, method, 3, mean, std, "t", 92, 10000, "s", "d");

    [Fact]
    public void This_run_is_matched_by_method_and_labelled_images_as_differences_to_each_tables_own_scratch()
    {
        var ours = new[]
        {
            Summary("few", 1000, Reproduction.Teacher, 0.90, double.NaN),
            Summary("few", 1000, Reproduction.Scratch, 0.80, 0.002),
            Summary("few", 1000, "kd", 0.83, 0.002),      // +3 points, t = 0.03 / sqrt(2 · 0.000004 / 3) ≈ 18
            Summary("few", 1000, "at", 0.801, 0.004),     // +0.1 point, within noise
            Summary("many", 5000, Reproduction.Scratch, 0.86, 0.002),
            Summary("many", 5000, "kd", 0.87, 0.002),
        };
        var recorded = new[]
        {
            Recorded("05", 1000, Reproduction.Scratch, 82.0, 0.3), Recorded("05", 1000, "kd", 84.0, 0.2), Recorded("05", 1000, "at", 80.0, 0.3),
            Recorded("04", 1000, Reproduction.Scratch, 79.0, 0.4), Recorded("04", 1000, "kd", 81.0, 0.3),
            Recorded("04", 500, "kd", 79.0, 0.1),   // no scratch row with 500 images in 04: skipped
        };
        var c = ReferenceResults.CompareWithRecorded(ours, recorded);
        Assert.Equal([("kd", "05"), ("kd", "04"), ("at", "05")], c.Select(x => (x.Method, x.Notebook)));
        Assert.Equal(3.0, c[0].Delta, 1e-9);
        Assert.Equal(2.0, c[0].RecordedDelta, 1e-9);
        Assert.Equal(2.0 / Math.Sqrt((0.04 + 0.09) / 3), c[0].RecordedWelchT, 1e-9);
        Assert.Equal("both help", c[0].Agreement);
        Assert.Equal(-2.0, c[2].RecordedDelta, 1e-9);
        Assert.Equal("one within noise", c[2].Agreement);

        Assert.Equal("better", c[0].Verdict);
        Assert.Equal("not distinguishable", c[2].Verdict);
        Assert.Equal("worse", c[2].RecordedVerdict);   // 80.0 ± 0.3 vs 82.0 ± 0.3: t ≈ −8.2, p < 0.01 even after Holm over 2
        Assert.Equal("opposite", ReferenceResults.Agreement("better", "worse"));
        Assert.Equal("both hurt", ReferenceResults.Agreement("worse", "worse"));
        Assert.Equal("both within noise", ReferenceResults.Agreement("not distinguishable", "cannot be judged"));
        Assert.Equal(8, ReferenceResults.ComparisonTable(c).Columns.Count);
    }

    [Fact]
    public void Gap_points_of_a_run_use_the_teacher_and_scratch_of_their_own_regime()
    {
        ReproductionRow Row(string regime, string method, long seed, double acc) => new(regime, 1000, method, seed, acc, 0.4, 0.03, 2);
        var report = new ReproductionReport(new ReproductionSettings(), "t", [
            Row("a", Reproduction.Teacher, -1, 0.90), Row("a", Reproduction.Scratch, 0, 0.80), Row("a", "kd", 0, 0.85), Row("a", "at", 0, 0.78),
            Row("b", Reproduction.Teacher, -1, 0.90), Row("b", Reproduction.Scratch, 0, 0.70), Row("b", "kd", 0, 0.75),
        ], TimeSpan.Zero);
        var points = ReferenceResults.GapPoints(report, "here");
        Assert.Equal(["here · a · kd", "here · a · at", "here · b · kd"], points.Select(p => p.Label));
        Assert.Equal(0.5, points[0].GapClosed, 1e-9);
        Assert.Equal(-0.2, points[1].GapClosed, 1e-9);
        Assert.Equal(0.25, points[2].GapClosed, 1e-9);
        Assert.Equal(5.0, points[0].Gain, 1e-9);
        Assert.All(points, p => Assert.True(p.Measured));
        Assert.Single(ReferenceResults.GapPoints(report, "here", ["at"]));

        var quoted = ReferenceResults.GapPoints(ReferenceResults.Published);
        Assert.All(quoted, p => Assert.False(p.Measured));
        Assert.Contains(quoted, p => p.Label == "Hinton 2015 · MNIST · kd");
        Assert.Contains(quoted, p => p.Label == "RepDistiller · resnet56→resnet20 · pkt");
        var html = ChartFiles.ToHtml(ResultCharts.GapClosed([.. points, .. quoted]), embedPlotlyJs: false);
        Assert.Contains("measured here", html);
        Assert.Contains("quoted", html);
        Assert.Contains("here · a · at", html);
        Assert.Throws<ArgumentException>(() => ResultCharts.GapClosed([new GapPoint("x", 0, double.NaN, true)]));
        Assert.Equal(10, ReferenceResults.PublishedTable().Columns.Count);
    }

    [Fact]
    public void The_comparison_chart_has_this_run_and_each_earlier_notebook()
    {
        var rows = new[]
        {
            new DeltaComparison("few", 1000, "kd", 2.5, 9, "05-feature-based-distillation", 2.16, 10, "better", "better"),
            new DeltaComparison("few", 1000, "kd", 2.5, 9, "04-response-based-distillation", 1.33, 4.4, "better", "better"),
            new DeltaComparison("many", 5000, "at", -0.3, -1, "05-feature-based-distillation", -0.6, -3, "not distinguishable", "worse"),
        };
        var html = ChartFiles.ToHtml(ResultCharts.DeltaComparison(rows), embedPlotlyJs: false);
        Assert.Contains("this run", html);
        Assert.Contains("notebook 05-feature-based-distillation (recorded)", html);
        Assert.Contains("notebook 04-response-based-distillation (recorded)", html);
        Assert.Throws<ArgumentException>(() => ResultCharts.DeltaComparison([]));
    }
}
