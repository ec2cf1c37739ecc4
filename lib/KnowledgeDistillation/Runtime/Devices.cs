using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Runtime;

/// <summary>The device a run asks for by name.</summary>
public static class Devices
{
    /// <summary>
    /// Parses a device name: <c>auto</c> (CUDA when TorchSharp reports it, else the CPU), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not one of those, or CUDA was asked for but is not available.</exception>
    public static Device Resolve(string name = "auto")
    {
        string n = name.Trim().ToLowerInvariant();
        if (n == "auto") return cuda.is_available() ? CUDA : CPU;
        if (n == "cpu") return CPU;
        if (n == "cuda" || n.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new ArgumentException($"Device '{name}' was asked for, but CUDA is not available here (TorchSharp-cpu build, or no NVIDIA driver). Use 'auto' or 'cpu'.", nameof(name));
            if (n == "cuda") return CUDA;
            if (int.TryParse(n[5..], out int index) && index >= 0 && index < cuda.device_count())
                return new Device(DeviceType.CUDA, index);
            throw new ArgumentException($"Device '{name}': there are {cuda.device_count()} CUDA device(s).", nameof(name));
        }
        throw new ArgumentException($"Unknown device '{name}'. Use auto, cpu, cuda or cuda:N.", nameof(name));
    }

    /// <summary>
    /// Whether <paramref name="device"/> does bfloat16 arithmetic in hardware, so that
    /// <see cref="Training.TrainingPrecision.BFloat16"/> runs faster there than float32: a CUDA device of compute capability
    /// 8.0 or above (Ampere and later), or a CPU whose flags in <c>/proc/cpuinfo</c> (Linux) include <c>avx512_bf16</c> or
    /// <c>amx_bf16</c>. Elsewhere (other CPUs, or other operating systems, where this does not look) bfloat16 is emulated:
    /// correct, but slower than float32.
    /// </summary>
    public static bool HasFastBFloat16(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.type == DeviceType.CUDA)
            return CudaDevices.Query().Devices.FirstOrDefault(d => d.Ordinal == Math.Max(0, (int)device.index)) is { ComputeMajor: >= 8 };
        return device.type == DeviceType.CPU && CpuFlags.Value.Overlaps(["avx512_bf16", "amx_bf16"]);
    }

    /// <summary>The CPU's feature flags from the first "flags" line of /proc/cpuinfo; empty where there is none.</summary>
    static readonly Lazy<HashSet<string>> CpuFlags = new(() =>
    {
        try
        {
            if (!OperatingSystem.IsLinux() || !File.Exists("/proc/cpuinfo")) return [];
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            return line is null ? [] : [.. line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        }
        catch (IOException)
        {
            return [];
        }
    });

    /// <summary>The tensor on <paramref name="device"/> as a new handle (an alias when it is there already), so that
    /// disposing it never frees the caller's tensor.</summary>
    internal static Tensor OnDevice(Tensor t, Device device) =>
        t.device_type == device.type && t.device_index == device.index ? t.alias() : t.to(device);
}
