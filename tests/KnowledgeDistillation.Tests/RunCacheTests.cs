using System.Diagnostics;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Experiments;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>The on-disk cache of finished runs (<see cref="RunCache"/>): a table run twice trains once and gives the same
/// rows; a forced re-run trains again and gets the same bits; a changed input or a damaged entry misses; and a
/// <c>kd reproduce</c> killed half-way reuses its finished runs and ends with the uninterrupted table.</summary>
public class RunCacheTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static ReproductionSettings Tiny => new()
    {
        Regimes = [new("200 labels", 200, 1), new("100 labels", 100, 2)],
        Methods = [DistillationMethod.Kd, DistillationMethod.FitNet],
        Seeds = [0, 1],
        TestImages = 200,
        Training = ReproductionSettings.Quick.Training with { Device = "cpu", BatchSize = 64 },
    };

    static FeatureModel Teacher(long seed)
    {
        manual_seed(seed);
        return SmallCnn.Teacher();
    }

    static object[] Result(ReproductionRow r) => [r.Regime, r.Images, r.Method, r.Seed, r.Accuracy, r.Loss, r.Ece];

    [Fact]
    public void A_second_table_reuses_every_run_with_the_same_results_and_a_forced_rerun_gets_the_same_bits()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 1000);
        using var test = FashionMnist.Load(Split.Test, limit: 300);
        using var dir = new TempDirectory();
        var teacher = Teacher(0);

        var cache = new RunCache(dir.Path);
        var first = Reproduction.Run(teacher, "t", train, test, Tiny, cache: cache);
        Assert.Equal((0, 12), (cache.Hits, cache.Misses)); // 2 regimes × 2 seeds × (scratch + 2 methods)
        Assert.DoesNotContain(first.Rows, r => r.Reused);
        Assert.Equal(12, Directory.GetFiles(dir.Path, "*.json").Length);

        var again = new RunCache(dir.Path);
        var seen = new List<ReproductionRow>();
        var second = Reproduction.Run(teacher, "t", train, test, Tiny, seen.Add, cache: again);
        Assert.Equal((12, 0), (again.Hits, again.Misses));
        Assert.All(second.Rows.Where(r => r.Method != Reproduction.Teacher), r => Assert.True(r.Reused));
        Assert.Equal(first.Rows.Select(Result), second.Rows.Select(Result));
        Assert.Equal(second.Rows, seen); // reused rows are reported as they come, marked

        var forced = new RunCache(dir.Path) { Reuse = false };
        var third = Reproduction.Run(teacher, "t", train, test, Tiny, cache: forced);
        Assert.Equal((0, 12), (forced.Hits, forced.Misses));
        Assert.DoesNotContain(third.Rows, r => r.Reused);
        Assert.Equal(first.Rows.Select(Result), third.Rows.Select(Result)); // deterministic on the CPU: the same bits
    }

    [Fact]
    public void A_changed_teacher_setting_or_seed_misses_and_a_damaged_entry_is_trained_again()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 1000);
        using var test = FashionMnist.Load(Split.Test, limit: 300);
        using var dir = new TempDirectory();
        var settings = Tiny with { Regimes = [new("100 labels", 100, 1)], Methods = [DistillationMethod.Kd], Seeds = [0] };
        Reproduction.Run(Teacher(0), "t", train, test, settings, cache: new RunCache(dir.Path));

        // Another teacher (one weight changed), another T, another seed: each a miss for the runs it touches.
        var changed = Teacher(0);
        using (no_grad()) changed.parameters().First().view(-1)[0].add_(1e-3);
        var c1 = new RunCache(dir.Path);
        Reproduction.Run(changed, "t", train, test, settings, cache: c1);
        Assert.Equal((1, 1), (c1.Hits, c1.Misses)); // scratch never sees the teacher and is reused; kd is trained

        var hotter = new RunCache(dir.Path);
        Reproduction.Run(Teacher(0), "t", train, test, settings with { Method = settings.Method with { T = 2 } }, cache: hotter);
        Assert.Equal((1, 1), (hotter.Hits, hotter.Misses));

        var seed = new RunCache(dir.Path);
        Reproduction.Run(Teacher(0), "t", train, test, settings with { Seeds = [1] }, cache: seed);
        Assert.Equal((0, 2), (seed.Hits, seed.Misses));

        foreach (var file in Directory.GetFiles(dir.Path, "*.json")) File.WriteAllText(file, "{ damaged");
        var damaged = new RunCache(dir.Path);
        var rerun = Reproduction.Run(Teacher(0), "t", train, test, settings, cache: damaged);
        Assert.Equal((0, 2), (damaged.Hits, damaged.Misses));
        var repaired = new RunCache(dir.Path);
        Assert.Equal(rerun.Rows.Select(Result), Reproduction.Run(Teacher(0), "t", train, test, settings, cache: repaired).Rows.Select(Result));
        Assert.Equal((2, 0), (repaired.Hits, repaired.Misses)); // the damaged entries were rewritten
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    /// <summary>A <c>kd reproduce</c> killed (SIGKILL, the process tree) after its first finished runs: run again with the
    /// same arguments it reuses them, trains the rest, and prints the table an uninterrupted run prints.</summary>
    [Fact]
    public void A_killed_kd_reproduce_reuses_its_finished_runs_and_ends_with_the_uninterrupted_table()
    {
        using var dir = new TempDirectory();
        var resumed = KillAndRunAgain(dir, ["reproduce", "--quick", "--methods", "kd", "--seeds", "2", "--epochs", "1", "--device", "cpu"],
            (finished, _) => finished >= 2, "two runs finished",
            cache => Assert.Equal(2, Directory.GetFiles(cache, "*.json").Length));
        Assert.Contains("2 of 8 runs reused", resumed); // 2 regimes × 2 seeds × (scratch, kd)
        Assert.Equal(2, resumed.Split('\n').Count(l => l.StartsWith('[') && l.Contains("reused (trained in")));
    }

    /// <summary>A <c>kd reproduce</c> killed in the middle of a FitNets run (after the scratch run, once the FitNets run has
    /// checkpointed an epoch): run again, it reuses the scratch run, resumes the FitNets run (student, regressor,
    /// optimiser) from its checkpoint, and ends with the uninterrupted table.</summary>
    [Fact]
    public void A_kd_reproduce_killed_inside_a_run_resumes_that_run_from_its_last_epoch()
    {
        using var dir = new TempDirectory();
        var resumed = KillAndRunAgain(dir, ["reproduce", "--quick", "--methods", "fitnet", "--seeds", "1", "--epochs", "6", "--device", "cpu"],
            // The scratch run has finished and the FitNets run has written its first epoch's checkpoint.
            (finished, cache) => finished == 1 && Directory.Exists(cache) && Directory.GetFiles(cache, "*.ckpt").Length == 1,
            "a checkpoint of the FitNets run appeared",
            cache => Assert.Single(Directory.GetFiles(cache, "*.json")));
        Assert.Matches(@"\[  1/4\] all labels +scratch .*reused", resumed);
        Assert.Matches(@"\[  2/4\] all labels +fitnet .*resumed after epoch [1-5]\b", resumed);
        Assert.Empty(Directory.GetFiles(dir.File("cache"), "*.ckpt")); // a stored run leaves no checkpoint behind
    }

    /// <summary>Runs <c>kd</c> with <paramref name="args"/> uninterrupted (its own cache and output), then again with
    /// another cache, killed once <paramref name="killWhen"/>(finished runs, cache folder) holds, checked by
    /// <paramref name="afterKill"/>, and run a third time to the end; asserts that the third run printed the same table and
    /// wrote the same results (every column but the seconds) as the uninterrupted one, and returns its output.</summary>
    string KillAndRunAgain(TempDirectory dir, string[] args, Func<int, string, bool> killWhen, string what, Action<string> afterKill)
    {
        string[] Args(string cache, string output) => [.. args, "--cache", cache, "--out", output];
        var (code, reference) = KdProcess.Run(TimeSpan.FromMinutes(5), Args(dir.File("cache-uninterrupted"), dir.File("out-uninterrupted")));
        Assert.True(code == 0, reference);

        int finished = 0;
        using (var process = KdProcess.Start(line => { if (line.StartsWith("[  ", StringComparison.Ordinal)) Interlocked.Increment(ref finished); },
                   Args(dir.File("cache"), dir.File("out"))))
            KdProcess.KillWhen(process, () => killWhen(Volatile.Read(ref finished), dir.File("cache")), TimeSpan.FromMinutes(5), what);
        afterKill(dir.File("cache"));

        var (again, resumed) = KdProcess.Run(TimeSpan.FromMinutes(5), Args(dir.File("cache"), dir.File("out")));
        output.WriteLine(resumed);
        Assert.True(again == 0, resumed);
        Assert.Equal(Table(reference), Table(resumed));
        // Every run's results, to the last digit written (the seconds column aside: it is the time a run took).
        static IEnumerable<string> Runs(string folder) => File.ReadAllLines(Path.Combine(folder, "results.csv")).Select(l => l[..l.LastIndexOf(',')]);
        Assert.Equal(Runs(dir.File("out-uninterrupted")), Runs(dir.File("out")));
        return resumed;
    }

    /// <summary>The summary table kd reproduce prints after its progress lines.</summary>
    static string Table(string output)
    {
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        int from = lines.FindIndex(l => l.StartsWith("regime", StringComparison.Ordinal) || l.StartsWith("| regime", StringComparison.Ordinal));
        int to = lines.FindIndex(from < 0 ? 0 : from, l => l.StartsWith("Hinton, Vinyals", StringComparison.Ordinal));
        Assert.True(from >= 0 && to > from, "no summary table in:\n" + output);
        return string.Join("\n", lines[from..to]);
    }
}
