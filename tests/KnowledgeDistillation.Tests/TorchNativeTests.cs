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
}
