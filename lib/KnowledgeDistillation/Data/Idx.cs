using System.Buffers.Binary;
using System.IO.Compression;

namespace KnowledgeDistillation.Data;

/// <summary>An unsigned-byte IDX array: its shape and its payload in row-major order.</summary>
/// <param name="Shape">The dimensions, outermost first (for images: count, rows, columns).</param>
/// <param name="Data">The payload, <c>Shape</c>'s product bytes long.</param>
public sealed record IdxArray(int[] Shape, byte[] Data)
{
    /// <summary>The size of the first dimension (the number of items).</summary>
    public int Count => Shape[0];
}

/// <summary>
/// Reads the IDX format of LeCun's MNIST and of Fashion-MNIST, gzip-compressed or raw.
/// </summary>
/// <remarks>
/// An IDX file starts with a 4-byte magic number: two zero bytes, a type byte (0x08 for unsigned bytes, the only
/// type these data sets use) and the number of dimensions. Each dimension follows as a big-endian 32-bit integer,
/// then the payload. See yann.lecun.com/exdb/mnist, "File formats".
/// Every error is an <see cref="InvalidDataException"/> that names the file and what is wrong.
/// </remarks>
public static class Idx
{
    const byte UnsignedByteType = 0x08;

    /// <summary>Reads <paramref name="path"/>, decompressing it when it starts with the gzip magic bytes.</summary>
    /// <param name="path">The file to read.</param>
    /// <param name="expectedDimensions">When given, the number of dimensions the file must have (1 for labels, 3 for images).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a well-formed unsigned-byte IDX file.</exception>
    public static IdxArray Read(string path, int? expectedDimensions = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"IDX file not found: {path}", path);
        byte[] raw = File.ReadAllBytes(path);
        byte[] bytes = raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b ? Gunzip(raw, path) : raw;
        return Parse(bytes, path, expectedDimensions);
    }

    /// <summary>Parses an uncompressed IDX image; <paramref name="name"/> is used in error messages.</summary>
    public static IdxArray Parse(ReadOnlySpan<byte> bytes, string name, int? expectedDimensions = null)
    {
        if (bytes.Length < 4)
            throw new InvalidDataException($"{name}: {bytes.Length} bytes is too short for an IDX header (4-byte magic number).");
        if (bytes[0] != 0 || bytes[1] != 0)
            throw new InvalidDataException($"{name}: bad magic number 0x{BinaryPrimitives.ReadUInt32BigEndian(bytes):X8}; an IDX file starts with two zero bytes.");
        if (bytes[2] != UnsignedByteType)
            throw new InvalidDataException($"{name}: type byte 0x{bytes[2]:X2} is not supported; expected 0x08 (unsigned byte).");
        int dims = bytes[3];
        if (dims == 0)
            throw new InvalidDataException($"{name}: the header declares 0 dimensions.");
        if (expectedDimensions is { } want && dims != want)
            throw new InvalidDataException($"{name}: has {dims} dimension(s), expected {want}.");
        int header = 4 + 4 * dims;
        if (bytes.Length < header)
            throw new InvalidDataException($"{name}: truncated header; {dims} dimensions need {header} bytes, the file has {bytes.Length}.");

        var shape = new int[dims];
        long total = 1;
        for (int i = 0; i < dims; i++)
        {
            uint size = BinaryPrimitives.ReadUInt32BigEndian(bytes[(4 + 4 * i)..]);
            if (size == 0 || size > int.MaxValue)
                throw new InvalidDataException($"{name}: dimension {i} has size {size}; it must be between 1 and {int.MaxValue}.");
            shape[i] = (int)size;
            total *= size;
            if (total > Array.MaxLength)
                throw new InvalidDataException($"{name}: the declared shape [{string.Join(", ", shape[..(i + 1)])}] is too large.");
        }
        long payload = bytes.Length - header;
        if (payload != total)
            throw new InvalidDataException(
                $"{name}: payload is {payload} bytes but the shape [{string.Join(", ", shape)}] needs {total}" +
                (payload < total ? " (the file is truncated)." : " (the file has trailing data)."));
        return new IdxArray(shape, bytes[header..].ToArray());
    }

    static byte[] Gunzip(byte[] compressed, string path)
    {
        try
        {
            using var input = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
            using var output = new MemoryStream(compressed.Length * 2);
            input.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: corrupt gzip data ({e.Message}).", e);
        }
    }
}
