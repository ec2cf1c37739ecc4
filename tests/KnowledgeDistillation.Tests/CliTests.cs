using System.Diagnostics;

namespace KnowledgeDistillation.Tests;

/// <summary>Runs the real <c>kd</c> executable (built next to the tests) as a user would.</summary>
public class CliTests
{
    static (int ExitCode, string Output) Kd(params string[] args) => KdProcess.Run(TimeSpan.FromMinutes(2), args);

    [Fact]
    public void Info_shows_versions_a_working_torch_and_a_valid_dataset()
    {
        var (code, output) = Kd("info");
        Assert.True(code == 0, output);
        Assert.Contains("TorchSharp                    0.107.0", output);
        Assert.Contains("libtorch                      2.10.0", output);
        Assert.Matches(@"threads\s+\d+", output);
        Assert.Matches(@"CUDA available\s+(no|yes)", output);
        Assert.Matches(@"CUDA driver\s+(supports CUDA \d+\.\d|no device \(.+\))", output); // never an exception, whatever the machine
        Assert.Matches(@"device \(auto\)\s+(cpu|cuda)", output);
        Assert.Contains("sum(1..4) = 10", output);
        Assert.Contains("dataset state   valid", output);
        Assert.Matches(@"70,000 images in \d+\.\d\d s", output);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(output, @"\[kd\] torch native:"));
    }

    [Fact]
    public void Eval_reads_the_model_from_model_dir_like_distill_reads_teacher_dir()
    {
        var root = KnowledgeDistillation.Runtime.RepoPaths.Root!;
        var (code, output) = Kd("eval", "cnn-teacher", "--model-dir", Path.Combine(root, "datasets", "pretrained"));
        Assert.True(code == 0, output);
        Assert.Matches(@"cnn-teacher \(cnn-teacher\): accuracy \d+\.\d\d %", output);

        var (wrong, message) = Kd("eval", "cnn-teacher", "--dir", Path.Combine(root, "datasets", "pretrained"));
        Assert.Equal(2, wrong); // the old name is a usage error
        Assert.Contains("--dir", message);
    }

    [Fact]
    public void Info_fails_clearly_when_the_dataset_is_missing()
    {
        using var empty = new TempDirectory();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "kd.dll"));
        start.ArgumentList.Add("info");
        start.Environment["KD_DATA_DIR"] = empty.Path;
        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(1, p.ExitCode);
        Assert.Contains("MISSING", output);
        Assert.Contains("INVALID", output);
    }

    [Fact]
    public void Unknown_command_is_an_error()
    {
        var (code, output) = Kd("frobnicate");
        Assert.NotEqual(0, code);
        Assert.Contains("frobnicate", output);
    }

    [Fact]
    public void Processes_starting_at_once_with_an_empty_cache_all_load_torch()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var cache = new TempDirectory();
        var processes = Enumerable.Range(0, 3).Select(_ =>
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "kd.dll"));
            start.ArgumentList.Add("info");
            start.ArgumentList.Add("--no-load");
            start.Environment["KD_CACHE_DIR"] = cache.Path;
            return Process.Start(start)!;
        }).ToList();
        foreach (var p in processes)
        {
            var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, output);
            Assert.Contains("sum(1..4) = 10", output);
        }
        // Where the system needs the patch, exactly one patched copy exists and no temporary file is left behind.
        var files = Directory.GetFiles(cache.Path, "*", SearchOption.AllDirectories);
        Assert.True(files.Length <= 1, string.Join(", ", files));
        Assert.All(files, f => Assert.EndsWith("libLibTorchSharp.so", f));
    }
}
