using System.Globalization;
using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Experiments;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>The experiment table: statistics on hand-made numbers, and a tiny real run with its three files.</summary>
public class ReproductionTests
{
    [Fact]
    public void Mean_and_sample_std_on_hand_made_numbers()
    {
        // 0.80, 0.82, 0.84: mean 0.82, deviations ±0.02 and 0, so the sample variance is (0.0004 + 0 + 0.0004) / 2 = 0.0004.
        var (mean, std) = Reproduction.MeanAndStd([0.80, 0.82, 0.84]);
        Assert.Equal(0.82, mean, 1e-12);
        Assert.Equal(0.02, std, 1e-12);
        // 1, 2, 3, 4: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, over n − 1 = 3.
        (mean, std) = Reproduction.MeanAndStd([1, 2, 3, 4]);
        Assert.Equal(2.5, mean, 1e-12);
        Assert.Equal(Math.Sqrt(5.0 / 3.0), std, 1e-12);
        (mean, std) = Reproduction.MeanAndStd([0.7]);
        Assert.Equal(0.7, mean);
        Assert.True(double.IsNaN(std), "a single run has no sample standard deviation");
        Assert.Throws<ArgumentException>(() => Reproduction.MeanAndStd([]));
    }

    [Fact]
    public void Summaries_group_by_regime_and_method_with_the_delta_to_scratch()
    {
        ReproductionRow Row(string regime, string method, long seed, double acc, double ece) => new(regime, 1000, method, seed, acc, 0.5, ece, 1);
        var rows = new[]
        {
            Row("few", Reproduction.Teacher, -1, 0.90, 0.01),
            Row("few", Reproduction.Scratch, 0, 0.70, 0.10), Row("few", "kd", 0, 0.75, 0.04),
            Row("few", Reproduction.Scratch, 1, 0.72, 0.12), Row("few", "kd", 1, 0.79, 0.06),
            Row("many", Reproduction.Scratch, 0, 0.85, 0.02),
        };
        var s = Reproduction.Summarise(rows);
        Assert.Equal([("few", "teacher"), ("few", "scratch"), ("few", "kd"), ("many", "scratch")], s.Select(x => (x.Regime, x.Method)));
        var kd = s[2];
        Assert.Equal(2, kd.Runs);
        Assert.Equal(0.77, kd.MeanAccuracy, 1e-12);
        Assert.Equal(Math.Sqrt(0.0008), kd.StdAccuracy, 1e-12); // deviations ±0.02 over n − 1 = 1
        Assert.Equal(0.05, kd.MeanEce, 1e-12);
        Assert.Equal(0.77 - 0.71, kd.DeltaVsScratch!.Value, 1e-12);
        Assert.Equal(0.0, s[1].DeltaVsScratch!.Value, 1e-12);
        Assert.Equal("77.00 ± 2.83", Reproduction.FormatAccuracy(kd));
        Assert.Equal("90.00", Reproduction.FormatAccuracy(s[0]));
    }

    [Fact]
    public void Summary_table_gives_differences_and_welch_t_only_to_distilled_students()
    {
        ReproductionRow Row(string method, long seed, double acc) => new("few", 1000, method, seed, acc, 0.5, 0.02, 1);
        var summaries = Reproduction.Summarise([
            Row(Reproduction.Teacher, -1, 0.90),
            Row(Reproduction.Scratch, 0, 0.80), Row(Reproduction.Scratch, 1, 0.82),
            Row("kd", 0, 0.84), Row("kd", 1, 0.85)]);
        var table = Reproduction.SummaryTable(summaries);
        Assert.Equal(["regime", "method", "runs", "accuracy %", "± std", "Δ vs scratch", "Welch t", "ECE"], table.Columns.Select(c => c.Name));
        Assert.Equal(3, table.Rows.Count);
        Assert.True(double.IsNaN((double)table["Δ vs scratch"][0]!) && double.IsNaN((double)table["Welch t"][1]!));
        Assert.Equal(3.5, (double)table["Δ vs scratch"][2]!, 1e-9);
        // t = 0.035 / sqrt(s²/2 + s²/2) with s² = 0.00005 (0.84, 0.85) and 0.0002 (0.80, 0.82).
        Assert.Equal(Math.Round(0.035 / Math.Sqrt(0.00005 / 2 + 0.0002 / 2), 2), (double)table["Welch t"][2]!, 1e-9);
    }

    [Fact]
    public void Students_of_one_seed_start_from_identical_weights()
    {
        var a = Reproduction.NewStudent("cnn-student", 5).parameters().Select(p => p.detach().clone()).ToList();
        manual_seed(123); // whatever ran before must not matter
        var b = Reproduction.NewStudent("cnn-student", 5).parameters().ToList();
        var c = Reproduction.NewStudent("cnn-student", 6).parameters().ToList();
        Assert.All(a.Zip(b), p => Assert.True(p.First.allclose(p.Second, rtol: 0, atol: 0)));
        Assert.False(a.Zip(c).All(p => p.First.allclose(p.Second, rtol: 0, atol: 0)));
    }

    [Fact]
    public void A_tiny_reproduction_gives_one_row_per_run_and_writes_csv_markdown_and_html()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 1000);
        using var test = FashionMnist.Load(Split.Test, limit: 300);
        manual_seed(0);
        var teacher = SmallCnn.Teacher(); // untrained: the table's bookkeeping is under test, not distillation
        var settings = new ReproductionSettings
        {
            Regimes = [new("all labels", 200, 1), new("100 labels", 100, 1)],
            Methods = [DistillationMethod.Kd, DistillationMethod.At],
            Seeds = [0],
            TestImages = 200,
            Training = ReproductionSettings.Quick.Training with { Device = "cpu", BatchSize = 64 },
        };
        var seen = new List<ReproductionRow>();
        var report = Reproduction.Run(teacher, "throwaway teacher", train, test, settings, seen.Add);

        // 2 regimes × (teacher + scratch + 2 methods) × 1 seed.
        Assert.Equal(8, report.Rows.Count);
        Assert.Equal(report.Rows, seen);
        Assert.Equal(["teacher", "scratch", "kd", "at"], report.Rows.Where(r => r.Regime == "all labels").Select(r => r.Method));
        Assert.Equal([1000, 200, 200, 200, 1000, 100, 100, 100], report.Rows.Select(r => r.Images)); // the teacher's row: what it was trained on
        Assert.All(report.Rows, r => Assert.InRange(r.Accuracy, 0, 1));
        Assert.Equal(8, report.Summaries.Count);

        using var dir = new TempDirectory();
        var files = Reproduction.Save(report, dir.Path);
        var csv = File.ReadAllLines(files.Csv);
        Assert.Equal("regime,images,method,seed,test_acc,test_loss,test_ece,seconds", csv[0]);
        Assert.Equal(9, csv.Length);
        Assert.StartsWith("100 labels,100,at,0,", csv[^1]);
        Assert.Equal(report.Rows[^1].Accuracy, double.Parse(csv[^1].Split(',')[4], CultureInfo.InvariantCulture), 1e-6);

        var md = File.ReadAllText(files.Markdown);
        Assert.Contains("| regime | images | method | runs | accuracy (%) | ECE | Δ vs scratch (points) |", md);
        Assert.Contains($"| 100 labels | 100 | kd | 1 | {100 * report.Rows[6].Accuracy:F2} |", md);
        Assert.Contains("57.0%", md); // Hinton et al.'s low-data result is quoted

        var html = File.ReadAllText(files.Html);
        Assert.Contains("<html", html);
        Assert.Contains("all labels", html);
        Assert.Contains("error_y", html);
        Assert.True(html.Length > 1_000_000, "plotly.js is embedded for offline use");
    }

    [Fact]
    public void Evaluating_only_after_the_last_epoch_gives_the_same_run_and_final_result()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 300);
        using var test = FashionMnist.Load(Split.Test, limit: 200);
        var options = new TrainingOptions { Epochs = 3, BatchSize = 50, Device = "cpu", Seed = 1 };
        var every = Trainer.Train(Reproduction.NewStudent("cnn-student", 4), train, test, options);
        var once = Trainer.Train(Reproduction.NewStudent("cnn-student", 4), train, test, options with { EvaluateEveryEpoch = false });
        Assert.Equal(every.History.Select(h => h.TrainLoss), once.History.Select(h => h.TrainLoss));
        Assert.True(double.IsNaN(once.History[0].TestAccuracy) && double.IsNaN(once.History[1].TestEce));
        Assert.Equal(every.History[^1].TestAccuracy, once.History[^1].TestAccuracy);
        Assert.Equal(every.Final.Accuracy, once.Final.Accuracy);
        Assert.Equal(every.Final.Loss, once.Final.Loss);
        Assert.Equal(every.Final.Ece, once.Final.Ece);
        Assert.True(ReproductionSettings.Quick.Training.EvaluateEveryEpoch is false, "the table needs only the final evaluation");
    }

    [Fact]
    public void Retraining_the_teacher_uses_the_settings_epochs_and_subset()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 400);
        using var test = FashionMnist.Load(Split.Test, limit: 100);
        var epochs = new List<int>();
        var settings = new ReproductionSettings { TeacherEpochs = 2, TeacherImages = 200, Training = ReproductionSettings.Quick.Training with { Device = "cpu" } };
        var teacher = Reproduction.TrainTeacher("cnn-teacher", train, test, settings,
            new TrainingCallbacks { Progress = p => { if (p.Completed is { } r) epochs.Add(r.Epoch); } });
        Assert.IsType<SmallCnn>(teacher);
        Assert.False(teacher.training, "the teacher comes back in evaluation mode");
        Assert.Equal([1, 2], epochs);
    }

    [Fact]
    public void Invalid_settings_fail_before_any_training()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 100);
        using var test = FashionMnist.Load(Split.Test, limit: 100);
        var teacher = SmallCnn.Teacher();
        var e = Assert.ThrowsAny<ArgumentException>(() => Reproduction.Run(teacher, "t", train, test,
            new ReproductionSettings { Regimes = [new("too many", 5000, 1)] }));
        Assert.Contains("too many", e.Message);
        Assert.ThrowsAny<ArgumentException>(() => Reproduction.Run(teacher, "t", train, test, new ReproductionSettings { Seeds = [] }));
        Assert.ThrowsAny<ArgumentException>(() => Reproduction.Run(teacher, "t", train, test, new ReproductionSettings { Seeds = [1, 1] }));
    }

    [Fact]
    public void Welch_t_is_the_difference_of_means_over_its_standard_error()
    {
        var a = MeanStd.Of([84.0, 84.5, 85.0]);   // mean 84.5, std 0.5
        var b = MeanStd.Of([82.0, 83.0, 84.0]);   // mean 83, std 1
        double expected = 1.5 / Math.Sqrt(0.25 / 3 + 1.0 / 3);
        Assert.Equal(expected, a.WelchT(b), 12);
        Assert.Equal(-expected, b.WelchT(a), 12);
        Assert.True(double.IsNaN(MeanStd.Of([84.0]).WelchT(b)));
        var rowA = new ReproductionSummary("r", 1000, "kd", 3, 0.845, 0.005, 0.05, null);
        var rowB = new ReproductionSummary("r", 1000, "scratch", 3, 0.83, 0.01, 0.05, null);
        Assert.Equal(expected, Reproduction.WelchT(rowA, rowB), 9);
    }
}
