using System.Diagnostics;
using System.Globalization;
using KnowledgeDistillation.Benchmarks;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Performance;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Training;
using static TorchSharp.torch;

// kd-bench: the figures of README's "Performance" section. Usage:
//   dotnet run -c Release --project lib/KnowledgeDistillation.Benchmarks -- [all|step|epoch|flops|memory|notebooks|data] [options]
// Options: --smoke (seconds-long sizes), --rounds N, --steps N (KD step), --flops-steps N, --hidden 32 | 800,800, --images N, --memory-epochs N,
//          --notebooks quick|full|both|skip, --only 00,01 (notebooks by prefix).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string[] sections = ["step", "epoch", "flops", "memory", "notebooks", "data"];
string command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "all";
if (command is "-h" or "--help" or "help" || !(command == "all" || sections.Contains(command)))
{
    Console.Error.WriteLine("usage: kd-bench [all|" + string.Join('|', sections) + "] [--smoke] [--rounds N] [--steps N] [--flops-steps N] [--hidden 32|800,800] " +
                            "[--images N] [--memory-epochs N] [--notebooks quick|full|both|skip] [--only 00,01]");
    return command is "-h" or "--help" or "help" ? 0 : 2;
}
bool smoke = args.Contains("--smoke");
string? Opt(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
int IntOpt(string name, int full, int small) => Opt(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : smoke ? small : full;
var run = command == "all" ? sections : [command];
var rows = new List<string[]>();
void Row(string figure, string measured, string goal, string verdict) => rows.Add([figure, measured, goal, verdict]);
void Log(string line) => Console.Error.WriteLine(line);
string Verdict(bool met, string missedBy) => met ? "met" : "missed: " + missedBy;

var peak = CpuPeak.Detect();
Console.WriteLine($"kd-bench {(smoke ? "--smoke " : "")}{string.Join(' ', run)}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
Console.WriteLine($"machine: {peak.Model}, {peak.Cores} logical cores; TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}, " +
                  $"libtorch threads {get_num_threads()}, .NET {Environment.Version}");

// 1. KD training step vs PyTorch
if (run.Contains("step"))
{
    var hidden = (Opt("--hidden") ?? "32").Split(',').Select(h => long.Parse(h, CultureInfo.InvariantCulture)).ToList();
    var settings = new KdStepBenchmark.Settings(hidden, Batches: smoke ? 4 : 16, Steps: IntOpt("--steps", 300, 20), Warmup: smoke ? 3 : 20,
        Rounds: IntOpt("--rounds", 5, 1), Threads: smoke ? [1] : [1, 2]);
    string? python = KdStepBenchmark.FindPython(out string why);
    Console.WriteLine(python is null ? $"1. PyTorch peer SKIPPED: {why}" : $"1. PyTorch peer: {why}");
    foreach (var c in KdStepBenchmark.Run(settings, python, Log))
    {
        string label = $"1. KD step, MLP 784-{string.Join('-', hidden)}-10, batch 128, {c.Threads} thread(s)";
        if (python is null)
        {
            Row(label, $"TorchSharp {c.TorchSharpMedianMs:F3} ms/step; PyTorch skipped (no python3-torch)", "<= 0.80× PyTorch", "not measured");
            continue;
        }
        bool fair = c.LossDifference <= 1e-5;
        Row(label,
            $"TorchSharp {c.TorchSharpMedianMs:F3} ms, PyTorch {c.PyTorchMedianMs:F3} ms: **{c.Ratio:F2}×** (median of {c.TorchSharpMs.Count} A/B rounds); " +
            $"mean loss {c.TorchSharpLoss:F6} vs {c.PyTorchLoss:F6} (|Δ| {c.LossDifference:0.0e+0}, {(fair ? "same" : "DIFFERENT")})",
            "<= 0.80×", fair ? Verdict(c.Ratio <= 0.8, $"{c.Ratio / 0.8 - 1:P0} slower than the goal") : $"not comparable: the losses differ by {c.LossDifference:0.0e+0} (> 1e-5)");
    }
}

// Data shared by the epoch and memory figures.
LabelledImages? train = null, test = null;
if (run.Contains("epoch") || run.Contains("memory"))
{
    using var all = FashionMnist.Load(Split.Train);
    train = all.BalancedSubset(IntOpt("--images", 20_000, 384), seed: 0);
    test = FashionMnist.Load(Split.Test, limit: smoke ? 128 : 1000);
}

// 2. KD epoch vs plain epoch
if (run.Contains("epoch"))
{
    var t = EpochBenchmark.MeasureEpochs(train!, test!, IntOpt("--rounds", 3, 1), log: Log);
    string label = $"2. epoch, CNN student, {train!.Count:N0} images, batch 128";
    string perRound = string.Join(", ", t.CachedRatioPerRound.Select(v => v.ToString("F2")));
    Row(label + ", KD cached teacher", $"**{t.CachedRatio:F2}×** plain ({t.CachedKdSeconds:F2} s vs {t.PlainSeconds:F2} s, fastest of {t.Rounds}; medians " +
        $"{EpochTimes.Median(t.CachedKd):F2} / {EpochTimes.Median(t.Plain):F2} s; per-round ratios {perRound}, median {Stats.Median(t.CachedRatioPerRound):F2})",
        "<= 1.15×", Verdict(t.CachedRatio <= 1.15, $"by {t.CachedRatio - 1.15:F2}"));
    Row(label + ", KD online teacher", $"{t.OnlineRatio:F2}× plain ({t.OnlineKdSeconds:F2} s; teacher cache once {t.CacheSeconds:F2} s)", "for comparison", "");
}

// 3. FLOP/s training the teacher
if (run.Contains("flops"))
{
    Console.WriteLine($"3. peak assumed: {peak}");
    var rates = TeacherFlops.Measure(IntOpt("--flops-steps", 20, 2), smoke ? 1 : 3, Log);
    var step = rates[^1];
    double share = step.Gflops / peak.PeakGflops;
    Row($"3. CNN teacher training, batch 128, {get_num_threads()} threads",
        $"**{step.Gflops:F1} GFLOP/s = {share:P1} of {peak.PeakGflops:F0} GFLOP/s peak** ({step.MedianSeconds * 1000:F1} ms/step)",
        ">= 40 % of peak", Verdict(share >= 0.40, $"{0.40 / share:F1}× below the goal"));
    foreach (var r in rates.Take(rates.Count - 1))
        Row("3. where the time goes: " + r.Name, $"{r.Gflops:F1} GFLOP/s ({r.Gflops / peak.PeakGflops:P1} of peak), {r.MedianSeconds * 1000:F2} ms", "", "");
    var tried = TeacherFlops.Alternatives(IntOpt("--flops-steps", 20, 2), smoke ? 1 : 3, Log);
    foreach (var r in tried)
        Row("3. tried: " + r.Name, $"{r.Gflops:F1} GFLOP/s ({r.Gflops / peak.PeakGflops:P1} of peak), {r.MedianSeconds * 1000:F2} ms", "", "");
}

// 4. Memory
if (run.Contains("memory"))
{
    var m = EpochBenchmark.MeasureMemory(train!, test!, IntOpt("--memory-epochs", 20, 3), log: Log);
    bool liveFlat = m.LiveTensors.Distinct().Count() == 1;
    Row($"4. memory, {m.RssMegabytes.Count} KD epochs (cached), {train!.Count:N0} images",
        $"RSS {m.RssMegabytes[0]:F1} → {m.RssMegabytes[^1]:F1} MB (max {m.RssMegabytes.Max():F1}): **{m.GrowthAfterFirstEpochPercent:+0.00;-0.00} %** after epoch 1; " +
        $"live tensors {(liveFlat ? $"constant at {m.LiveTensors[0]}" : string.Join(", ", m.LiveTensors))}",
        "<= 2 %, flat", Verdict(m.GrowthAfterFirstEpochPercent <= 2 && liveFlat, $"{m.GrowthAfterFirstEpochPercent:F2} % growth{(liveFlat ? "" : ", live tensors change")}"));
    Console.WriteLine("   RSS MB per epoch: " + string.Join(", ", m.RssMegabytes.Select(v => v.ToString("F1"))));
}
train?.Dispose();
test?.Dispose();

// 5. Notebooks
if (run.Contains("notebooks"))
{
    string mode = Opt("--notebooks") ?? (smoke ? "skip" : "quick");
    string? root = RepoPaths.Root;
    if (mode == "skip" || root is null)
        Row("5. notebooks", root is null ? "skipped: run inside the repository (Notebooks.sln not found)" : $"skipped ({(smoke ? "smoke mode" : "--notebooks skip")})", "quick suite <= 10 min", "not measured");
    else
    {
        var only = (Opt("--only") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        foreach (bool quick in mode switch { "quick" => new[] { true }, "full" => [false], "both" => [true, false], _ => throw new ArgumentException($"--notebooks {mode}?") })
        {
            var times = NotebookTimes.Measure(Path.Combine(root, "notebooks"), only, quick, Log);
            // A full run must fit a classroom lab: at most 5 minutes per notebook on a 2-core laptop.
            foreach (var t in times)
                Row($"5. notebook {t.Name}, {(quick ? "quick" : "full")}", $"{t.Seconds:F1} s ({t.Seconds / 60:F1} min){(t.Ok ? "" : " (FAILED)")}",
                    quick ? "" : "<= 5 min", quick ? "" : !t.Ok ? "failed" : Verdict(t.Seconds <= 300, $"by {t.Seconds - 300:F0} s"));
            double total = times.Sum(t => t.Seconds);
            string suite = only.Length == 0 ? "whole suite" : $"{times.Count} notebook(s) only";
            Row($"5. notebooks, {(quick ? "quick" : "full")} mode, {suite}", $"**{total / 60:F1} min** ({total:F0} s)",
                quick ? "<= 10 min" : "", !quick ? "" : only.Length > 0 ? "partial" : Verdict(total <= 600 && times.All(t => t.Ok), $"by {total / 60 - 10:F1} min"));
        }
    }
}

// 6. Data
if (run.Contains("data"))
{
    var trainTimes = new List<double>();
    var testTimes = new List<double>();
    int repeats = smoke ? 1 : 5;
    for (int i = 0; i < repeats; i++)
    {
        var clock = Stopwatch.StartNew();
        using (FashionMnist.Load(Split.Train)) trainTimes.Add(clock.Elapsed.TotalSeconds);
        clock.Restart();
        using (FashionMnist.Load(Split.Test)) testTimes.Add(clock.Elapsed.TotalSeconds);
    }
    Row("6. Fashion-MNIST load (decompress, parse, normalise)", $"train 60,000: **{Stats.Median(trainTimes) * 1000:F0} ms**, test 10,000: {Stats.Median(testTimes) * 1000:F0} ms (median of {repeats})", "", "");
}

Console.WriteLine();
Console.WriteLine("| figure | measured | goal | verdict |");
Console.WriteLine("| --- | --- | --- | --- |");
foreach (var r in rows) Console.WriteLine("| " + string.Join(" | ", r) + " |");
return 0;
