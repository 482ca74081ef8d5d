using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace Backprop.IO;

/// <summary>
/// numpy's own array files: <c>.npy</c> (format versions 1 to 3: the magic, a little-endian header length, a Python dict
/// literal with <c>descr</c>, <c>fortran_order</c> and <c>shape</c>, then the data) and <c>.npz</c> (a zip of <c>.npy</c>
/// members). Little-endian (or byte) float32, float64, int8 to int64 and uint8 to uint64 are read, C or Fortran order,
/// into float64 in C order; a header that lies about the data's size is an error, checked before anything is allocated.
/// </summary>
internal static partial class Npy
{
    /// <summary>The largest array read: 2³¹ − 1 elements, and the file at most 4 GiB.</summary>
    public const long MaxBytes = 4L << 30;

    /// <summary>One array: its shape and its values in C order.</summary>
    public sealed record Array(int[] Shape, double[] Values, string Dtype);

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex Fortran();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeText();

    public static Array Read(string path)
    {
        using var stream = BoundedFile.OpenRead(path, MaxBytes);
        return Read(stream, stream.Length, path);
    }

    /// <summary>The arrays of an .npz file, by name (without <c>.npy</c>).</summary>
    public static Dictionary<string, Array> ReadZip(string path)
    {
        using var stream = BoundedFile.OpenRead(path, MaxBytes);
        ZipArchive zip;
        try { zip = new ZipArchive(stream, ZipArchiveMode.Read); }
        catch (InvalidDataException e) { throw new InvalidFileException($"{path}: not an .npz file (a zip of .npy arrays): {e.Message}"); }
        using (zip)
        {
            var arrays = new Dictionary<string, Array>();
            foreach (var entry in zip.Entries)
            {
                if (!entry.Name.EndsWith(".npy", StringComparison.Ordinal)) continue;
                if (entry.Length > MaxBytes) throw new InvalidFileException($"{path}: member {entry.Name} is over {MaxBytes >> 30} GiB");
                using var member = entry.Open();
                // Read within the size the zip declares: a member that expands past it is cut off, and then fails the
                // header's size check.
                var bytes = new MemoryStream();
                member.CopyTo(bytes);
                if (bytes.Length > entry.Length) throw new InvalidFileException($"{path}: member {entry.Name} expands past its size");
                bytes.Position = 0;
                arrays[entry.Name[..^4]] = Read(bytes, bytes.Length, $"{path}:{entry.Name}");
            }
            if (arrays.Count == 0) throw new InvalidFileException($"{path}: the .npz file holds no .npy array");
            return arrays;
        }
    }

    private static Array Read(Stream s, long length, string where)
    {
        Span<byte> head = stackalloc byte[12];
        if (s.ReadAtLeast(head[..10], 10, throwOnEndOfStream: false) < 10 || head[0] != 0x93 || !head[1..6].SequenceEqual("NUMPY"u8))
            throw new InvalidFileException($"{where}: not an .npy file (no \\x93NUMPY magic)");
        int major = head[6];
        long headerLength;
        int prefix;
        if (major == 1) (headerLength, prefix) = (BinaryPrimitives.ReadUInt16LittleEndian(head[8..10]), 10);
        else if (major is 2 or 3)
        {
            if (s.ReadAtLeast(head[10..12], 2, throwOnEndOfStream: false) < 2)
                throw new InvalidFileException($"{where}: the header is cut off");
            (headerLength, prefix) = (BinaryPrimitives.ReadUInt32LittleEndian(head[8..12]), 12);
        }
        else throw new InvalidFileException($"{where}: .npy format version {major} is not one numpy writes (1 to 3)");
        if (headerLength > 1 << 20 || prefix + headerLength > length) throw new InvalidFileException($"{where}: the header is cut off");
        var headerBytes = new byte[headerLength];
        s.ReadExactly(headerBytes);
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        string descr = Descr().Match(header) is { Success: true } d ? d.Groups[1].Value
            : throw new InvalidFileException($"{where}: the header has no 'descr'");
        bool fortran = Fortran().Match(header) is { Success: true } f ? f.Groups[1].Value == "True"
            : throw new InvalidFileException($"{where}: the header has no 'fortran_order'");
        var shapeMatch = ShapeText().Match(header);
        if (!shapeMatch.Success) throw new InvalidFileException($"{where}: the header has no 'shape'");
        var dims = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var shape = new int[dims.Length];
        long count = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (!long.TryParse(dims[i].TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n > int.MaxValue)
                throw new InvalidFileException($"{where}: the shape ({shapeMatch.Groups[1].Value}) is not a list of sizes");
            shape[i] = (int)n;
            count = checked(count * n);
            if (count > System.Array.MaxLength) throw new InvalidFileException($"{where}: the shape holds over 2³¹ elements");
        }
        int size = descr.Length == 3 && descr[0] is '<' or '|' or '=' ? descr[2] - '0' : 0;
        char kind = descr.Length == 3 ? descr[1] : '?';
        bool known = (kind, size) is ('f', 4) or ('f', 8) or ('i', 1) or ('i', 2) or ('i', 4) or ('i', 8) or ('u', 1) or ('u', 2)
            or ('u', 4) or ('u', 8) || descr is "|b1";
        if (descr is "|b1") (kind, size) = ('u', 1);
        if (!known)
            throw new InvalidFileException($"{where}: dtype '{descr}' is not read; use little-endian float32, float64 or an integer type");
        long dataBytes = count * size;
        if (length - prefix - headerLength != dataBytes)
            throw new InvalidFileException($"{where}: the header says {count} values of {size} bytes ({dataBytes} bytes), but " +
                $"{length - prefix - headerLength} bytes follow it");
        var raw = new byte[dataBytes];
        s.ReadExactly(raw);
        var values = new double[count];
        for (long i = 0; i < count; i++)
        {
            var b = raw.AsSpan((int)(i * size), size);
            values[i] = (kind, size) switch
            {
                ('f', 4) => BinaryPrimitives.ReadSingleLittleEndian(b),
                ('f', 8) => BinaryPrimitives.ReadDoubleLittleEndian(b),
                ('i', 1) => (sbyte)b[0],
                ('i', 2) => BinaryPrimitives.ReadInt16LittleEndian(b),
                ('i', 4) => BinaryPrimitives.ReadInt32LittleEndian(b),
                ('i', 8) => BinaryPrimitives.ReadInt64LittleEndian(b),
                ('u', 1) => b[0],
                ('u', 2) => BinaryPrimitives.ReadUInt16LittleEndian(b),
                ('u', 4) => BinaryPrimitives.ReadUInt32LittleEndian(b),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(b),
            };
        }
        if (fortran && shape.Length > 1) values = ToCOrder(values, shape);
        return new Array(shape, values, descr);
    }

    // Fortran order: the first index varies fastest. Element (i0, …, ik) sits at i0 + n0·(i1 + n1·(…)).
    private static double[] ToCOrder(double[] f, int[] shape)
    {
        var c = new double[f.Length];
        var index = new int[shape.Length];
        for (long k = 0; k < c.Length; k++)
        {
            long at = 0;
            for (int d = shape.Length - 1; d >= 0; d--) at = at * shape[d] + index[d];
            c[k] = f[at];
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d]) break;
                index[d] = 0;
            }
        }
        return c;
    }
}
