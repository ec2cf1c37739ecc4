using System.Globalization;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>The machine's assumed float32 peak, derived from /proc/cpuinfo.</summary>
/// <param name="Model">The CPU's model name.</param>
/// <param name="Cores">Logical processors this process may use.</param>
/// <param name="Gigahertz">The clock assumed (cpuinfo's "cpu MHz").</param>
/// <param name="FlopsPerCycle">float32 FLOPs per cycle and core: FMA units × lanes × 2.</param>
/// <param name="Derivation">How <paramref name="FlopsPerCycle"/> was chosen, in words.</param>
sealed record CpuPeak(string Model, int Cores, double Gigahertz, int FlopsPerCycle, string Derivation)
{
    /// <summary>Cores × clock × FLOPs per cycle, in GFLOP/s.</summary>
    public double PeakGflops => Cores * Gigahertz * FlopsPerCycle;

    public static CpuPeak Detect()
    {
        string text = File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : "";
        string Field(string name) => text.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(':') + 1)..].Trim()).FirstOrDefault() ?? "";
        string model = Field("model name") is { Length: > 0 } m ? m : "unknown CPU";
        var flags = Field("flags").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        double mhz = double.TryParse(Field("cpu MHz"), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 2000;
        bool amd = Field("vendor_id").Contains("AMD", StringComparison.Ordinal) || model.Contains("AMD", StringComparison.Ordinal);
        int perCycle;
        string how;
        if (flags.Contains("avx512f") && amd && !flags.Contains("avx512_vp2intersect"))
        {
            perCycle = 32;
            how = "AMD with AVX-512 but no VP2INTERSECT: Zen 4, which runs AVX-512 on 2 × 256-bit FMA pipes: 2 × 8 lanes × 2 = 32 FLOP/cycle";
        }
        else if (flags.Contains("avx512f"))
        {
            perCycle = 64;
            how = "AVX-512 with 2 × 512-bit FMA units (Zen 5, server Xeons): 2 × 16 lanes × 2 = 64 FLOP/cycle";
        }
        else if (flags.Contains("avx2") && flags.Contains("fma"))
        {
            perCycle = 32;
            how = "AVX2 + FMA, 2 × 256-bit FMA units: 2 × 8 lanes × 2 = 32 FLOP/cycle";
        }
        else
        {
            perCycle = 8;
            how = "no AVX2/FMA: 2 × 128-bit SSE (mul + add): 2 × 4 lanes = 8 FLOP/cycle";
        }
        return new CpuPeak(model, Environment.ProcessorCount, mhz / 1000, perCycle, how);
    }

    public override string ToString() =>
        $"{Model}, {Cores} logical cores at {Gigahertz:F2} GHz (cpuinfo's cpu MHz); {Derivation}; peak = {Cores} × {Gigahertz:F2} GHz × {FlopsPerCycle} = {PeakGflops:F1} GFLOP/s float32";
}
