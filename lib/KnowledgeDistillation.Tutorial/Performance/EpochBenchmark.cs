using KnowledgeDistillation.Data;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Performance;

/// <summary>Epoch times of plain and distillation training, measured in one process, alternating round by round.</summary>
/// <param name="Plain">Seconds of a plain student epoch, one per round.</param>
/// <param name="CachedKd">Seconds of a KD epoch with cached teacher outputs, one per round.</param>
/// <param name="OnlineKd">Seconds of a KD epoch with a teacher forward per batch, one per round.</param>
/// <param name="Cache">Seconds to compute the teacher cache once, one per round.</param>
/// <remarks>On a shared machine one epoch can take 40 % longer than the next for the same work. The minimum over rounds
/// is the least disturbed figure (as in Python's <c>timeit</c>), so the ratios use the minimums; the medians and each
/// round's own ratio are reported beside them.</remarks>
public sealed record EpochTimes(IReadOnlyList<double> Plain, IReadOnlyList<double> CachedKd, IReadOnlyList<double> OnlineKd, IReadOnlyList<double> Cache)
{
    /// <summary>How many alternating rounds.</summary>
    public int Rounds => Plain.Count;

    /// <summary>The fastest plain student epoch.</summary>
    public double PlainSeconds => Plain.Min();

    /// <summary>The fastest KD epoch with cached teacher outputs.</summary>
    public double CachedKdSeconds => CachedKd.Min();

    /// <summary>The fastest KD epoch with online teacher forwards.</summary>
    public double OnlineKdSeconds => OnlineKd.Min();

    /// <summary>The fastest computation of the teacher cache.</summary>
    public double CacheSeconds => Cache.Min();

    /// <summary>KD (cached) epoch time over plain epoch time, from the minimums; the goal is at most 1.15.</summary>
    public double CachedRatio => CachedKdSeconds / PlainSeconds;

    /// <summary>KD (online teacher) epoch time over plain epoch time, from the minimums.</summary>
    public double OnlineRatio => OnlineKdSeconds / PlainSeconds;

    /// <summary>Each round's cached-KD epoch over the same round's plain epoch.</summary>
    public IReadOnlyList<double> CachedRatioPerRound => CachedKd.Zip(Plain, (k, p) => k / p).ToList();

    /// <summary>The median of a list of timings.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("No values.", nameof(values));
        var sorted = values.Order().ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}

/// <summary>Resident memory and live tensors after each epoch of a long KD run.</summary>
/// <param name="RssMegabytes">RSS after each epoch.</param>
/// <param name="LiveTensors">TorchSharp's live-tensor count on this thread after each epoch.</param>
public sealed record MemoryTrace(IReadOnlyList<double> RssMegabytes, IReadOnlyList<long> LiveTensors)
{
    /// <summary>The largest RSS after epoch 1, relative to epoch 1's, in percent; the goal is at most 2 %.</summary>
    public double GrowthAfterFirstEpochPercent =>
        RssMegabytes.Count < 2 ? 0 : 100 * (RssMegabytes.Skip(1).Max() - RssMegabytes[0]) / RssMegabytes[0];
}

/// <summary>Benchmarks of the training engine (the <c>kd benchmark</c> command prints them).</summary>
public static class EpochBenchmark
{
    /// <summary>
    /// Times plain, cached-KD and online-KD epochs of the CNN student (teacher: the CNN teacher) on
    /// <paramref name="train"/>, alternating A B C A B C for <paramref name="rounds"/> rounds; each round's figure is the
    /// second epoch of a two-epoch run (the first warms up).
    /// </summary>
    public static EpochTimes MeasureEpochs(LabelledImages train, LabelledImages test, int rounds = 3, string device = "cpu",
        nn.Module<Tensor, Tensor>? teacher = null, Action<string>? log = null)
    {
        if (rounds < 1) throw new ArgumentOutOfRangeException(nameof(rounds), rounds, "rounds must be at least 1.");
        manual_seed(0);
        teacher ??= SmallCnn.Teacher();
        var options = new TrainingOptions { Epochs = 2, BatchSize = 128, Device = device, Seed = 0 };
        var plain = new List<double>();
        var cached = new List<double>();
        var online = new List<double>();
        var cache = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            plain.Add(SecondEpoch(Trainer.Train(Student(), train, test, options)));
            cached.Add(SecondEpoch(Trainer.Distill(Student(), teacher, Objective(), train, test, options)));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using (TeacherOutputs.Compute(teacher, train.Images, [], options.EvaluationBatchSize)) cache.Add(clock.Elapsed.TotalSeconds);
            online.Add(SecondEpoch(Trainer.Distill(Student(), teacher, Objective(), train, test, options with { CacheTeacherOutputs = false })));
            log?.Invoke($"round {r + 1}/{rounds}: plain {plain[^1]:F2} s, KD cached {cached[^1]:F2} s, KD online {online[^1]:F2} s");
        }
        return new EpochTimes(plain, cached, online, cache);
    }

    /// <summary>Runs <paramref name="epochs"/> epochs of cached KD and records RSS and live tensors after each.</summary>
    public static MemoryTrace MeasureMemory(LabelledImages train, LabelledImages test, int epochs = 20, string device = "cpu",
        nn.Module<Tensor, Tensor>? teacher = null, Action<string>? log = null)
    {
        manual_seed(0);
        teacher ??= SmallCnn.Teacher();
        var rss = new List<double>();
        var live = new List<long>();
        var options = new TrainingOptions { Epochs = epochs, BatchSize = 128, Device = device, Seed = 0 };
        Trainer.Distill(Student(), teacher, Objective(), train, test, options, new TrainingCallbacks
        {
            Progress = p =>
            {
                if (p.Completed is not { } record) return;
                rss.Add(record.RssMegabytes);
                live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
                log?.Invoke($"epoch {record.Epoch,2}: RSS {record.RssMegabytes:F1} MB, live tensors {live[^1]}");
            },
        });
        return new MemoryTrace(rss, live);
    }

    static SmallCnn Student()
    {
        manual_seed(1);
        return SmallCnn.Student();
    }

    static DistillationObjective Objective() => new(DistillationTerms.CrossEntropy(0.5), DistillationTerms.Soft(4, 0.5));

    static double SecondEpoch(TrainingResult result) => result.History[^1].Seconds;
}
