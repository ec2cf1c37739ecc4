using System.Buffers.Binary;
using System.Text;

namespace KnowledgeDistillation.Tests;

/// <summary>
/// Builds minimal 64-bit little-endian ELF files with a string table and GNU version sections, written field by field
/// from the System V ABI's layouts, so that the ELF code can be tested without depending on any real library.
/// </summary>
static class CraftedElf
{
    public static byte[] Build(IReadOnlyList<(string File, string[] Versions)> needs, IReadOnlyList<string>? definitions = null)
    {
        var dynstr = new StringTable();
        var verneed = new List<byte>();
        for (int i = 0; i < needs.Count; i++)
        {
            var (file, versions) = needs[i];
            bool last = i == needs.Count - 1;
            int entrySize = 16 + 16 * versions.Length;
            verneed.AddRange(U16(1)); verneed.AddRange(U16((ushort)versions.Length));
            verneed.AddRange(U32(dynstr.Add(file))); verneed.AddRange(U32(16));
            verneed.AddRange(U32(last ? 0u : (uint)entrySize));
            for (int j = 0; j < versions.Length; j++)
            {
                verneed.AddRange(U32(0x0)); // vna_hash (unused by the reader)
                verneed.AddRange(U16(0)); // vna_flags
                verneed.AddRange(U16((ushort)(2 + j))); // vna_other
                verneed.AddRange(U32(dynstr.Add(versions[j])));
                verneed.AddRange(U32(j == versions.Length - 1 ? 0u : 16u));
            }
        }

        var verdef = new List<byte>();
        var defs = definitions ?? [];
        for (int i = 0; i < defs.Count; i++)
        {
            bool last = i == defs.Count - 1;
            verdef.AddRange(U16(1)); verdef.AddRange(U16(0)); verdef.AddRange(U16((ushort)(i + 1))); verdef.AddRange(U16(1));
            verdef.AddRange(U32(0)); verdef.AddRange(U32(20)); verdef.AddRange(U32(last ? 0u : 28u));
            verdef.AddRange(U32(dynstr.Add(defs[i]))); verdef.AddRange(U32(0));
        }

        var shstr = new StringTable();
        uint nDynstr = shstr.Add(".dynstr"), nVerneed = shstr.Add(".gnu.version_r"), nVerdef = shstr.Add(".gnu.version_d"), nShstr = shstr.Add(".shstrtab");

        var body = new List<byte>(new byte[64]);
        long dynstrOff = body.Count; body.AddRange(dynstr.Bytes);
        Align(body);
        long verneedOff = body.Count; body.AddRange(verneed);
        Align(body);
        long verdefOff = body.Count; body.AddRange(verdef);
        long shstrOff = body.Count; body.AddRange(shstr.Bytes);
        Align(body);
        long shoff = body.Count;

        var sections = new List<byte[]>
        {
            Section(0, 0, 0, 0, 0, 0),
            Section(nDynstr, 3, dynstrOff, dynstr.Bytes.Length, 0, 0),
            Section(nVerneed, 0x6ffffffe, verneedOff, verneed.Count, 1, (uint)needs.Count),
            Section(nVerdef, 0x6ffffffd, verdefOff, verdef.Count, 1, (uint)defs.Count),
            Section(nShstr, 3, shstrOff, shstr.Bytes.Length, 0, 0),
        };
        foreach (var s in sections) body.AddRange(s);

        var elf = body.ToArray();
        elf[0] = 0x7f; elf[1] = (byte)'E'; elf[2] = (byte)'L'; elf[3] = (byte)'F';
        elf[4] = 2; elf[5] = 1; elf[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x10), 3);    // ET_DYN
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x12), 62);   // EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(elf.AsSpan(0x14), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(elf.AsSpan(0x28), (ulong)shoff);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x34), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x3A), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x3C), (ushort)sections.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x3E), 4);
        return elf;
    }

    static byte[] Section(uint name, uint type, long offset, long size, uint link, uint info)
    {
        var s = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(0), name);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(4), type);
        BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(24), (ulong)offset);
        BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(32), (ulong)size);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(40), link);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(44), info);
        return s;
    }

    static void Align(List<byte> body) { while (body.Count % 8 != 0) body.Add(0); }
    static byte[] U16(ushort v) { var b = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); return b; }
    static byte[] U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return b; }

    sealed class StringTable
    {
        readonly List<byte> bytes = [0];
        readonly Dictionary<string, uint> offsets = [];
        public uint Add(string s)
        {
            if (offsets.TryGetValue(s, out var o)) return o;
            o = (uint)bytes.Count;
            bytes.AddRange(Encoding.ASCII.GetBytes(s));
            bytes.Add(0);
            offsets[s] = o;
            return o;
        }
        public byte[] Bytes => [.. bytes];
    }
}
