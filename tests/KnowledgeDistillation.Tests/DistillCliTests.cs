using System.Diagnostics;
using System.Text.Json;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>A throwaway cnn-teacher in a temporary folder, trained for one epoch on 500 images, shared by the tests.</summary>
public sealed class ThrowawayTeacher : IDisposable
{
    readonly TempDirectory dir = new();

    public ThrowawayTeacher()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 500);
        using var test = FashionMnist.Load(Split.Test, limit: 200);
        manual_seed(0);
        var teacher = ModelZoo.Create("cnn-teacher");
        var options = new TrainingOptions { Epochs = 1, BatchSize = 64, Device = "cpu" };
        var result = Trainer.Train(teacher, train, test, options);
        Manifest = Pretrained.Save(teacher, new ModelManifest("cnn-teacher", "cnn-teacher", "test fixture", 0, 1, result.Final.Accuracy,
            result.Final.Loss, result.Final.Ece, ModelSize.ParameterCount(teacher), "", "test", 0), dir.Path);
    }

    public string Directory => dir.Path;

    public ModelManifest Manifest { get; }

    public void Dispose() => dir.Dispose();
}

/// <summary><c>kd distill</c> and <c>kd reproduce</c>, run as a user would, against a throwaway teacher.</summary>
public class DistillCliTests(ThrowawayTeacher teacher) : IClassFixture<ThrowawayTeacher>
{
    static (int ExitCode, string Output) Kd(params string[] args) => KdProcess.Run(TimeSpan.FromMinutes(5), args);

    [Fact]
    public void Distill_with_an_unknown_method_is_a_usage_error_that_lists_the_methods()
    {
        var (code, output) = Kd("distill", "--method", "nope");
        Assert.Equal(2, code);
        Assert.Contains("Unknown method 'nope'", output);
        Assert.Contains("kd, logits, fitnet, at, cosine, rkd, sp, pkt, kd+rkd", output);
    }

    [Fact]
    public void Distill_help_lists_every_option()
    {
        var (code, output) = Kd("distill", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--method", "--teacher", "--teacher-dir", "--student", "--T", "--alpha", "--weight", "--epochs", "--batch-size",
                     "--lr", "--optimizer", "--schedule", "--seed", "--device", "--subset", "--precision", "--out", "--no-cache" })
            Assert.Contains(option + " ", output);
    }

    [Fact]
    public void Reproduce_help_lists_its_options()
    {
        var (code, output) = Kd("reproduce", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--quick", "--retrain-teacher", "--out", "--seeds", "--device", "--teacher-dir", "--methods" })
            Assert.Contains(option + " ", output);
    }

    [Theory]
    [InlineData("--alpha", "1.5", "--alpha must be in [0, 1]")]
    [InlineData("--T", "0", "--T must be a finite number > 0")]
    [InlineData("--student", "nope", "Unknown model 'nope'")]
    [InlineData("--precision", "float16", "float16")]
    public void Distill_rejects_bad_values_with_exit_code_2(string option, string value, string message)
    {
        var (code, output) = Kd("distill", option, value);
        Assert.Equal(2, code);
        Assert.Contains(message, output);
    }

    [Fact]
    public void Distill_refuses_a_feature_weight_for_kd()
    {
        var (code, output) = Kd("distill", "--method", "kd", "--weight", "3", "--teacher-dir", teacher.Directory);
        Assert.Equal(2, code);
        Assert.Contains("--weight does not apply to --method kd", output);
    }

    [Fact]
    public void Distill_without_the_teacher_fails_and_says_where_it_looked()
    {
        using var empty = new TempDirectory();
        var (code, output) = Kd("distill", "--teacher-dir", empty.Path, "--epochs", "1");
        Assert.Equal(1, code);
        Assert.Contains(empty.Path, output);
    }

    [Fact]
    public void Distill_trains_a_student_and_writes_history_weights_and_summary()
    {
        using var dir = new TempDirectory();
        var (code, output) = Kd("distill", "--method", "fitnet", "--teacher-dir", teacher.Directory, "--subset", "200", "--epochs", "2",
            "--batch-size", "50", "--device", "cpu", "--out", dir.Path);
        Assert.True(code == 0, output);
        Assert.Contains("distilled with fitnet: test accuracy", output);
        var history = File.ReadAllLines(dir.File("history.csv"));
        Assert.Equal(3, history.Length);
        Assert.Contains("term:hint", history[0]);
        Assert.True(new FileInfo(dir.File("student.bin")).Length > 100_000);
        using var summary = JsonDocument.Parse(File.ReadAllText(dir.File("summary.json")));
        var root = summary.RootElement;
        Assert.Equal("fitnet", root.GetProperty("method").GetString());
        Assert.Equal("1·ce + 100·hint", root.GetProperty("objective").GetString());
        Assert.Equal(teacher.Manifest.Sha256, root.GetProperty("teacher_sha256").GetString());
        Assert.Equal(200, root.GetProperty("train_images").GetInt32());
        Assert.InRange(root.GetProperty("test_accuracy").GetDouble(), 0.1, 1);

        // The saved weights load into a fresh student and give the reported accuracy.
        var student = ModelZoo.Create("cnn-student");
        student.load(dir.File("student.bin"));
        using var test = FashionMnist.Load(Split.Test);
        Assert.Equal(root.GetProperty("test_accuracy").GetDouble(), Evaluator.Evaluate(student, test).Accuracy, 1e-9);
    }

    /// <summary><c>--precision bfloat16</c>: the student trains in mixed precision, says so in its summary, and its saved
    /// weights are float32 ones that give the reported accuracy.</summary>
    [Fact]
    public void Distill_in_bfloat16_saves_a_float32_student_that_gives_the_reported_accuracy()
    {
        using var dir = new TempDirectory();
        var (code, output) = Kd("distill", "--method", "kd", "--teacher-dir", teacher.Directory, "--subset", "200", "--epochs", "2",
            "--batch-size", "50", "--device", "cpu", "--precision", "bfloat16", "--out", dir.Path);
        Assert.True(code == 0, output);
        using var summary = JsonDocument.Parse(File.ReadAllText(dir.File("summary.json")));
        Assert.Equal("bfloat16", summary.RootElement.GetProperty("precision").GetString());
        var student = ModelZoo.Create("cnn-student");
        student.load(dir.File("student.bin"));
        Assert.All(student.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        using var test = FashionMnist.Load(Split.Test);
        Assert.Equal(summary.RootElement.GetProperty("test_accuracy").GetDouble(), Evaluator.Evaluate(student, test).Accuracy, 1e-9);
    }

    /// <summary><c>kd distill</c> killed after its first epochs (SIGKILL, the process tree), then run again with the same
    /// arguments: it resumes from its checkpoint (student, FitNets regressor, optimiser, generators) and ends with the
    /// uninterrupted run's history and weights.</summary>
    [Fact]
    public void A_killed_kd_distill_resumes_from_its_checkpoint_and_ends_like_an_uninterrupted_run()
    {
        using var dir = new TempDirectory();
        string[] Args(string output) => ["distill", "--method", "fitnet", "--teacher-dir", teacher.Directory, "--subset", "2000", "--epochs", "8",
            "--batch-size", "50", "--device", "cpu", "--out", output];
        var (code, reference) = Kd(Args(dir.File("whole")));
        Assert.True(code == 0, reference);
        Assert.False(File.Exists(dir.File("whole/checkpoint.ckpt")), "a finished run leaves no checkpoint");

        var checkpoint = dir.File("killed/checkpoint.ckpt");
        using (var process = KdProcess.Start(null, Args(dir.File("killed"))))
            KdProcess.KillWhen(process, () => File.Exists(checkpoint), TimeSpan.FromMinutes(5), "the first checkpoint appeared");
        Assert.False(File.Exists(dir.File("killed/student.bin")));

        var (again, resumed) = Kd(Args(dir.File("killed")));
        Assert.True(again == 0, resumed);
        Assert.Matches(@"resuming after epoch [1-7] from ", resumed);
        Assert.False(File.Exists(checkpoint));
        Assert.Equal(File.ReadAllLines(dir.File("whole/history.csv")).Select(WithoutSeconds), File.ReadAllLines(dir.File("killed/history.csv")).Select(WithoutSeconds));
        Assert.Equal(File.ReadAllBytes(dir.File("whole/student.bin")), File.ReadAllBytes(dir.File("killed/student.bin")));
    }

    /// <summary>A history.csv line without the columns that measure time and memory (they differ from run to run).</summary>
    static string WithoutSeconds(string line)
    {
        var cells = line.Split(',');
        return string.Join(",", cells.Where((_, i) => i is not (7 or 8)));
    }

    [Fact]
    public void Reproduce_runs_a_small_table_and_writes_its_files()
    {
        using var dir = new TempDirectory();
        var (code, output) = Kd("reproduce", "--quick", "--seeds", "1", "--methods", "kd", "--epochs", "1", "--device", "cpu",
            "--teacher-dir", teacher.Directory, "--out", dir.Path, "--cache", dir.File("cache"));
        Assert.True(code == 0, output);
        Assert.Contains("[  4/4]", output);
        Assert.Contains("0 of 4 runs reused", output);      // 2 regimes × (scratch + kd) × 1 seed, one line per run
        Assert.Matches(@"1,000 labels\s+1,000 kd\s+1", output); // the printed table
        Assert.Contains("57.0%", output);
        Assert.True(File.Exists(dir.File("results.csv")));
        Assert.True(File.Exists(dir.File("results.md")));
        Assert.True(File.Exists(dir.File("results.html")));
        Assert.Equal(1 + 6, File.ReadAllLines(dir.File("results.csv")).Length); // header, 2 × (teacher, scratch, kd)
    }
}
