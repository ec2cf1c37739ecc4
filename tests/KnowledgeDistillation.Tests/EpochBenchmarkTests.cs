using KnowledgeDistillation.Data;
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

        var memory = EpochBenchmark.MeasureMemory(train, test, epochs: 3);
        Assert.Equal(3, memory.RssMegabytes.Count);
        Assert.Single(memory.LiveTensors.Distinct());
        Assert.Equal(100 * (memory.RssMegabytes.Skip(1).Max() - memory.RssMegabytes[0]) / memory.RssMegabytes[0], memory.GrowthAfterFirstEpochPercent, 1e-9);
    }
}
