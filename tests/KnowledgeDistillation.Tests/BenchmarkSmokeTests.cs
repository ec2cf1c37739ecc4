namespace KnowledgeDistillation.Tests;

/// <summary>
/// kd-bench (lib/KnowledgeDistillation.Benchmarks) in smoke mode: it must build, run and print all six figures. Nothing
/// here checks a timing; the figures themselves are README's "Performance" section.
/// </summary>
public class BenchmarkSmokeTests
{
    static (int ExitCode, string Stdout, string Stderr) Bench(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        return DotnetProcess.Run(Repo.Root, TimeSpan.FromMinutes(3), [Path.Combine(AppContext.BaseDirectory, "kd-bench.dll"), .. args],
            start => { foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v; });
    }

    [Fact]
    public void Smoke_mode_prints_all_six_figures_in_one_table()
    {
        var (code, stdout, stderr) = Bench(null, "all", "--smoke");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("| figure | measured | goal | verdict |", stdout);
        foreach (var figure in new[] { "| 1. KD step", "| 2. epoch", "| 3. CNN teacher training", "| 4. memory", "| 5. notebooks", "| 6. Fashion-MNIST load" })
            Assert.Contains(figure, stdout);
        Assert.Contains("peak assumed:", stdout);
        // With python3-torch the two sides must compute the same loss; without it the peer is skipped with the reason.
        Assert.True(stdout.Contains(", same)", StringComparison.Ordinal) || stdout.Contains("PyTorch peer SKIPPED", StringComparison.Ordinal), stdout);
    }

    [Fact]
    public void Without_python_torch_the_pytorch_comparison_is_skipped_with_a_clear_message()
    {
        var (code, stdout, stderr) = Bench(new Dictionary<string, string> { ["KD_PYTHON"] = "none" }, "step", "--smoke");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("PyTorch peer SKIPPED: KD_PYTHON=none", stdout);
        Assert.Contains("PyTorch skipped (no python3-torch)", stdout);
    }
}
