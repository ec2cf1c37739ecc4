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

/// <summary>The training profile (kd benchmark's per-method epochs and the step profile by layer) runs on a tiny slice
/// and reports what it says it does; the figures themselves are for kd benchmark, not for assertions.</summary>
public class TrainingProfileTests
{
    [Fact]
    public void Method_epochs_pair_each_method_with_the_plain_epochs_of_the_same_rounds()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 256);
        using var test = FashionMnist.Load(Split.Test, limit: 64);
        TorchSharp.torch.manual_seed(0);
        var teacher = KnowledgeDistillation.Models.SmallCnn.Teacher();
        var times = TrainingProfile.MeasureMethods(train, test, teacher, rounds: 2, methods: [DistillationMethod.Kd, DistillationMethod.Rkd]);
        Assert.Equal(["kd", "rkd"], times.Select(t => t.Method));
        foreach (var t in times)
        {
            Assert.Equal(2, t.Seconds.Count);
            Assert.Same(times[0].PlainSeconds, t.PlainSeconds);
            Assert.All(t.Seconds.Concat(t.PlainSeconds), s => Assert.True(s > 0));
            Assert.Equal(t.Seconds.Min() / t.PlainSeconds.Min(), t.Ratio, 1e-12);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => TrainingProfile.MeasureMethods(train, test, teacher, rounds: 0));
    }

    [Fact]
    public void Step_profile_names_every_layer_of_the_student_in_forward_order_with_its_output_shape()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 256);
        TorchSharp.torch.manual_seed(0);
        var student = KnowledgeDistillation.Models.SmallCnn.Student();
        var profile = TrainingProfile.ProfileStep(student, train, batchSize: 32, repeats: 2);
        Assert.Equal(student.named_children().Select(c => c.name), profile.Layers.Select(l => l.Layer));
        Assert.Equal("32×8×28×28", profile.Layers.Single(l => l.Layer == "conv1").Output);
        Assert.Equal("MaxPool2d", profile.Layers.Single(l => l.Layer == "pool1").Kind);
        Assert.Equal("32×10", profile.Layers[^1].Output);
        Assert.All(profile.Layers, l => Assert.True(l.ForwardMs >= 0 && l.BackwardMs >= 0));
        Assert.True(profile.StepMs > 0 && profile.ForwardMs > 0 && profile.BackwardMs > 0 && profile.OptimizerMs > 0 && profile.BatchMs >= 0);
        Assert.Equal(32, profile.BatchSize);
    }
}
