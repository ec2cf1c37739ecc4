using KnowledgeDistillation.Runtime;

namespace KnowledgeDistillation.Tests;

public class ElfSymbolVersionsTests
{
    static byte[] Sample() => CraftedElf.Build(
        [("libstdc++.so.6", ["GLIBCXX_3.4", "GLIBCXX_3.4.32", "CXXABI_1.3"]), ("libc.so.6", ["GLIBC_2.2.5"])],
        ["libstdc++.so.6", "GLIBCXX_3.4", "GLIBCXX_3.4.30"]);

    [Fact]
    public void Reads_every_need_with_its_file()
    {
        var needs = ElfSymbolVersions.ReadNeeds(Sample());
        Assert.Equal(
            ["libstdc++.so.6:GLIBCXX_3.4", "libstdc++.so.6:GLIBCXX_3.4.32", "libstdc++.so.6:CXXABI_1.3", "libc.so.6:GLIBC_2.2.5"],
            needs.Select(n => $"{n.File}:{n.Name}"));
        Assert.All(needs, n => Assert.False(n.IsWeak));
    }

    [Fact]
    public void Reads_definitions()
    {
        var defs = ElfSymbolVersions.ReadDefinitions(Sample());
        Assert.Equal(["GLIBCXX_3.4", "GLIBCXX_3.4.30", "libstdc++.so.6"], defs.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void MarkWeak_changes_exactly_one_flag_and_nothing_else()
    {
        var original = Sample();
        var patched = (byte[])original.Clone();

        int changed = ElfSymbolVersions.MarkWeak(patched, "libstdc++.so.6", "GLIBCXX_3.4.32");

        Assert.Equal(1, changed);
        var differing = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
        Assert.Single(differing);
        var needs = ElfSymbolVersions.ReadNeeds(patched);
        Assert.True(needs.Single(n => n.Name == "GLIBCXX_3.4.32").IsWeak);
        Assert.All(needs.Where(n => n.Name != "GLIBCXX_3.4.32"), n => Assert.False(n.IsWeak));
        Assert.Equal(0, ElfSymbolVersions.MarkWeak(patched, "libstdc++.so.6", "GLIBCXX_3.4.32")); // idempotent
    }

    [Fact]
    public void MarkWeak_rejects_a_need_that_is_not_there()
    {
        var elf = Sample();
        var e = Assert.Throws<InvalidOperationException>(() => ElfSymbolVersions.MarkWeak(elf, "libc.so.6", "GLIBCXX_3.4.32"));
        Assert.Contains("GLIBCXX_3.4.32", e.Message);
    }

    [Fact]
    public void Rejects_bad_magic_and_truncation()
    {
        var elf = Sample();
        var notElf = (byte[])elf.Clone();
        notElf[1] = (byte)'X';
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => ElfSymbolVersions.ReadNeeds(notElf)).Message);

        var truncated = elf[..(elf.Length - 100)];
        Assert.Contains("Truncated", Assert.Throws<InvalidDataException>(() => ElfSymbolVersions.ReadNeeds(truncated)).Message);

        var tiny = elf[..10];
        Assert.Throws<InvalidDataException>(() => ElfSymbolVersions.ReadNeeds(tiny));
    }

    [Fact]
    public void Rejects_32_bit_files()
    {
        var elf = Sample();
        elf[4] = 1;
        Assert.Contains("64-bit", Assert.Throws<InvalidDataException>(() => ElfSymbolVersions.ReadNeeds(elf)).Message);
    }

    [Fact]
    public void Real_TorchSharp_library_needs_GLIBCXX_3_4_32_from_libstdcxx()
    {
        if (!OperatingSystem.IsLinux()) return; // the file is Linux-only
        var path = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"{path} should be copied by the RID-specific build");
        var bytes = File.ReadAllBytes(path);

        var need = ElfSymbolVersions.ReadNeeds(bytes).Single(n => n.File == "libstdc++.so.6" && n.Name == "GLIBCXX_3.4.32");
        Assert.False(need.IsWeak);

        var copy = (byte[])bytes.Clone();
        Assert.Equal(1, ElfSymbolVersions.MarkWeak(copy, "libstdc++.so.6", "GLIBCXX_3.4.32"));
        Assert.Equal(1, Enumerable.Range(0, bytes.Length).Count(i => bytes[i] != copy[i]));
    }

    [Fact]
    public void Real_libstdcxx_defines_its_base_versions()
    {
        if (!OperatingSystem.IsLinux()) return;
        var path = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6" }
            .FirstOrDefault(File.Exists);
        Assert.NotNull(path);
        var defs = ElfSymbolVersions.ReadDefinitions(File.ReadAllBytes(path));
        Assert.Contains("GLIBCXX_3.4", defs);
        Assert.Contains("CXXABI_1.3", defs);
    }
}
