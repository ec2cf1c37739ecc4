using System.Buffers.Binary;
using System.Text;

namespace KnowledgeDistillation.Runtime;

/// <summary>One version that an ELF shared object needs from one of its dependencies
/// (an entry of <c>.gnu.version_r</c>, for example <c>GLIBCXX_3.4.32</c> from <c>libstdc++.so.6</c>).</summary>
/// <param name="File">The dependency's soname, for example <c>libstdc++.so.6</c>.</param>
/// <param name="Name">The version name, for example <c>GLIBCXX_3.4.32</c>.</param>
/// <param name="Flags">The entry's <c>vna_flags</c>; <see cref="ElfSymbolVersions.VerFlagWeak"/> marks a weak need.</param>
/// <param name="FlagsOffset">The file offset of <c>vna_flags</c>, where a patch writes.</param>
public sealed record ElfVersionNeed(string File, string Name, ushort Flags, long FlagsOffset)
{
    /// <summary>True when the dynamic loader tolerates this version's absence.</summary>
    public bool IsWeak => (Flags & ElfSymbolVersions.VerFlagWeak) != 0;
}

/// <summary>
/// Reads and patches the GNU symbol-versioning sections of a 64-bit little-endian ELF file
/// (<c>.gnu.version_r</c>, the versions a library needs, and <c>.gnu.version_d</c>, the versions it defines).
/// </summary>
/// <remarks>
/// Layouts follow the System V ABI and the LSB "Symbol Versioning" chapter: Elf64_Ehdr, Elf64_Shdr,
/// Elf64_Verneed/Elf64_Vernaux and Elf64_Verdef/Elf64_Verdaux. Every read is bounds-checked, and a
/// malformed file raises <see cref="InvalidDataException"/> rather than reading past the end.
/// </remarks>
public static class ElfSymbolVersions
{
    /// <summary><c>VER_FLG_WEAK</c>: the need is weak, and the loader does not fail when it is missing.</summary>
    public const ushort VerFlagWeak = 0x2;

    const uint ShtGnuVerdef = 0x6ffffffd;
    const uint ShtGnuVerneed = 0x6ffffffe;

    /// <summary>Lists every version that <paramref name="elf"/> needs, dependency by dependency.</summary>
    public static IReadOnlyList<ElfVersionNeed> ReadNeeds(ReadOnlySpan<byte> elf)
    {
        var needs = new List<ElfVersionNeed>();
        foreach (var section in Sections(elf))
        {
            if (section.Type != ShtGnuVerneed) continue;
            var strtab = SectionAt(elf, (int)section.Link);
            long entry = section.Offset;
            for (uint i = 0; i < section.Info; i++)
            {
                Require(elf, entry, 16, "Elf64_Verneed");
                ushort count = U16(elf, entry + 2);
                string file = ReadString(elf, strtab, U32(elf, entry + 4));
                long aux = entry + U32(elf, entry + 8);
                for (int j = 0; j < count; j++)
                {
                    Require(elf, aux, 16, "Elf64_Vernaux");
                    string name = ReadString(elf, strtab, U32(elf, aux + 8));
                    needs.Add(new ElfVersionNeed(file, name, U16(elf, aux + 4), aux + 4));
                    uint nextAux = U32(elf, aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = U32(elf, entry + 12);
                if (next == 0) break;
                entry += next;
            }
        }
        return needs;
    }

    /// <summary>Lists the version names that <paramref name="elf"/> defines (for libstdc++: GLIBCXX_3.4, …, CXXABI_1.3, …).</summary>
    public static IReadOnlySet<string> ReadDefinitions(ReadOnlySpan<byte> elf)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var section in Sections(elf))
        {
            if (section.Type != ShtGnuVerdef) continue;
            var strtab = SectionAt(elf, (int)section.Link);
            long entry = section.Offset;
            for (uint i = 0; i < section.Info; i++)
            {
                Require(elf, entry, 20, "Elf64_Verdef");
                ushort count = U16(elf, entry + 6);
                long aux = entry + U32(elf, entry + 12);
                // The first Verdaux names the version itself; any further ones name its parents.
                if (count > 0)
                {
                    Require(elf, aux, 8, "Elf64_Verdaux");
                    names.Add(ReadString(elf, strtab, U32(elf, aux)));
                }
                uint next = U32(elf, entry + 16);
                if (next == 0) break;
                entry += next;
            }
        }
        return names;
    }

    /// <summary>
    /// Sets <c>VER_FLG_WEAK</c> on the need for <paramref name="versionName"/> from <paramref name="file"/>,
    /// in place. Returns the number of entries changed (0 when already weak).
    /// </summary>
    /// <exception cref="InvalidOperationException">No such need exists in the file.</exception>
    public static int MarkWeak(Span<byte> elf, string file, string versionName)
    {
        var matches = ReadNeeds(elf).Where(n => n.File == file && n.Name == versionName).ToList();
        if (matches.Count == 0)
            throw new InvalidOperationException($"The ELF file needs no version {versionName} from {file}.");
        int changed = 0;
        foreach (var need in matches)
        {
            if (need.IsWeak) continue;
            BinaryPrimitives.WriteUInt16LittleEndian(elf.Slice((int)need.FlagsOffset, 2), (ushort)(need.Flags | VerFlagWeak));
            changed++;
        }
        return changed;
    }

    readonly record struct Section(uint Type, long Offset, long Size, uint Link, uint Info);

    static List<Section> Sections(ReadOnlySpan<byte> elf)
    {
        Require(elf, 0, 64, "ELF header");
        if (elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("Not an ELF file (bad magic).");
        if (elf[4] != 2) throw new InvalidDataException("Only 64-bit ELF files are supported.");
        if (elf[5] != 1) throw new InvalidDataException("Only little-endian ELF files are supported.");

        long shoff = checked((long)U64(elf, 0x28));
        ushort shentsize = U16(elf, 0x3A);
        ushort shnum = U16(elf, 0x3C);
        if (shnum == 0) return [];
        if (shentsize < 64) throw new InvalidDataException($"Section header entries of {shentsize} bytes are too small.");
        Require(elf, shoff, (long)shentsize * shnum, "section header table");

        var sections = new List<Section>(shnum);
        for (int i = 0; i < shnum; i++)
        {
            long h = shoff + (long)i * shentsize;
            var s = new Section(U32(elf, h + 4), checked((long)U64(elf, h + 24)), checked((long)U64(elf, h + 32)),
                                U32(elf, h + 40), U32(elf, h + 44));
            sections.Add(s);
        }
        return sections;
    }

    static Section SectionAt(ReadOnlySpan<byte> elf, int index)
    {
        var all = Sections(elf);
        if (index <= 0 || index >= all.Count)
            throw new InvalidDataException($"String table section index {index} is out of range.");
        var s = all[index];
        Require(elf, s.Offset, s.Size, "string table");
        return s;
    }

    static string ReadString(ReadOnlySpan<byte> elf, Section strtab, uint offset)
    {
        if (offset >= strtab.Size) throw new InvalidDataException($"String offset {offset} lies outside its string table.");
        var rest = elf.Slice((int)(strtab.Offset + offset), (int)(strtab.Size - offset));
        int end = rest.IndexOf((byte)0);
        if (end < 0) throw new InvalidDataException("Unterminated string in string table.");
        return Encoding.ASCII.GetString(rest[..end]);
    }

    static void Require(ReadOnlySpan<byte> elf, long offset, long length, string what)
    {
        if (offset < 0 || length < 0 || offset + length > elf.Length)
            throw new InvalidDataException($"Truncated ELF file: the {what} at offset {offset} runs past the end ({elf.Length} bytes).");
    }

    static ushort U16(ReadOnlySpan<byte> b, long o) { Require(b, o, 2, "field"); return BinaryPrimitives.ReadUInt16LittleEndian(b[(int)o..]); }
    static uint U32(ReadOnlySpan<byte> b, long o) { Require(b, o, 4, "field"); return BinaryPrimitives.ReadUInt32LittleEndian(b[(int)o..]); }
    static ulong U64(ReadOnlySpan<byte> b, long o) { Require(b, o, 8, "field"); return BinaryPrimitives.ReadUInt64LittleEndian(b[(int)o..]); }
}
