using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace KnowledgeDistillation.Runtime;

/// <summary>What <see cref="TorchNative.EnsureLoaded"/> found and did.</summary>
public enum TorchNativeAction
{
    /// <summary>Not Linux: TorchSharp loads its natives itself.</summary>
    NotNeeded,
    /// <summary>The system's libstdc++ has every version TorchSharp's native library needs; nothing was changed.</summary>
    SystemSufficient,
    /// <summary>A patched copy of libLibTorchSharp.so was loaded from the cache folder.</summary>
    Patched,
    /// <summary>Switched off with <c>KD_TORCH_NATIVE=off</c>.</summary>
    Disabled,
    /// <summary>TorchSharp's native files were not found; TorchSharp will report that itself.</summary>
    NotFound,
    /// <summary>Something unexpected: the message says what; TorchSharp is left to load on its own.</summary>
    Failed,
}

/// <summary>The outcome of <see cref="TorchNative.EnsureLoaded"/>.</summary>
/// <param name="Action">What was done.</param>
/// <param name="Message">One line for a log.</param>
/// <param name="LibTorchSharpPath">The libLibTorchSharp.so that was found or loaded, if any.</param>
public sealed record TorchNativeReport(TorchNativeAction Action, string Message, string? LibTorchSharpPath);

/// <summary>
/// Makes TorchSharp's native library load on Linux systems whose libstdc++ is older than the one it was built against.
/// </summary>
/// <remarks>
/// <para>
/// Why: TorchSharp 0.107.0's <c>libLibTorchSharp.so</c> lists <c>GLIBCXX_3.4.32</c> (GCC 13's libstdc++) in its
/// <c>.gnu.version_r</c> section, but uses that version only for the marker symbol
/// <c>_ZSt21ios_base_library_initv</c>, which no relocation binds. Debian 12 and Ubuntu 22.04 ship libstdc++ up to
/// <c>GLIBCXX_3.4.30</c>, so the dynamic loader refuses the file and the first <c>torch.*</c> call fails.
/// </para>
/// <para>
/// What: when, and only when, the system's libstdc++ lacks exactly that version, a copy of the library is written to
/// a cache folder (never the NuGet cache) with <c>VER_FLG_WEAK</c> set on that one need. libtorch's libraries and the
/// patched copy are then loaded by absolute path before TorchSharp's first native call; TorchSharp's own load of
/// "LibTorchSharp" is then satisfied by the already-loaded library's SONAME. Where the original loads, nothing is done.
/// </para>
/// <para>
/// The library calls this from its module initializer, so using any type of this library first is enough; the CLI,
/// the tests and the notebooks also call it explicitly.
/// </para>
/// </remarks>
public static class TorchNative
{
    /// <summary>The one version need this class knows to be safe to weaken.</summary>
    public const string WeakenedVersion = "GLIBCXX_3.4.32";
    const string LibStdCxx = "libstdc++.so.6";
    const string LibTorchSharp = "libLibTorchSharp.so";

    static readonly Lock Gate = new();
    static TorchNativeReport? report;

    /// <summary>What the first call did, or null before it.</summary>
    public static TorchNativeReport? Report => report;

    /// <summary>
    /// Prepares TorchSharp's natives once per process (later calls return the first report) and writes one log line
    /// to standard error. Never throws: failures are reported and TorchSharp is left to raise its own error.
    /// </summary>
    public static TorchNativeReport EnsureLoaded()
    {
        lock (Gate)
        {
            if (report is not null) return report;
            try
            {
                report = Prepare();
            }
            catch (Exception e)
            {
                report = new TorchNativeReport(TorchNativeAction.Failed, $"could not prepare TorchSharp's natives: {e.Message}", null);
            }
            if (Environment.GetEnvironmentVariable("KD_TORCH_NATIVE_QUIET") != "1")
                Console.Error.WriteLine($"[kd] torch native: {report.Message}");
            return report;
        }
    }

#pragma warning disable CA2255 // A module initializer in a library is deliberate: TorchSharp must not run first.
    [ModuleInitializer]
    internal static void OnLibraryLoad() => EnsureLoaded();
#pragma warning restore CA2255

    static TorchNativeReport Prepare()
    {
        if (!OperatingSystem.IsLinux())
            return new(TorchNativeAction.NotNeeded, "not Linux; TorchSharp loads its natives itself", null);
        if (string.Equals(Environment.GetEnvironmentVariable("KD_TORCH_NATIVE"), "off", StringComparison.OrdinalIgnoreCase))
            return new(TorchNativeAction.Disabled, "KD_TORCH_NATIVE=off; left to TorchSharp", null);

        var torchSharpDirs = NativeSearchDirectories().ToList();
        string? original = torchSharpDirs.Select(d => Path.Combine(d, LibTorchSharp)).FirstOrDefault(File.Exists);
        if (original is null)
            return new(TorchNativeAction.NotFound,
                $"{LibTorchSharp} not found (looked in {string.Join(", ", torchSharpDirs)}); reference the TorchSharp-cpu package", null);

        byte[] bytes = File.ReadAllBytes(original);
        var needs = ElfSymbolVersions.ReadNeeds(bytes);
        string libstdcxx = LoadedLibraryPath(LibStdCxx)
            ?? throw new InvalidOperationException($"could not find the process's {LibStdCxx}");
        var defined = ElfSymbolVersions.ReadDefinitions(File.ReadAllBytes(libstdcxx));
        var missing = MissingVersions(needs, defined);
        switch (Decide(missing))
        {
            case TorchNativeAction.SystemSufficient:
                return new(TorchNativeAction.SystemSufficient, $"{libstdcxx} has every version {LibTorchSharp} needs; nothing changed", original);
            case TorchNativeAction.Failed:
                return new(TorchNativeAction.Failed,
                    $"{libstdcxx} lacks {string.Join(", ", missing)}, which is more than the known-safe {WeakenedVersion}; not patching", original);
        }

        string libtorchDir = FindLibTorchDirectory(Path.GetDirectoryName(original)!)
            ?? throw new InvalidOperationException("libtorch_cpu.so not found; reference the TorchSharp-cpu package");
        string patched = WritePatchedCopy(original, bytes);

        // Load libtorch by absolute path first, so that the patched copy's NEEDED entries
        // (libtorch.so, libc10.so, libtorch_cpu.so) are satisfied by SONAME, whatever its RUNPATH says.
        foreach (var name in new[] { "libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so" })
        {
            var path = Path.Combine(libtorchDir, name);
            if (File.Exists(path)) NativeLibrary.Load(path);
        }
        NativeLibrary.Load(patched);
        return new(TorchNativeAction.Patched,
            $"{libstdcxx} lacks {WeakenedVersion}; loaded a copy of {LibTorchSharp} with that need marked weak ({patched}) and libtorch from {libtorchDir}",
            patched);
    }

    /// <summary>The versions among <paramref name="needs"/> (non-weak needs from libstdc++) that <paramref name="defined"/> lacks.</summary>
    internal static IReadOnlyList<string> MissingVersions(IEnumerable<ElfVersionNeed> needs, IReadOnlySet<string> defined) =>
        needs.Where(n => n.File == LibStdCxx && !n.IsWeak && !defined.Contains(n.Name)).Select(n => n.Name).Distinct().ToList();

    /// <summary>
    /// Nothing missing: leave TorchSharp alone. Exactly the known-safe version missing: patch. Anything else: do not
    /// patch, because a missing version that symbols really bind would only move the failure to a later call.
    /// </summary>
    internal static TorchNativeAction Decide(IReadOnlyList<string> missing) =>
        missing.Count == 0 ? TorchNativeAction.SystemSufficient
        : missing.Count == 1 && missing[0] == WeakenedVersion ? TorchNativeAction.Patched
        : TorchNativeAction.Failed;

    /// <summary>
    /// Writes the patched copy atomically (temporary file, then rename) into a folder named after the original's hash,
    /// so that two processes starting at once, or two TorchSharp versions, never see a half-written file.
    /// </summary>
    internal static string WritePatchedCopy(string original, byte[] originalBytes, string? cacheRoot = null)
    {
        string hash = Convert.ToHexStringLower(SHA256.HashData(originalBytes))[..16];
        string dir = Path.Combine(cacheRoot ?? CacheDirectory(), "torchsharp-native", hash);
        string target = Path.Combine(dir, Path.GetFileName(original));
        if (File.Exists(target) && IsPatched(File.ReadAllBytes(target), originalBytes.Length))
            return target;

        Directory.CreateDirectory(dir);
        byte[] copy = (byte[])originalBytes.Clone();
        ElfSymbolVersions.MarkWeak(copy, LibStdCxx, WeakenedVersion);
        string temp = Path.Combine(dir, $".{Path.GetFileName(original)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(temp, copy);
        File.Move(temp, target, overwrite: true);
        return target;
    }

    static bool IsPatched(byte[] candidate, int expectedLength)
    {
        if (candidate.Length != expectedLength) return false;
        try
        {
            return ElfSymbolVersions.ReadNeeds(candidate).Any(n => n.File == LibStdCxx && n.Name == WeakenedVersion && n.IsWeak);
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>The per-user cache folder: <c>KD_CACHE_DIR</c>, else <c>$XDG_CACHE_HOME/knowledge-distillation</c>,
    /// else <c>~/.cache/knowledge-distillation</c>.</summary>
    public static string CacheDirectory()
    {
        var explicitDir = Environment.GetEnvironmentVariable("KD_CACHE_DIR");
        if (!string.IsNullOrEmpty(explicitDir)) return explicitDir;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "knowledge-distillation");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home)
            ? Path.Combine(Path.GetTempPath(), "knowledge-distillation")
            : Path.Combine(home, ".cache", "knowledge-distillation");
    }

    /// <summary>Where TorchSharp's native files may be: next to the app (a RID-specific build), under runtimes/
    /// (a portable build), or in the NuGet cache next to TorchSharp.dll (a notebook kernel).</summary>
    static IEnumerable<string> NativeSearchDirectories()
    {
        string rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        string baseDir = AppContext.BaseDirectory;
        yield return baseDir;
        yield return Path.Combine(baseDir, "runtimes", rid, "native");

        var torchSharp = typeof(TorchSharp.torch).Assembly;
        string? asmDir = string.IsNullOrEmpty(torchSharp.Location) ? null : Path.GetDirectoryName(torchSharp.Location);
        if (asmDir is not null)
        {
            yield return asmDir;
            // NuGet layout: torchsharp/<version>/lib/net8.0/TorchSharp.dll and torchsharp/<version>/runtimes/<rid>/native.
            yield return Path.GetFullPath(Path.Combine(asmDir, "..", "..", "runtimes", rid, "native"));
        }
        var version = torchSharp.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0];
        if (version is not null)
            yield return Path.Combine(NuGetPackagesDirectory(), "torchsharp", version, "runtimes", rid, "native");
    }

    static string? FindLibTorchDirectory(string libTorchSharpDir)
    {
        string rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        var candidates = new List<string> { libTorchSharpDir, AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native") };

        // A notebook kernel: libtorch sits in its own NuGet package, libtorch-cpu-<rid>/<version>/runtimes/<rid>/native.
        var libtorchVersion = typeof(TorchSharp.torch).GetField("libtorchPackageVersion", BindingFlags.NonPublic | BindingFlags.Static)?.GetRawConstantValue() as string;
        var packageDir = Path.Combine(NuGetPackagesDirectory(), $"libtorch-cpu-{rid}");
        if (Directory.Exists(packageDir))
        {
            var versions = Directory.GetDirectories(packageDir).Select(Path.GetFileName).OfType<string>()
                .OrderByDescending(v => libtorchVersion is not null && libtorchVersion.StartsWith(v, StringComparison.Ordinal))
                .ThenByDescending(v => v, StringComparer.Ordinal);
            candidates.AddRange(versions.Select(v => Path.Combine(packageDir, v, "runtimes", rid, "native")));
        }
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "libtorch_cpu.so")));
    }

    static string NuGetPackagesDirectory()
    {
        var env = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        return !string.IsNullOrEmpty(env)
            ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
    }

    /// <summary>The path of a shared library as the process has loaded it (loading it first if need be).</summary>
    static string? LoadedLibraryPath(string soname)
    {
        NativeLibrary.TryLoad(soname, out _);
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/');
            if (slash < 0) continue;
            var path = line[slash..];
            if (Path.GetFileName(path).StartsWith(soname.Split(".so")[0] + ".so", StringComparison.Ordinal))
                return path;
        }
        return null;
    }
}
