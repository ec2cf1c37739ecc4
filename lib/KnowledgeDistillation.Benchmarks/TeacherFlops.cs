using System.Diagnostics;
using KnowledgeDistillation.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>One measured kernel or step: FLOPs per call and the median seconds per call.</summary>
sealed record FlopRate(string Name, double FlopsPerCall, double MedianSeconds)
{
    public double Gflops => FlopsPerCall / MedianSeconds / 1e9;
}

/// <summary>
/// Figure 3: achieved FLOP/s training the CNN teacher (batch 128, SGD, cross entropy), and a breakdown that shows where
/// the time goes: a plain matrix product (the ceiling libtorch's GEMM reaches here), each convolution alone, the forward
/// pass, and the whole step.
/// </summary>
/// <remarks>
/// Training FLOPs are counted as 3 × the forward FLOPs (forward, gradient of the input, gradient of the weights), the
/// usual convention; the forward FLOPs are <see cref="SmallCnn.FlopsPerSample"/> (convolutions and linear layers only).
/// </remarks>
static class TeacherFlops
{
    public static IReadOnlyList<FlopRate> Measure(int steps, int warmup, Action<string> log)
    {
        const int batch = 128;
        manual_seed(0);
        using var scope = NewDisposeScope();
        var rates = new List<FlopRate>();
        var images = randn(batch, 1, 28, 28);
        var labels = randint(0, 10, [batch], dtype: int64);

        var a = randn(512, 512);
        var b = randn(512, 512);
        rates.Add(new($"matmul 512×512×512 (GEMM ceiling), {get_num_threads()} threads", 2.0 * 512 * 512 * 512, Time(steps, warmup, () => a.matmul(b))));
        // The same product on one thread: on a shared machine a parallel region waits for its slowest thread, which
        // may be descheduled for a whole time slice; one thread shows what a core does alone.
        int threads = get_num_threads();
        set_num_threads(1);
        try
        {
            rates.Add(new("matmul 512×512×512, 1 thread", 2.0 * 512 * 512 * 512, Time(steps, warmup, () => a.matmul(b))));
        }
        finally
        {
            set_num_threads(threads);
        }

        var w1 = randn(32, 1, 3, 3);
        rates.Add(new("conv1 forward (1→32, 28×28)", batch * (double)Flops.Conv2d(1, 32, 3, 28, 28),
            Time(steps, warmup, () => F.conv2d(images, w1, padding: [1, 1]))));
        var x2 = randn(batch, 32, 14, 14);
        var w2 = randn(64, 32, 3, 3);
        rates.Add(new("conv2 forward (32→64, 14×14)", batch * (double)Flops.Conv2d(32, 64, 3, 14, 14),
            Time(steps, warmup, () => F.conv2d(x2, w2, padding: [1, 1]))));

        using var teacher = SmallCnn.Teacher();
        double forward = batch * (double)teacher.FlopsPerSample();
        teacher.eval();
        using (no_grad())
            rates.Add(new("teacher forward (eval, no grad)", forward, Time(steps, warmup, () => teacher.call(images))));

        teacher.train();
        using var optimizer = optim.SGD(teacher.parameters(), 0.01);
        rates.Add(new("teacher training step (3 × forward FLOPs)", 3 * forward, Time(steps, warmup, () =>
        {
            var loss = F.cross_entropy(teacher.call(images), labels);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            return loss;
        })));
        foreach (var r in rates) log($"flops: {r.Name}: {r.MedianSeconds * 1000:F2} ms, {r.Gflops:F1} GFLOP/s");
        return rates;
    }

    /// <summary>
    /// What might raise the teacher's FLOP/s, each measured as a whole training step (3 × forward FLOPs) against the plain
    /// one of the same run: a larger batch, the channels-last layout (weights and images laid out NHWC, so that oneDNN may
    /// pick its direct convolution), bfloat16 weights and images, and a first layer shaped for the hardware (the 1-channel
    /// 3×3 convolution at 28×28 against a 4-channel one at 14×14 on the space-to-depth image, the same FLOPs per image).
    /// </summary>
    public static IReadOnlyList<FlopRate> Alternatives(int steps, int warmup, Action<string> log)
    {
        using var scope = NewDisposeScope();
        var rates = new List<FlopRate>();
        static Tensor ChannelsLast(Tensor t) => t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
        FlopRate Step(string name, int batch, bool channelsLast = false, ScalarType dtype = ScalarType.Float32)
        {
            manual_seed(0);
            using var teacher = SmallCnn.Teacher();
            if (dtype != ScalarType.Float32) teacher.to(dtype);
            if (channelsLast)
                using (no_grad())
                    foreach (var (_, p) in teacher.named_parameters())
                        if (p.dim() == 4) p.set_(ChannelsLast(p.detach().clone()));
            var images = randn(batch, 1, 28, 28).to(dtype);
            if (channelsLast) images = ChannelsLast(images);
            var labels = randint(0, 10, [batch], dtype: int64);
            teacher.train();
            using var optimizer = optim.SGD(teacher.parameters(), 0.01);
            double forward = batch * (double)teacher.FlopsPerSample();
            return new(name, 3 * forward, Time(steps, warmup, () =>
            {
                var loss = F.cross_entropy(teacher.call(images).to(ScalarType.Float32), labels);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                return loss;
            }));
        }
        rates.Add(Step("training step, batch 128 (as above)", 128));
        rates.Add(Step("training step, batch 256", 256));
        rates.Add(Step("training step, batch 512", 512));
        rates.Add(Step("training step, batch 128, channels-last", 128, channelsLast: true));
        rates.Add(Step("training step, batch 128, bfloat16", 128, dtype: ScalarType.BFloat16));

        const int b = 128;
        var image = randn(b, 1, 28, 28);
        var w1 = randn(32, 1, 3, 3).requires_grad_(true);
        rates.Add(new("conv1 forward + backward, 1→32 channels at 28×28 (as the teacher)", 3.0 * b * Flops.Conv2d(1, 32, 3, 28, 28), Time(steps, warmup, () =>
        {
            var y = F.conv2d(image, w1, padding: [1, 1]);
            y.sum().backward();
            return y;
        })));
        // Space-to-depth: each 2×2 block of pixels becomes 4 channels at 14×14; a 3×3 convolution with 4·32 = 128 outputs
        // there does 4 × 32 × 9 × 4 MACs per 14×14 position, as many per image as the 28×28 one.
        var packed = image.view(b, 1, 14, 2, 14, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4, 14, 14).contiguous();
        var w4 = randn(128, 4, 3, 3).requires_grad_(true);
        rates.Add(new("conv1 forward + backward, space-to-depth: 4→128 channels at 14×14 (same FLOPs)", 3.0 * b * Flops.Conv2d(4, 128, 3, 14, 14), Time(steps, warmup, () =>
        {
            var y = F.conv2d(packed, w4, padding: [1, 1]);
            y.sum().backward();
            return y;
        })));
        foreach (var r in rates) log($"flops, tried: {r.Name}: {r.MedianSeconds * 1000:F2} ms, {r.Gflops:F1} GFLOP/s");
        return rates;
    }

    static double Time(int steps, int warmup, Func<Tensor> work)
    {
        var seconds = new List<double>(steps);
        var clock = new Stopwatch();
        for (int i = 0; i < warmup + steps; i++)
        {
            clock.Restart();
            using (NewDisposeScope()) work();
            clock.Stop();
            if (i >= warmup) seconds.Add(clock.Elapsed.TotalSeconds);
        }
        return Stats.Median(seconds);
    }
}
