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

    /// <summary>The tensor on <paramref name="device"/> as a new handle (an alias when it is there already), so that
    /// disposing it never frees the caller's tensor.</summary>
    internal static Tensor OnDevice(Tensor t, Device device) =>
        t.device_type == device.type && t.device_index == device.index ? t.alias() : t.to(device);
}
