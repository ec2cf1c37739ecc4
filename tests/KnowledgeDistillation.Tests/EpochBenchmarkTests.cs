using KnowledgeDistillation.Data;
using KnowledgeDistillation.Performance;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Tests;

/// <summary>The benchmark code runs and reports sane figures on a tiny slice (the speed goals are checked by
/// <c>kd benchmark</c>, not here: timed tests are noisy on shared machines).</summary>
public class EpochBenchmarkTests
{
    [Fact]
    public void Epoch_and_memory_measurements_run_on_a_tiny_slice()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 256);
        using var test = FashionMnist.Load(Split.Test, limit: 100);
        var times = EpochBenchmark.MeasureEpochs(train, test, rounds: 1);
        Assert.True(times.PlainSeconds > 0 && times.CachedKdSeconds > 0 && times.OnlineKdSeconds > 0 && times.CacheSeconds > 0);
        Assert.Equal(times.CachedKdSeconds / times.PlainSeconds, times.CachedRatio, 1e-12);
        Assert.Equal(1, times.Rounds);
        Assert.Equal(times.CachedRatio, times.CachedRatioPerRound[0], 1e-12);

        var memory = EpochBenchmark.MeasureMemory(train, test, epochs: 3);
        Assert.Equal(3, memory.RssMegabytes.Count);
        Assert.Single(memory.LiveTensors.Distinct());
        Assert.Equal(100 * (memory.RssMegabytes.Skip(1).Max() - memory.RssMegabytes[0]) / memory.RssMegabytes[0], memory.GrowthAfterFirstEpochPercent, 1e-9);
    }

    [Fact]
    public void Ratios_use_the_fastest_round_and_each_round_is_paired()
    {
        var times = new EpochTimes([5.0, 4.0, 6.0], [4.5, 4.4, 6.6], [12, 13, 14], [1, 2, 3]);
        Assert.Equal(3, times.Rounds);
        Assert.Equal(4.4 / 4.0, times.CachedRatio, 1e-12);
        Assert.Equal(12 / 4.0, times.OnlineRatio, 1e-12);
        Assert.Equal([0.9, 1.1, 1.1], times.CachedRatioPerRound.Select(r => Math.Round(r, 12)));
        Assert.Equal(5.0, EpochTimes.Median(times.Plain));
        Assert.Equal(4.5, EpochTimes.Median([4.0, 5.0]));
        Assert.Throws<ArgumentException>(() => EpochTimes.Median([]));
    }
}
