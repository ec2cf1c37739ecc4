using System.Diagnostics;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using Microsoft.Data.Analysis;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Performance;

/// <summary>Timings of repeated runs, in milliseconds, with order statistics.</summary>
/// <param name="Milliseconds">One time per run, in the order measured (warm-up runs excluded).</param>
public sealed record LatencyStats(IReadOnlyList<double> Milliseconds)
{
    /// <summary>How many runs were timed.</summary>
    public int Count => Milliseconds.Count;

    /// <summary>The median: half of the runs were faster. Robust to the occasional run slowed by another process.</summary>
    public double Median => Percentile(50);

    /// <summary>The 90th percentile.</summary>
    public double P90 => Percentile(90);

    /// <summary>The 99th percentile: the tail a user occasionally waits for.</summary>
    public double P99 => Percentile(99);

    /// <summary>The fastest run.</summary>
    public double Min => Milliseconds.Min();

    /// <summary>The mean; pulled up by slow outliers, unlike the median.</summary>
    public double Mean => Milliseconds.Average();

    /// <summary>The <paramref name="p"/>-th percentile (0 to 100), linearly interpolated between the sorted values
    /// (NumPy's default, "linear").</summary>
    /// <exception cref="InvalidOperationException">No runs.</exception>
    public double Percentile(double p)
    {
        if (!(p >= 0 && p <= 100)) throw new ArgumentOutOfRangeException(nameof(p), p, "p must be in [0, 100].");
        if (Milliseconds.Count == 0) throw new InvalidOperationException("No timings.");
        var sorted = Milliseconds.Order().ToArray();
        double rank = p / 100 * (sorted.Length - 1);
        int low = (int)Math.Floor(rank), high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    /// <summary>For example <c>median 0.210 ms (p90 0.260, p99 0.410, 200 runs)</c>.</summary>
    public override string ToString() => $"median {Median:F3} ms (p90 {P90:F3}, p99 {P99:F3}, {Count} runs)";
}

/// <summary>One layer call seen during a traced forward pass.</summary>
/// <param name="Layer">The module's name and type, for example <c>conv1 (Conv2d)</c>.</param>
/// <param name="Shape">The output's shape, batch dimension included.</param>
/// <param name="Bytes">The output's bytes; 0 when the output shares its input's memory (a view, or dropout in evaluation mode).</param>
public sealed record ActivationRecord(string Layer, IReadOnlyList<long> Shape, long Bytes);

/// <summary>How many settings a benchmark uses. The defaults take a few seconds per small model on a CPU.</summary>
public sealed record InferenceBenchmarkOptions
{
    /// <summary>Untimed runs at batch 1 before the timed ones (first calls allocate, load kernels, fill caches).</summary>
    public int LatencyWarmup { get; init; } = 20;

    /// <summary>Timed runs at batch 1.</summary>
    public int LatencyRuns { get; init; } = 200;

    /// <summary>The batch size of the throughput measurement.</summary>
    public int ThroughputBatch { get; init; } = 256;

    /// <summary>Untimed batches before the timed ones.</summary>
    public int ThroughputWarmup { get; init; } = 3;

    /// <summary>Timed batches; the throughput is computed from their median time.</summary>
    public int ThroughputRuns { get; init; } = 15;

    /// <summary>Checks every setting.</summary>
    public InferenceBenchmarkOptions Validate()
    {
        if (LatencyWarmup < 0) throw new ArgumentOutOfRangeException(nameof(LatencyWarmup), LatencyWarmup, "LatencyWarmup must be >= 0.");
        if (LatencyRuns < 1) throw new ArgumentOutOfRangeException(nameof(LatencyRuns), LatencyRuns, "LatencyRuns must be at least 1.");
        if (ThroughputBatch < 1) throw new ArgumentOutOfRangeException(nameof(ThroughputBatch), ThroughputBatch, "ThroughputBatch must be at least 1.");
        if (ThroughputWarmup < 0) throw new ArgumentOutOfRangeException(nameof(ThroughputWarmup), ThroughputWarmup, "ThroughputWarmup must be >= 0.");
        if (ThroughputRuns < 1) throw new ArgumentOutOfRangeException(nameof(ThroughputRuns), ThroughputRuns, "ThroughputRuns must be at least 1.");
        return this;
    }
}

/// <summary>What it costs to run one model for inference: its size, its speed and its memory.</summary>
/// <param name="Name">The model's name in the comparison.</param>
/// <param name="Parameters">Parameter elements.</param>
/// <param name="FlopsPerSample">Forward FLOPs per image, counted analytically (<see cref="ModelSize"/>).</param>
/// <param name="CheckpointBytes">The size of <c>model.save(path)</c> on disk.</param>
/// <param name="WeightBytes">Bytes of the parameters and buffers in memory.</param>
/// <param name="Latency">Batch-1 timings.</param>
/// <param name="ThroughputBatch">The batch size of the throughput measurement.</param>
/// <param name="ImagesPerSecond">Images per second at <paramref name="ThroughputBatch"/>, from the median batch time.</param>
/// <param name="ActivationBytesBatch1">Activation bytes alive at the end of a batch-1 forward (<see cref="InferenceBenchmark.PeakActivationBytes"/>).</param>
/// <param name="ActivationBytesBatch">The same at <paramref name="ThroughputBatch"/>.</param>
/// <param name="MeasuredPeakGrowthMegabytes">Growth of the process's peak resident memory during one batch at
/// <paramref name="ThroughputBatch"/> (<see cref="ProcessMemory.PeakGrowthMegabytes"/>); NaN where it cannot be measured.</param>
/// <param name="Threads">torch's intra-op threads during the measurement.</param>
public sealed record InferenceProfile(
    string Name, long Parameters, long FlopsPerSample, long CheckpointBytes, long WeightBytes, LatencyStats Latency,
    int ThroughputBatch, double ImagesPerSecond, long ActivationBytesBatch1, long ActivationBytesBatch, double MeasuredPeakGrowthMegabytes, int Threads)
{
    /// <summary>Weights plus batch-1 activations: the least memory a single-image inference needs, in bytes.</summary>
    public long InferenceBytesBatch1 => WeightBytes + ActivationBytesBatch1;

    /// <summary>Weights plus activations at <see cref="ThroughputBatch"/>, in bytes.</summary>
    public long InferenceBytesBatch => WeightBytes + ActivationBytesBatch;
}

/// <summary>
/// Measures inference on this machine: batch-1 latency (median and percentiles after a warm-up), throughput at a large
/// batch, checkpoint size on disk, and inference memory, always in evaluation mode under <c>no_grad</c>.
/// </summary>
/// <remarks>
/// <para>Memory is reported two ways, because neither is complete. <see cref="PeakActivationBytes"/> adds up the
/// tensors the layers return (exact, but blind to scratch space inside a layer, such as a convolution's unfolded input);
/// <see cref="ProcessMemory.PeakGrowthMegabytes"/> measures how much the process's peak resident memory rises (it sees
/// everything, but reads low when the allocator reuses memory freed earlier, and it includes anything else the process
/// allocates meanwhile).</para>
/// <para>Times depend on the machine, its load, and torch's thread count; compare models measured in the same process,
/// one after the other.</para>
/// </remarks>
public static class InferenceBenchmark
{
    /// <summary>Batch-1 latency of <paramref name="model"/> on <paramref name="sample"/> [1, ...]: <paramref name="warmup"/>
    /// untimed calls, then <paramref name="runs"/> timed ones, each in its own dispose scope.</summary>
    public static LatencyStats Latency(nn.Module<Tensor, Tensor> model, Tensor sample, int warmup = 20, int runs = 200)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sample);
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "runs must be at least 1.");
        return new LatencyStats(TimeCalls(model, sample, warmup, runs));
    }

    /// <summary>Images per second on <paramref name="batch"/> [B, ...], from the median time of <paramref name="runs"/> batches
    /// after <paramref name="warmup"/> untimed ones.</summary>
    public static double Throughput(nn.Module<Tensor, Tensor> model, Tensor batch, int warmup = 3, int runs = 15)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "runs must be at least 1.");
        var stats = new LatencyStats(TimeCalls(model, batch, warmup, runs));
        return batch.shape[0] / (stats.Median / 1000);
    }

    /// <summary>The bytes of <c>model.save(path)</c>, written to a temporary file that is deleted afterwards.</summary>
    public static long CheckpointBytes(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        string path = Path.Combine(Path.GetTempPath(), $"kd-checkpoint-{Guid.NewGuid():N}.bin");
        try
        {
            model.save(path);
            return new FileInfo(path).Length;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Bytes of every parameter and buffer (batch norm's running statistics included) in memory.</summary>
    public static long WeightBytes(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.parameters().Sum(p => p.numel() * p.ElementSize) + model.buffers().Sum(b => b.numel() * b.ElementSize);
    }

    /// <summary>
    /// Runs <paramref name="model"/> once on <paramref name="input"/> (evaluation mode, <c>no_grad</c>) and records every
    /// call of a leaf module (a layer with no submodules), in order, with its output's shape and bytes. An output that
    /// shares memory with the layer's input (dropout in evaluation mode, a flatten that is a view) counts 0 bytes.
    /// </summary>
    /// <remarks>Only modules called through <c>call</c> are seen; layers applied as functions inside <c>forward</c> are not.</remarks>
    public static IReadOnlyList<ActivationRecord> TraceActivations(nn.Module<Tensor, Tensor> model, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        var records = new List<ActivationRecord>();
        var removers = new List<Action>();
        try
        {
            foreach (var (name, module) in model.named_modules())
            {
                if (module.children().Any() || module is not nn.Module<Tensor, Tensor> layer) continue;
                string label = $"{name} ({module.GetType().Name})";
                var remover = layer.register_forward_hook((_, x, y) =>
                {
                    long bytes = SharesMemory(x, y) ? 0 : y.numel() * y.ElementSize;
                    records.Add(new ActivationRecord(label, [.. y.shape], bytes));
                    return null!; // null: keep the layer's output unchanged
                });
                removers.Add(remover.remove);
            }
            model.eval();
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            model.call(input);
        }
        finally
        {
            foreach (var remove in removers) remove();
        }
        return records;
    }

    /// <summary>
    /// The activation bytes alive at the end of a forward pass on <paramref name="input"/>: the input plus every layer
    /// output of <see cref="TraceActivations"/>.
    /// </summary>
    /// <remarks>In TorchSharp a tensor is freed when it is disposed, not when the last reference goes; the library's
    /// models run their forward pass in one dispose scope, so every intermediate tensor lives until the logits are
    /// returned, and the peak is the sum, not the largest pair of consecutive layers as in PyTorch.</remarks>
    public static long PeakActivationBytes(nn.Module<Tensor, Tensor> model, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.numel() * input.ElementSize + TraceActivations(model, input).Sum(r => r.Bytes);
    }

    /// <summary>Everything in <see cref="InferenceProfile"/> for <paramref name="model"/>, on images taken from
    /// <paramref name="images"/> [N, 1, 28, 28] (N at least the throughput batch).</summary>
    public static InferenceProfile Profile(string name, nn.Module<Tensor, Tensor> model, Tensor images, InferenceBenchmarkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        options = (options ?? new InferenceBenchmarkOptions()).Validate();
        if (images.shape[0] < options.ThroughputBatch)
            throw new ArgumentException($"Need at least {options.ThroughputBatch} images for the throughput batch; got {images.shape[0]}.", nameof(images));
        using var scope = NewDisposeScope();
        var sample = images.narrow(0, 0, 1);
        var batch = images.narrow(0, 0, options.ThroughputBatch);
        long flops = model is FeatureModel feature ? feature.FlopsPerSample() : 0;
        var latency = Latency(model, sample, options.LatencyWarmup, options.LatencyRuns);
        double throughput = Throughput(model, batch, options.ThroughputWarmup, options.ThroughputRuns);
        double measured = ProcessMemory.PeakGrowthMegabytes(() => RunOnce(model, batch));
        return new InferenceProfile(name, ModelSize.ParameterCount(model), flops, CheckpointBytes(model), WeightBytes(model), latency,
            options.ThroughputBatch, throughput, PeakActivationBytes(model, sample), PeakActivationBytes(model, batch), measured, torch.get_num_threads());
    }

    /// <summary>
    /// Profiles every model in <paramref name="rounds"/> alternating rounds (model 1, 2, …, then again), and keeps for each
    /// the least disturbed figures: the round with the lowest median latency, the highest throughput, and the largest
    /// measured memory growth (disturbances slow a run down, and memory reused from an earlier call makes the growth read
    /// low). On a shared machine one round can be several times slower than the next for the same work.
    /// </summary>
    /// <param name="models">Names and models, profiled in this order.</param>
    /// <param name="images">Images [N, 1, 28, 28], N at least the throughput batch.</param>
    /// <param name="options">Runs per measurement.</param>
    /// <param name="rounds">How many rounds, at least 1.</param>
    /// <param name="progress">Called after each model of each round (for a live display), with the round and the name.</param>
    /// <typeparam name="TModel">The models' type (any module that maps images to logits).</typeparam>
    public static IReadOnlyList<InferenceProfile> Compare<TModel>(IReadOnlyList<(string Name, TModel Model)> models, Tensor images,
        InferenceBenchmarkOptions? options = null, int rounds = 3, Action<int, string>? progress = null)
        where TModel : nn.Module<Tensor, Tensor>
    {
        ArgumentNullException.ThrowIfNull(models);
        if (rounds < 1) throw new ArgumentOutOfRangeException(nameof(rounds), rounds, "rounds must be at least 1.");
        var all = models.Select(_ => new List<InferenceProfile>()).ToList();
        for (int round = 1; round <= rounds; round++)
            for (int i = 0; i < models.Count; i++)
            {
                all[i].Add(Profile(models[i].Name, models[i].Model, images, options));
                progress?.Invoke(round, models[i].Name);
            }
        return [.. all.Select(profiles => profiles.MinBy(p => p.Latency.Median)! with
        {
            ImagesPerSecond = profiles.Max(p => p.ImagesPerSecond),
            MeasuredPeakGrowthMegabytes = profiles.Max(p => p.MeasuredPeakGrowthMegabytes),
        })];
    }

    /// <summary>One row per profile: size, speed and memory, in the units a reader compares (MB, ms, images/s).</summary>
    public static DataFrame ToDataFrame(IEnumerable<InferenceProfile> profiles)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        var p = profiles.ToList();
        return new DataFrame(
            new StringDataFrameColumn("model", p.Select(x => x.Name)),
            new PrimitiveDataFrameColumn<long>("parameters", p.Select(x => x.Parameters)),
            new PrimitiveDataFrameColumn<double>("MFLOPs/image", p.Select(x => Math.Round(x.FlopsPerSample / 1e6, 3))),
            new PrimitiveDataFrameColumn<double>("checkpoint MB", p.Select(x => Math.Round(x.CheckpointBytes / 1048576.0, 3))),
            new PrimitiveDataFrameColumn<double>("latency ms (median)", p.Select(x => Math.Round(x.Latency.Median, 3))),
            new PrimitiveDataFrameColumn<double>("latency ms (p99)", p.Select(x => Math.Round(x.Latency.P99, 3))),
            new PrimitiveDataFrameColumn<double>($"images/s (batch {(p.Count > 0 ? p[0].ThroughputBatch : 0)})", p.Select(x => Math.Round(x.ImagesPerSecond))),
            new PrimitiveDataFrameColumn<double>("memory MB (batch 1)", p.Select(x => Math.Round(x.InferenceBytesBatch1 / 1048576.0, 3))),
            new PrimitiveDataFrameColumn<double>($"memory MB (batch {(p.Count > 0 ? p[0].ThroughputBatch : 0)})", p.Select(x => Math.Round(x.InferenceBytesBatch / 1048576.0, 2))),
            new PrimitiveDataFrameColumn<double>("RSS peak growth MB (measured)", p.Select(x => Math.Round(x.MeasuredPeakGrowthMegabytes, 1))));
    }

    static List<double> TimeCalls(nn.Module<Tensor, Tensor> model, Tensor input, int warmup, int runs)
    {
        if (warmup < 0) throw new ArgumentOutOfRangeException(nameof(warmup), warmup, "warmup must be >= 0.");
        model.eval();
        using var _ = no_grad();
        for (int i = 0; i < warmup; i++) RunOnce(model, input);
        var times = new List<double>(runs);
        var clock = new Stopwatch();
        for (int i = 0; i < runs; i++)
        {
            clock.Restart();
            RunOnce(model, input);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        return times;
    }

    /// <summary>One forward pass in its own scope, waiting for a GPU to finish, so that the time covers the work.</summary>
    static void RunOnce(nn.Module<Tensor, Tensor> model, Tensor input)
    {
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.call(input);
        if (input.device.type == DeviceType.CUDA) cuda.synchronize(input.device);
    }

    static bool SharesMemory(Tensor input, Tensor output)
    {
        if (input.Handle == output.Handle) return true;
        // A view or an alias (dropout in evaluation mode) has its input's storage: compare the storages' addresses.
        if (input.numel() == 0 || output.numel() == 0 || input.dtype != output.dtype) return false;
        return input.dtype switch
        {
            ScalarType.Float32 => StorageAddress<float>(input) == StorageAddress<float>(output),
            ScalarType.Float64 => StorageAddress<double>(input) == StorageAddress<double>(output),
            _ => false,
        };
    }

    static IntPtr StorageAddress<T>(Tensor t) where T : unmanaged
    {
        using var storage = t.storage<T>();
        return storage.data_ptr();
    }
}
