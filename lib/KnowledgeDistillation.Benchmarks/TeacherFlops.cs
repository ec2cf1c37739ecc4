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
