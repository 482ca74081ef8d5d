using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Backprop.IO;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping each tensor name to its
/// dtype, shape and data_offsets (relative to the data section) plus an optional string map "__metadata__", then the
/// raw little-endian data. numpy and PyTorch users read it with the safetensors package.
/// </summary>
public static class SafeTensors
{
    /// <summary>The largest header accepted (the reference implementation's limit).</summary>
    public const int MaxHeaderBytes = 100_000_000;

    /// <summary>One stored tensor: float32 or float64 data with its shape.</summary>
    public sealed record Entry(string Name, int[] Shape, float[]? F32, double[]? F64)
    {
        /// <summary>The element count.</summary>
        public long Count => F32?.Length ?? F64!.Length;

        /// <summary>The data as a tensor of <typeparamref name="T"/>, converting if needed.</summary>
        public Tensor<T> ToTensor<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var data = F32 is not null ? F32.Select(T.CreateTruncating).ToArray() : F64!.Select(T.CreateTruncating).ToArray();
            return new Tensor<T>(data, Shape);
        }
    }

    /// <summary>Writes the tensors and metadata atomically: to a temporary file in the same folder, flushed, then renamed over <paramref
    /// name="path"/>.</summary>
    public static void Save(string path, IEnumerable<Entry> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var list = tensors.ToList();
        var header = new MemoryStream();
        long offset = 0;
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            foreach (var (k, v) in metadata) w.WriteString(k, v);
            w.WriteEndObject();
            foreach (var t in list)
            {
                long bytes = t.F32 is not null ? t.F32.Length * 4L : t.F64!.Length * 8L;
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.F32 is not null ? "F32" : "F64");
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        // Pad the header with spaces so the data starts 8-byte aligned.
        while (header.Length % 8 != 0) header.WriteByte((byte)' ');

        AtomicFile.Write(path, fs =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            fs.Write(len);
            header.Position = 0;
            header.CopyTo(fs);
            foreach (var t in list)
            {
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing needs a little-endian " +
                    "machine");
                if (t.F32 is not null) fs.Write(MemoryMarshal.AsBytes(t.F32.AsSpan()));
                else fs.Write(MemoryMarshal.AsBytes(t.F64!.AsSpan()));
            }
        });
    }

    /// <summary>Reads and validates a file: every failure is an <see cref="InvalidFileException"/> that says what is wrong.</summary>
    public static (IReadOnlyList<Entry> Tensors, IReadOnlyDictionary<string, string> Metadata) Load(string path)
    {
        return Parse(BoundedFile.ReadAllBytes(path, Array.MaxLength), path);
    }

    /// <summary>Parses and validates safetensors bytes; <paramref name="name"/> is used in messages.</summary>
    public static (IReadOnlyList<Entry> Tensors, IReadOnlyDictionary<string, string> Metadata) Parse(byte[] bytes, string name)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(name);
        InvalidFileException Bad(string why) => new($"{name}: not a valid safetensors file: {why}");
        if (bytes.Length < 8) throw Bad($"{bytes.Length} bytes is too short for the 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > MaxHeaderBytes) throw Bad($"the header length {n} exceeds the limit of {MaxHeaderBytes} bytes");
        if (n > (ulong)(bytes.Length - 8)) throw Bad($"truncated: the header needs {n} bytes, but only {bytes.Length - 8} follow");
        int dataStart = 8 + (int)n;
        long dataLength = bytes.Length - dataStart;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n), new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e) { throw Bad($"the header is not valid JSON ({e.Message.Split(". ")[0]})"); }
        using (doc)
        {
            try { return Read(doc, bytes, dataStart, dataLength, Bad); }
            catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
            {
                // A JSON value of another type than the format says, or a string the header cannot hold (a lone surrogate).
                throw Bad($"the header has a field of the wrong type ({e.Message})");
            }
        }
    }

    private static (IReadOnlyList<Entry> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(JsonDocument doc, byte[] bytes,
        int dataStart, long dataLength, Func<string, InvalidFileException> Bad)
    {
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad("the header is not a JSON object");
            var metadata = new Dictionary<string, string>();
            var entries = new List<Entry>();
            var ranges = new List<(long Begin, long End, string Name)>();
            var names = new HashSet<string>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(p.Name)) throw Bad($"'{p.Name}' is given twice in the header");
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind != JsonValueKind.Object) throw Bad("__metadata__ is not an object");
                    foreach (var m in p.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw Bad($"metadata value '{m.Name}' is not a string");
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!)) throw Bad($"metadata key '{m.Name}' is given twice");
                    }
                    continue;
                }
                var e = p.Value;
                if (e.ValueKind != JsonValueKind.Object) throw Bad($"tensor '{p.Name}' is not an object");
                if (!e.TryGetProperty("dtype", out var dt)
                    || dt.ValueKind != JsonValueKind.String) throw Bad($"tensor '{p.Name}' has no dtype");
                string dtype = dt.GetString()!;
                int size = dtype switch { "F32" => 4, "F64" => 8, _ => 0 };
                if (size == 0) throw Bad($"tensor '{p.Name}' has dtype {dtype}; Backprop reads F32 and F64");
                if (!e.TryGetProperty("shape", out var sh)
                    || sh.ValueKind != JsonValueKind.Array) throw Bad($"tensor '{p.Name}' has no shape");
                var shape = new List<int>();
                long count = 1;
                foreach (var d in sh.EnumerateArray())
                {
                    if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int v)
                        || v < 0) throw Bad($"tensor '{p.Name}' has an invalid shape");
                    shape.Add(v);
                    count *= v;
                    if (count > dataLength) throw Bad($"tensor '{p.Name}': its shape holds more elements than the file");
                }
                if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
                    throw Bad($"tensor '{p.Name}' has no data_offsets [begin, end]");
                if (off[0].ValueKind != JsonValueKind.Number || off[1].ValueKind != JsonValueKind.Number
                    || !off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
                    throw Bad($"tensor '{p.Name}' has invalid data_offsets");
                if (end > dataLength) throw Bad($"tensor '{p.Name}': data_offsets [{begin}, {end}] run past the {dataLength} data bytes " +
                    $"(truncated file?)");
                if (end - begin != count * size)
                    throw Bad($"tensor '{p.Name}': shape {Tensor<float>.ShapeText(shape.ToArray())} of {dtype} needs {count * size} " +
                        $"bytes, but data_offsets span {end - begin}");
                ranges.Add((begin, end, p.Name));
                var span = bytes.AsSpan(dataStart + (int)begin, (int)(end - begin));
                entries.Add(size == 4
                    ? new Entry(p.Name, shape.ToArray(), MemoryMarshal.Cast<byte, float>(span).ToArray(), null)
                    : new Entry(p.Name, shape.ToArray(), null, MemoryMarshal.Cast<byte, double>(span).ToArray()));
            }
            // The safetensors rule: the tensors cover the data section exactly, with no hole, no overlap and nothing after.
            // A header length a few bytes short would otherwise load every tensor shifted.
            ranges.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            long at = 0;
            foreach (var r in ranges)
            {
                if (r.Begin < at) throw Bad($"tensor '{r.Name}' overlaps the one before it (data_offsets from {r.Begin}, but {at} is " +
                    $"taken)");
                if (r.Begin > at) throw Bad($"the data bytes {at} to {r.Begin} belong to no tensor (before '{r.Name}')");
                at = r.End;
            }
            if (at != dataLength) throw Bad($"{dataLength - at} bytes after the last tensor's data belong to no tensor");
            return (entries, metadata);
        }
    }
}
