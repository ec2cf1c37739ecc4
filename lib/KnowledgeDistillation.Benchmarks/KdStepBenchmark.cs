using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>One KD training step's cost in TorchSharp (this library) and in PyTorch (the Python peer), one thread count.</summary>
/// <param name="Threads">Intra-op threads on both sides.</param>
/// <param name="TorchSharpMs">The median step of each TorchSharp run, in milliseconds.</param>
/// <param name="PyTorchMs">The median step of each PyTorch run, in milliseconds; empty when the peer was skipped.</param>
/// <param name="TorchSharpLoss">The mean loss over the steps of a TorchSharp run.</param>
/// <param name="PyTorchLoss">The mean loss over the steps of a PyTorch run; NaN when the peer was skipped.</param>
public sealed record StepComparison(int Threads, IReadOnlyList<double> TorchSharpMs, IReadOnlyList<double> PyTorchMs, double TorchSharpLoss, double PyTorchLoss)
{
    /// <summary>Median over runs of each run's median TorchSharp step.</summary>
    public double TorchSharpMedianMs => Stats.Median(TorchSharpMs);

    /// <summary>Median over runs of each run's median PyTorch step.</summary>
    public double PyTorchMedianMs => PyTorchMs.Count == 0 ? double.NaN : Stats.Median(PyTorchMs);

    /// <summary>Median of each round's TorchSharp / PyTorch ratio (A and B measured next to each other); the goal is at most 0.8.</summary>
    public double Ratio => PyTorchMs.Count == 0 ? double.NaN : Stats.Median(TorchSharpMs.Zip(PyTorchMs, (a, b) => a / b).ToList());

    /// <summary>|mean loss TorchSharp − mean loss PyTorch|; must be at most 1e-5 for a fair comparison.</summary>
    public double LossDifference => Math.Abs(TorchSharpLoss - PyTorchLoss);
}

/// <summary>
/// Figure 1: the same KD step (student MLP, cached teacher logits, batch 128, Hinton loss T = 4, α = 0.9, SGD lr 0.05)
/// in TorchSharp and in PyTorch, on the same data and initial weights, alternating A B A B.
/// </summary>
static class KdStepBenchmark
{
    public const int Batch = 128;
    const double T = 4.0, Alpha = 0.9, LearningRate = 0.05;

    public sealed record Settings(IReadOnlyList<long> Hidden, int Batches, int Steps, int Warmup, int Rounds, IReadOnlyList<int> Threads);

    public static IReadOnlyList<StepComparison> Run(Settings s, string? python, Action<string> log)
    {
        string data = Directory.CreateTempSubdirectory("kd-bench-step-").FullName;
        try
        {
            WriteInputs(data, s);
            var results = new List<StepComparison>();
            foreach (int threads in s.Threads)
            {
                var ts = new List<double>();
                var pt = new List<double>();
                double tsLoss = double.NaN, ptLoss = double.NaN;
                for (int r = 0; r < s.Rounds; r++)
                {
                    var (tsMs, loss) = TimeTorchSharp(data, s, threads);
                    ts.Add(tsMs);
                    tsLoss = loss;
                    string line = $"step, {threads} thread(s), round {r + 1}/{s.Rounds}: TorchSharp {tsMs:F3} ms";
                    if (python is not null)
                    {
                        var (ptMs, pl) = TimePyTorch(python, data, s, threads);
                        pt.Add(ptMs);
                        ptLoss = pl;
                        line += $", PyTorch {ptMs:F3} ms";
                    }
                    log(line);
                }
                results.Add(new StepComparison(threads, ts, pt, tsLoss, ptLoss));
            }
            return results;
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>Writes Fashion-MNIST-shaped inputs, teacher logits, labels and the student's initial weights as raw little-endian files.</summary>
    static void WriteInputs(string dir, Settings s)
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var x = randn(s.Batches, Batch, 784);
        var teacher = randn(s.Batches, Batch, 10).mul(3);
        var labels = randint(0, 10, [s.Batches, Batch], dtype: int64);
        manual_seed(1);
        using var student = new Mlp(784, s.Hidden, 10, name: "BenchStudent");
        var parameters = student.parameters().ToList();
        File.WriteAllBytes(Path.Combine(dir, "x.f32"), x.bytes.ToArray());
        File.WriteAllBytes(Path.Combine(dir, "teacher.f32"), teacher.bytes.ToArray());
        File.WriteAllBytes(Path.Combine(dir, "labels.i64"), labels.bytes.ToArray());
        using (var w = File.Create(Path.Combine(dir, "weights.f32")))
            foreach (var p in parameters) w.Write(p.detach().contiguous().bytes);
        var meta = new
        {
            batch = Batch, batches = s.Batches, features = 784, classes = 10, hidden = s.Hidden,
            shapes = parameters.Select(p => p.shape).ToArray(), temperature = T, alpha = Alpha, lr = LearningRate,
        };
        File.WriteAllText(Path.Combine(dir, "meta.json"), JsonSerializer.Serialize(meta));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("The peer's files are little-endian.");
    }

    static Tensor Load(string path, ScalarType type, long[] shape)
    {
        var bytes = File.ReadAllBytes(path);
        var t = empty(shape, dtype: type);
        t.bytes = bytes;
        return t;
    }

    /// <summary>One TorchSharp run: fresh student from the written weights, warm-up steps, then timed steps. Returns the median step (ms) and the mean loss.</summary>
    static (double MedianMs, double MeanLoss) TimeTorchSharp(string dir, Settings s, int threads)
    {
        int before = get_num_threads();
        set_num_threads(threads);
        try
        {
            using var scope = NewDisposeScope();
            var x = Load(Path.Combine(dir, "x.f32"), ScalarType.Float32, [s.Batches, Batch, 784]);
            var teacher = Load(Path.Combine(dir, "teacher.f32"), ScalarType.Float32, [s.Batches, Batch, 10]);
            var labels = Load(Path.Combine(dir, "labels.i64"), ScalarType.Int64, [s.Batches, Batch]);
            using var student = new Mlp(784, s.Hidden, 10, name: "BenchStudent");
            var weights = File.ReadAllBytes(Path.Combine(dir, "weights.f32"));
            int offset = 0;
            using (no_grad())
                foreach (var p in student.parameters())
                {
                    int n = (int)p.numel() * sizeof(float);
                    p.bytes = weights.AsSpan(offset, n);
                    offset += n;
                }
            if (offset != weights.Length) throw new InvalidDataException("weights.f32 does not match the student.");
            using var loss = new HintonKDLoss(T, Alpha);
            using var optimizer = optim.SGD(student.parameters(), LearningRate);
            student.train();
            var xs = Enumerable.Range(0, s.Batches).Select(i => x[i]).ToArray();
            var ts = Enumerable.Range(0, s.Batches).Select(i => teacher[i]).ToArray();
            var ys = Enumerable.Range(0, s.Batches).Select(i => labels[i]).ToArray();
            var ms = new List<double>(s.Steps);
            double lossSum = 0;
            var clock = new Stopwatch();
            for (int i = 0; i < s.Warmup + s.Steps; i++)
            {
                int b = i % s.Batches;
                clock.Restart();
                using (NewDisposeScope())
                {
                    var value = loss.call(student.call(xs[b]), ts[b], ys[b]);
                    optimizer.zero_grad();
                    value.backward();
                    optimizer.step();
                    lossSum += value.item<float>();
                }
                clock.Stop();
                if (i >= s.Warmup) ms.Add(clock.Elapsed.TotalMilliseconds);
            }
            return (Stats.Median(ms), lossSum / (s.Warmup + s.Steps));
        }
        finally
        {
            set_num_threads(before);
        }
    }

    /// <summary>One PyTorch run of the peer script in its own process (its start-up is not timed: the script times its steps).</summary>
    static (double MedianMs, double MeanLoss) TimePyTorch(string python, string dir, Settings s, int threads)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { PeerScript, dir, "--threads", I(threads), "--steps", I(s.Steps), "--warmup", I(s.Warmup), "--seed", "0" })
            start.ArgumentList.Add(a);
        // The peer's thread count is set by its argument, not by inherited OpenMP/MKL variables.
        start.Environment.Remove("OMP_NUM_THREADS");
        start.Environment.Remove("MKL_NUM_THREADS");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {python}.");
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"The PyTorch peer failed ({process.ExitCode}): {stderr.Result}");
        using var json = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        var seconds = json.RootElement.GetProperty("seconds").EnumerateArray().Select(e => e.GetDouble() * 1000).ToList();
        int reported = json.RootElement.GetProperty("threads").GetInt32();
        if (reported != threads) throw new InvalidOperationException($"The PyTorch peer ran with {reported} threads, not {threads}.");
        return (Stats.Median(seconds), json.RootElement.GetProperty("mean_loss").GetDouble());
    }

    static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>pytorch_peer.py, copied next to the benchmark's assembly.</summary>
    public static string PeerScript => Path.Combine(AppContext.BaseDirectory, "pytorch_peer.py");

    /// <summary>
    /// A Python with torch and numpy: $KD_PYTHON, else Debian's /usr/bin/python3, else python3 on PATH; null (with the
    /// reason) when none imports torch, or when KD_PYTHON=none.
    /// </summary>
    public static string? FindPython(out string reason)
    {
        var candidates = new List<string>();
        string? env = Environment.GetEnvironmentVariable("KD_PYTHON");
        if (env == "none")
        {
            reason = "KD_PYTHON=none";
            return null;
        }
        if (env is { Length: > 0 }) candidates.Add(env);
        candidates.Add("/usr/bin/python3");
        candidates.Add("python3");
        foreach (var c in candidates.Distinct())
        {
            try
            {
                var start = new ProcessStartInfo(c) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                start.ArgumentList.Add("-c");
                start.ArgumentList.Add("import numpy, torch; c = torch.__config__.show(); " +
                                       "print(torch.__version__, 'BLAS_INFO=' + (c.split('BLAS_INFO=')[1].split(',')[0] if 'BLAS_INFO=' in c else '?'))");
                using var p = Process.Start(start);
                if (p is null) continue;
                string version = p.StandardOutput.ReadToEnd().Trim();
                p.StandardError.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode == 0)
                {
                    reason = $"{c}, torch {version}";
                    return c;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // not installed; try the next
            }
        }
        reason = "no Python with torch found ($KD_PYTHON, /usr/bin/python3, python3); on Debian: apt-get install -y python3-torch";
        return null;
    }
}
