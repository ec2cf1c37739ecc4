using System.Buffers.Binary;
using System.IO.Compression;
using KnowledgeDistillation.Data;

namespace KnowledgeDistillation.Tests;

public class IdxTests
{
    /// <summary>An IDX file: magic (0, 0, type, dims), big-endian sizes, then the payload.</summary>
    internal static byte[] Make(int[] shape, byte[] payload, byte type = 0x08, byte? dims = null, byte firstByte = 0)
    {
        var bytes = new List<byte> { firstByte, 0, type, dims ?? (byte)shape.Length };
        foreach (var s in shape)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(b, s);
            bytes.AddRange(b);
        }
        bytes.AddRange(payload);
        return [.. bytes];
    }

    internal static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(raw);
        return ms.ToArray();
    }

    [Fact]
    public void Reads_raw_and_gzip_alike()
    {
        using var dir = new TempDirectory();
        var raw = Make([2, 3], [1, 2, 3, 4, 5, 6]);
        File.WriteAllBytes(dir.File("a.idx"), raw);
        File.WriteAllBytes(dir.File("a.idx.gz"), Gzip(raw));

        foreach (var name in new[] { "a.idx", "a.idx.gz" })
        {
            var a = Idx.Read(dir.File(name));
            Assert.Equal([2, 3], a.Shape);
            Assert.Equal([1, 2, 3, 4, 5, 6], a.Data);
            Assert.Equal(2, a.Count);
        }
    }

    [Fact]
    public void Truncated_file_names_file_and_sizes()
    {
        using var dir = new TempDirectory();
        var path = dir.File("truncated.idx");
        File.WriteAllBytes(path, Make([2, 3], [1, 2, 3, 4]));
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("needs 6", e.Message);
    }

    [Fact]
    public void Trailing_data_is_rejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => Idx.Parse(Make([2], [1, 2, 3]), "x.idx"));
        Assert.Contains("trailing", e.Message);
    }

    [Fact]
    public void Truncated_header_is_rejected()
    {
        var full = Make([5, 28, 28], new byte[5 * 28 * 28]);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Parse(full[..9], "h.idx"));
        Assert.Contains("truncated header", e.Message);
        Assert.Throws<InvalidDataException>(() => Idx.Parse(full[..3], "h.idx"));
    }

    [Fact]
    public void Wrong_magic_is_rejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => Idx.Parse(Make([1], [0], firstByte: 0x1f), "m.idx"));
        Assert.Contains("m.idx", e.Message);
        Assert.Contains("magic", e.Message);
    }

    [Fact]
    public void Wrong_type_byte_is_rejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => Idx.Parse(Make([1], [0, 0, 0, 0], type: 0x0D), "t.idx"));
        Assert.Contains("type byte 0x0D", e.Message);
    }

    [Fact]
    public void Wrong_number_of_dimensions_is_rejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => Idx.Parse(Make([2, 2], [1, 2, 3, 4]), "d.idx", expectedDimensions: 3));
        Assert.Contains("2 dimension(s), expected 3", e.Message);
    }

    [Fact]
    public void Zero_sized_dimension_is_rejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => Idx.Parse(Make([0, 28], []), "z.idx"));
        Assert.Contains("dimension 0 has size 0", e.Message);
    }

    [Fact]
    public void Corrupt_gzip_names_the_file()
    {
        using var dir = new TempDirectory();
        var gz = Gzip(Make([4], [1, 2, 3, 4]));
        for (int i = 10; i < gz.Length - 8; i++) gz[i] ^= 0x5A;
        var path = dir.File("corrupt.gz");
        File.WriteAllBytes(path, gz);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Missing_file_says_so()
    {
        var e = Assert.Throws<FileNotFoundException>(() => Idx.Read("/nonexistent/x.idx"));
        Assert.Contains("/nonexistent/x.idx", e.Message);
    }
}
