using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Setup;

/// <summary>The environment report that <c>kd info</c> and notebook 00 print.</summary>
/// <param name="DotNet">The .NET runtime, for example ".NET 10.0.12".</param>
/// <param name="Os">The operating system and architecture.</param>
/// <param name="TorchSharp">The TorchSharp package version.</param>
/// <param name="LibTorch">The libtorch version TorchSharp was built against.</param>
/// <param name="Threads">torch's intra-op thread count.</param>
/// <param name="CudaAvailable">Whether TorchSharp reports CUDA.</param>
/// <param name="CudaDevices">How many CUDA devices TorchSharp reports.</param>
/// <param name="CudaDriver">What the NVIDIA driver reports: each device's name, memory and compute capability, or why
/// there is none (<see cref="Runtime.CudaDevices.Query()"/>).</param>
/// <param name="TorchCudaLibraryLoaded">Whether TorchSharp's CUDA libtorch is loaded (a TorchSharp-cuda build).</param>
/// <param name="AutoDevice">The device that <c>auto</c> picks.</param>
/// <param name="QuickMode">Whether quick mode (<c>KD_QUICK=1</c>) is on.</param>
/// <param name="Native">What <see cref="TorchNative"/> did.</param>
/// <param name="DataDirectory">Where Fashion-MNIST is looked for.</param>
/// <param name="DataFiles">The shipped files and their checksum status.</param>
/// <param name="NotebookKernel">The .NET Interactive version of the notebook kernel this runs in, and whether it is the
/// tested one; "none" outside a notebook.</param>
/// <param name="FSharpCore">The FSharp.Core the process has loaded, if any (the charts need one).</param>
public sealed record EnvironmentReport(
    string DotNet, string Os, string TorchSharp, string LibTorch, int Threads, bool CudaAvailable, int CudaDevices,
    CudaDriverReport CudaDriver, bool TorchCudaLibraryLoaded, string AutoDevice, bool QuickMode, TorchNativeReport Native,
    string DataDirectory, IReadOnlyList<DataFileCheck> DataFiles, string NotebookKernel = "none", string FSharpCore = "not loaded")
{
    /// <summary>True when all four data files are present with the recorded checksums.</summary>
    public bool DataValid => DataFiles.All(f => f.Present && f.ChecksumMatches);

    /// <summary>The report as aligned "name: value" lines.</summary>
    public override string ToString()
    {
        var lines = new List<(string, string)>
        {
            (".NET", DotNet),
            ("OS", Os),
            ("kernel", NotebookKernel),
            ("FSharp.Core", FSharpCore),
            ("TorchSharp", TorchSharp),
            ("libtorch", LibTorch),
            ("threads", Threads.ToString()),
            ("CUDA available", CudaAvailable ? $"yes ({CudaDevices} device(s))" : "no"),
        };
        lines.AddRange(Runtime.CudaDevices.ReportLines(CudaDriver, CudaAvailable, TorchCudaLibraryLoaded));
        lines.AddRange(
        [
            ("device (auto)", AutoDevice),
            ("quick mode", QuickMode ? "on (KD_QUICK=1)" : "off"),
            ("torch native", Native.Message),
            ("dataset", DataDirectory),
        ]);
        foreach (var f in DataFiles)
            lines.Add(("  " + f.File, !f.Present ? "MISSING" : f.ChecksumMatches ? "ok (SHA-256 matches)" : $"CHECKSUM MISMATCH ({f.ActualSha256})"));
        int width = lines.Max(l => l.Item1.Length);
        return string.Join(Environment.NewLine, lines.Select(l => $"{l.Item1.PadRight(width)}  {l.Item2}"));
    }
}

/// <summary>Process-wide settings: quick mode, device choice and the environment report.</summary>
public static class KdEnvironment
{
    /// <summary>The environment variable that switches quick mode on (<c>1</c> or <c>true</c>). The notebook harness sets it.</summary>
    public const string QuickVariable = "KD_QUICK";

    /// <summary>
    /// Quick mode: small data and few epochs, so that every notebook runs in the test harness in seconds.
    /// Off by default, so that a person in VS Code gets the full run.
    /// </summary>
    public static bool QuickMode =>
        Environment.GetEnvironmentVariable(QuickVariable) is { } v &&
        (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase));

    /// <summary>The environment variable that chooses the language of the exercises' self-check messages
    /// (<see cref="Language"/>): <c>zh-TW</c> for Traditional Chinese as used in Taiwan; any other value for English.</summary>
    public const string LanguageVariable = "KD_LANG";

    /// <summary>The value of <see cref="Language"/> for Traditional Chinese as used in Taiwan.</summary>
    public const string TraditionalChinese = "zh-TW";

    /// <summary>The value of <see cref="Language"/> for English.</summary>
    public const string English = "en";

    static readonly AsyncLocal<string?> languageOverride = new();

    /// <summary>
    /// The language of the messages a learner sees (the exercises' self-checks): <see cref="TraditionalChinese"/>
    /// ("zh-TW") or <see cref="English"/> ("en"). When <c>KD_LANG</c> is set it decides: "zh-TW" (in any letter case)
    /// gives "zh-TW", any other value gives "en", whatever the directory. Otherwise the notebook's folder decides: VS Code,
    /// the test harness and <c>kd notebooks run</c> run a notebook with its folder as the working directory, so a current
    /// directory named <c>zh-TW</c> (the notebooks in notebooks/zh-TW) gives "zh-TW", and any other gives "en".
    /// Read on every call (it is cheap), so a change of the variable or of the directory takes effect at once.
    /// </summary>
    public static string Language => languageOverride.Value ?? LanguageFor(
        Environment.GetEnvironmentVariable(LanguageVariable), CurrentDirectoryName());

    /// <summary>The language that <c>KD_LANG</c> = <paramref name="variable"/> (null or empty: not set) and a current
    /// directory named <paramref name="directoryName"/> select; see <see cref="Language"/>.</summary>
    internal static string LanguageFor(string? variable, string? directoryName) =>
        !string.IsNullOrWhiteSpace(variable)
            ? IsTraditionalChinese(variable.Trim()) ? TraditionalChinese : English
            : IsTraditionalChinese(directoryName) ? TraditionalChinese : English;

    static bool IsTraditionalChinese(string? name) => string.Equals(name, TraditionalChinese, StringComparison.OrdinalIgnoreCase);

    static string? CurrentDirectoryName()
    {
        try
        {
            return Path.GetFileName(Path.TrimEndingDirectorySeparator(Directory.GetCurrentDirectory()));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // the working directory was deleted or cannot be read: English
        }
    }

    /// <summary>For tests: makes <see cref="Language"/> <paramref name="language"/> in this asynchronous flow (the test
    /// and what it calls) until the returned object is disposed, whatever <c>KD_LANG</c> and the directory say.</summary>
    internal static IDisposable UseLanguage(string language)
    {
        var previous = languageOverride.Value;
        languageOverride.Value = language;
        return new Restore(() => languageOverride.Value = previous);
    }

    sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }

    /// <summary>Returns <paramref name="full"/> normally and <paramref name="quick"/> in quick mode.</summary>
    /// <example><c>int epochs = KdEnvironment.Pick(full: 10, quick: 1);</c></example>
    public static T Pick<T>(T full, T quick) => QuickMode ? quick : full;

    /// <summary>The .NET Interactive version inside the <c>dotnet-interactive</c> tool this tutorial is tested with
    /// (1.0.712001, the last release, which Polyglot Notebooks installs; pinned in .config/dotnet-tools.json).</summary>
    public const string TestedInteractiveVersion = "1.0.0-beta.26120.1";

    /// <summary>The notebook kernel's .NET Interactive version, judged against <see cref="TestedInteractiveVersion"/>;
    /// "none" when this process is not a notebook kernel.</summary>
    public static string NotebookKernel()
    {
        var interactive = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == "Microsoft.DotNet.Interactive");
        if (interactive is null) return "none (not running in a kernel)";
        string version = interactive.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
                         ?? interactive.GetName().Version?.ToString() ?? "?";
        return version == TestedInteractiveVersion
            ? $".NET Interactive {version} (the dotnet-interactive tool 1.0.712001, the tested version)"
            : $".NET Interactive {version}: not the tested {TestedInteractiveVersion} (dotnet-interactive 1.0.712001); README.md says what to do";
    }

    static string LoadedFSharpCore() =>
        AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == "FSharp.Core")?.GetName().Version?.ToString() ?? "not loaded";

    /// <summary>Collects versions, threads, CUDA (TorchSharp's view and the NVIDIA driver's) and dataset status.</summary>
    public static EnvironmentReport Describe()
    {
        var native = TorchNative.EnsureLoaded();
        var torchSharp = typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "?";
        bool cudaAvailable = cuda.is_available();
        return new EnvironmentReport(
            DotNet: RuntimeInformation.FrameworkDescription,
            Os: $"{RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})",
            TorchSharp: torchSharp,
            LibTorch: torch.__version__,
            Threads: torch.get_num_threads(),
            CudaAvailable: cudaAvailable,
            CudaDevices: cudaAvailable ? cuda.device_count() : 0,
            CudaDriver: Runtime.CudaDevices.Query(),
            TorchCudaLibraryLoaded: Runtime.CudaDevices.TorchCudaLibraryLoaded(),
            AutoDevice: Devices.Resolve("auto").ToString(),
            QuickMode: QuickMode,
            Native: native,
            DataDirectory: FashionMnist.DefaultDirectory,
            DataFiles: FashionMnist.Verify(),
            NotebookKernel: NotebookKernel(),
            FSharpCore: LoadedFSharpCore());
    }

    /// <summary>Times <paramref name="action"/> once, in seconds.</summary>
    public static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalSeconds;
    }
}
