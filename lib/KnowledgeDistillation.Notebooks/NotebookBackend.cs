using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KnowledgeDistillation.Notebooks;

/// <summary>Which libtorch a notebook loads.</summary>
public enum TorchBackend
{
    /// <summary>TorchSharp-cpu, as the committed notebooks reference it.</summary>
    Cpu,
    /// <summary>TorchSharp's CUDA package for this operating system (TorchSharp-cuda-linux or TorchSharp-cuda-windows),
    /// at the same version.</summary>
    Cuda,
}

/// <summary>
/// Switches a notebook from TorchSharp-cpu to TorchSharp's CUDA package for <c>kd notebooks run --backend cuda</c> and
/// <c>kd notebooks export --backend cuda</c>: the line <c>#r "nuget: TorchSharp-cpu, V"</c> becomes
/// <c>#r "nuget: TorchSharp-cuda-linux, V"</c> (<c>TorchSharp-cuda-windows</c> on Windows), with the same pinned version,
/// and nothing else changes. The committed notebooks keep TorchSharp-cpu (a test keeps their set-up cells identical);
/// in VS Code, change that one line of the first code cell by hand.
/// </summary>
public static partial class NotebookBackend
{
    /// <summary>The package the committed notebooks reference.</summary>
    public const string CpuPackage = "TorchSharp-cpu";

    /// <summary>TorchSharp's CUDA package for Windows or for Linux.</summary>
    public static string CudaPackage(bool windows) => windows ? "TorchSharp-cuda-windows" : "TorchSharp-cuda-linux";

    /// <summary>The TorchSharp package that <paramref name="backend"/> means on this operating system.</summary>
    public static string Package(TorchBackend backend) => backend == TorchBackend.Cuda ? CudaPackage(OperatingSystem.IsWindows()) : CpuPackage;

    /// <summary>Reads "cpu" or "cuda" (any case, surrounding spaces ignored).</summary>
    public static bool TryParse(string? value, out TorchBackend backend)
    {
        switch (value?.Trim().ToLowerInvariant())
        {
            case "cpu":
                backend = TorchBackend.Cpu;
                return true;
            case "cuda":
                backend = TorchBackend.Cuda;
                return true;
            default:
                backend = TorchBackend.Cpu;
                return false;
        }
    }

    /// <summary>Reads "cpu" or "cuda".</summary>
    /// <exception cref="ArgumentException">Any other value; the message names it and the two allowed.</exception>
    public static TorchBackend Parse(string? value) =>
        TryParse(value, out var backend) ? backend : throw new ArgumentException($"Unknown backend '{value}': use cpu or cuda.", nameof(value));

    /// <summary>
    /// Cell code with each <c>#r "nuget: TorchSharp-cpu, V"</c> line switched to <paramref name="backend"/>'s package at
    /// the same version. Every other line, and the code for <see cref="TorchBackend.Cpu"/>, comes back unchanged.
    /// </summary>
    /// <param name="source">A code cell's source.</param>
    /// <param name="backend">The backend to load.</param>
    /// <param name="windows">Whether the CUDA package is the Windows one (default: this machine's operating system).</param>
    public static string ApplyToSource(string source, TorchBackend backend, bool? windows = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (backend == TorchBackend.Cpu) return source;
        string package = CudaPackage(windows ?? OperatingSystem.IsWindows());
        return CpuReference().Replace(source, m => m.Groups["before"].Value + package + m.Groups["after"].Value);
    }

    /// <summary>
    /// A notebook's JSON with <see cref="ApplyToSource"/> applied to every code cell (line by line where the source is a
    /// list of lines, as Jupyter writes it), and the number of references it switched.
    /// </summary>
    /// <exception cref="InvalidDataException">The text is not a notebook.</exception>
    public static (string Json, int Switched) ApplyToNotebook(string notebookJson, TorchBackend backend, bool? windows = null)
    {
        ArgumentNullException.ThrowIfNull(notebookJson);
        if (backend == TorchBackend.Cpu) return (notebookJson, 0);
        var notebook = JsonNode.Parse(notebookJson) as JsonObject ?? throw new InvalidDataException("The notebook is not a JSON object.");
        int switched = 0;
        foreach (var cell in notebook["cells"]?.AsArray() ?? [])
        {
            if (cell?["cell_type"]?.GetValue<string>() != "code") continue;
            switch (cell["source"])
            {
                case JsonArray lines:
                    for (int i = 0; i < lines.Count; i++)
                        if (lines[i]?.GetValue<string>() is { } line && Switch(line) is { } changed)
                            lines[i] = changed;
                    break;
                case JsonValue value when value.TryGetValue<string>(out var text) && Switch(text) is { } changed:
                    cell["source"] = changed;
                    break;
            }
        }
        return (switched > 0 ? notebook.ToJsonString() : notebookJson, switched);

        string? Switch(string text)
        {
            int count = CpuReference().Count(text);
            if (count == 0) return null;
            switched += count;
            return ApplyToSource(text, backend, windows);
        }
    }

    /// <summary><c>#r "nuget: TorchSharp-cpu, V"</c> on a line of its own (a line break after it stays outside the match).</summary>
    [GeneratedRegex("""^(?<before>[ \t]*#r[ \t]+"nuget:[ \t]*)TorchSharp-cpu(?<after>[ \t]*,[^"\r\n]+"[ \t]*)(?=\r?$)""", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex CpuReference();
}
