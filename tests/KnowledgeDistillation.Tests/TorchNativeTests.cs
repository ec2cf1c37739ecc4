using System.Security.Cryptography;
using KnowledgeDistillation.Runtime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

public class TorchNativeTests
{
    [Fact]
    public void Torch_works_after_EnsureLoaded()
    {
        var report = TorchNative.EnsureLoaded();
        Assert.NotEqual(TorchNativeAction.Failed, report.Action);
        Assert.NotEqual(TorchNativeAction.NotFound, report.Action);
        using var x = ones(3, 4);
        Assert.Equal(12f, x.sum().item<float>());
    }

    [Fact]
    public void EnsureLoaded_is_idempotent()
    {
        Assert.Same(TorchNative.EnsureLoaded(), TorchNative.EnsureLoaded());
    }

    [Fact]
    public void Patched_copy_is_written_once_atomically_and_leaves_the_original_alone()
    {
        if (!OperatingSystem.IsLinux()) return;
        var original = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        var before = SHA256.HashData(File.ReadAllBytes(original));
        using var cache = new TempDirectory();

        // Eight writers at once, as when several processes start together: all must end with one valid file.
        var paths = new string[8];
        Parallel.For(0, paths.Length, i => paths[i] = TorchNative.WritePatchedCopy(original, File.ReadAllBytes(original), cache.Path));

        Assert.Single(paths.Distinct());
        var patched = File.ReadAllBytes(paths[0]);
        Assert.True(ElfSymbolVersions.ReadNeeds(patched).Single(n => n.Name == TorchNative.WeakenedVersion).IsWeak);
        Assert.Equal(new FileInfo(original).Length, patched.Length);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(paths[0])!, "*.tmp"));
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(original)));

        // A second call finds the valid copy and does not rewrite it.
        var stamp = File.GetLastWriteTimeUtc(paths[0]);
        Thread.Sleep(20);
        Assert.Equal(paths[0], TorchNative.WritePatchedCopy(original, File.ReadAllBytes(original), cache.Path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(paths[0]));
    }

    [Fact]
    public void A_corrupt_cached_copy_is_replaced()
    {
        if (!OperatingSystem.IsLinux()) return;
        var original = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        using var cache = new TempDirectory();
        var path = TorchNative.WritePatchedCopy(original, File.ReadAllBytes(original), cache.Path);
        File.WriteAllBytes(path, [1, 2, 3]);

        Assert.Equal(path, TorchNative.WritePatchedCopy(original, File.ReadAllBytes(original), cache.Path));
        Assert.True(ElfSymbolVersions.ReadNeeds(File.ReadAllBytes(path)).Single(n => n.Name == TorchNative.WeakenedVersion).IsWeak);
    }

    static ElfVersionNeed Need(string name, ushort flags = 0, string file = "libstdc++.so.6") => new(file, name, flags, 0);

    [Fact]
    public void Nothing_is_done_where_libstdcxx_has_every_version()
    {
        var defined = new HashSet<string> { "GLIBCXX_3.4", "GLIBCXX_3.4.30", "GLIBCXX_3.4.32" };
        var missing = TorchNative.MissingVersions([Need("GLIBCXX_3.4"), Need("GLIBCXX_3.4.32")], defined);
        Assert.Empty(missing);
        Assert.Equal(TorchNativeAction.SystemSufficient, TorchNative.Decide(missing));
    }

    [Fact]
    public void Only_the_known_safe_version_is_patched()
    {
        var defined = new HashSet<string> { "GLIBCXX_3.4", "GLIBCXX_3.4.30" };
        Assert.Equal(TorchNativeAction.Patched,
            TorchNative.Decide(TorchNative.MissingVersions([Need("GLIBCXX_3.4"), Need("GLIBCXX_3.4.32")], defined)));
        Assert.Equal(TorchNativeAction.Failed,
            TorchNative.Decide(TorchNative.MissingVersions([Need("GLIBCXX_3.4.32"), Need("GLIBCXX_3.4.31")], defined)));
        Assert.Equal(TorchNativeAction.Failed,
            TorchNative.Decide(TorchNative.MissingVersions([Need("CXXABI_1.3.15")], defined)));
    }

    [Fact]
    public void Weak_needs_and_other_libraries_do_not_count_as_missing()
    {
        var defined = new HashSet<string> { "GLIBCXX_3.4" };
        var missing = TorchNative.MissingVersions(
            [Need("GLIBCXX_3.4.32", ElfSymbolVersions.VerFlagWeak), Need("GLIBC_2.99", file: "libc.so.6")], defined);
        Assert.Empty(missing);
    }
}
