using System.Buffers.Binary;
using System.IO.Compression;
using Backprop.IO;

namespace Backprop.Data;

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST, gzip-compressed or raw: a big-endian magic number
/// (0x00 0x00, type code 0x08 for unsigned bytes, the number of dimensions), one 32-bit big-endian size per dimension,
/// then the data. Every header field is validated.
/// </summary>
internal static class Idx
{
    /// <summary>
    /// The largest file accepted, and the most a compressed one may expand to (checked as it expands, every gzip member
    /// counted), to refuse decompression bombs: 512 MiB, ten times the 47 MB of MNIST's training images.
    /// </summary>
    public const long MaxBytes = 1L << 29;

    /// <summary>An IDX array of unsigned bytes.</summary>
    public sealed record Array(int[] Shape, byte[] Data);

    /// <summary>Reads a file (gzip detected by its magic bytes).</summary>
    public static Array Read(string path)
    {
        var raw = BoundedFile.ReadAllBytes(path, MaxBytes);
        return Parse(raw, path);
    }

    /// <summary>Parses IDX bytes (possibly gzip-compressed); <paramref name="name"/> is used in messages.</summary>
    public static Array Parse(byte[] bytes, string name) => Parse(bytes, name, MaxBytes);

    /// <summary>As <see cref="Parse(byte[], string)"/> with another limit on the decompressed size.</summary>
    internal static Array Parse(byte[] bytes, string name, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B) bytes = Gunzip(bytes, name, maxBytes);
        if (bytes.Length < 4) throw new InvalidFileException($"{name}: {bytes.Length} bytes is too short for an IDX header");
        if (bytes[0] != 0 || bytes[1] != 0)
            throw new InvalidFileException($"{name}: bad magic number {bytes[0]:X2} {bytes[1]:X2} {bytes[2]:X2} {bytes[3]:X2}; an IDX " +
                $"file starts with 00 00");
        if (bytes[2] != 0x08)
            throw new InvalidFileException($"{name}: element type 0x{bytes[2]:X2} is not supported; MNIST files hold unsigned bytes " +
                $"(0x08)");
        int rank = bytes[3];
        if (rank < 1 || rank > 4) throw new InvalidFileException($"{name}: {rank} dimensions; 1 to 4 expected");
        int header = 4 + 4 * rank;
        if (bytes.Length < header) throw new InvalidFileException($"{name}: truncated header ({bytes.Length} bytes, {header} needed)");
        var shape = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4 + 4 * i));
            if (d == 0 || d > int.MaxValue) throw new InvalidFileException($"{name}: dimension {i} has size {d}");
            shape[i] = (int)d;
            count *= d;
            if (count > maxBytes) throw new InvalidFileException($"{name}: the header declares more than {maxBytes} elements");
        }
        long expected = header + count;
        if (bytes.Length < expected) throw new InvalidFileException($"{name}: truncated: the header declares {count} elements, but " +
            $"only {bytes.Length - header} bytes follow");
        if (bytes.Length > expected) throw new InvalidFileException($"{name}: {bytes.Length - expected} unexpected bytes after " +
            $"the {count} declared elements");
        return new Array(shape, bytes[header..]);
    }

    private static byte[] Gunzip(byte[] gz, string name, long maxBytes)
    {
        try
        {
            using var input = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[1 << 16];
            int n;
            while ((n = input.Read(buffer, 0, buffer.Length)) > 0)
            {
                output.Write(buffer, 0, n);
                if (output.Length > maxBytes) throw new InvalidFileException($"{name}: decompresses to more than {maxBytes} bytes");
            }
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidFileException($"{name}: corrupted gzip data ({e.Message})", e);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidFileException($"{name}: truncated gzip data", e);
        }
        catch (IOException e)
        {
            throw new InvalidFileException($"{name}: unreadable gzip data ({e.Message})", e);
        }
    }
}
