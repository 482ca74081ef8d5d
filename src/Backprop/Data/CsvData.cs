using System.Globalization;
using System.Text;
using Backprop.IO;

namespace Backprop.Data;

public static partial class Datasets
{
    /// <summary>The largest CSV file read: 4 GiB; its features must fit one array (2³¹ − 1 values).</summary>
    public const long MaxCsvBytes = 4L << 30;

    /// <summary>
    /// A CSV file with a header row: every column but the target is a numeric feature; the target (<paramref name="target"/>,
    /// default the last column) is a class (its strings name the classes; all-integer labels are ordered as numbers, other
    /// strings alphabetically) or, with <paramref name="regression"/>, a number. Fields may be quoted ("a, b"); lines end in
    /// \n or \r\n; blank lines are skipped.
    /// </summary>
    /// <exception cref="InvalidFileException">No header, a ragged row (its line), a feature that is not a number (its line and
    /// column), a target column that does not exist, no rows, or a file over <see cref="MaxCsvBytes"/>.</exception>
    public static Dataset FromCsv(string path, string? target = null, bool regression = false)
    {
        using var stream = BoundedFile.OpenRead(path, MaxCsvBytes);
        var reader = new CsvLines(stream, path);
        if (!reader.Next(out var headerLine)) throw new InvalidFileException($"{path}: empty; a CSV file starts with a header row");
        var headerCells = CsvLines.Cells(headerLine, path, 1);
        var header = new string[headerCells.Count];
        for (int i = 0; i < header.Length; i++) header[i] = CsvLines.Text(headerLine, headerCells[i]);
        int t = target is null ? header.Length - 1 : Array.IndexOf(header, target);
        if (t < 0)
            throw new InvalidFileException($"{path}: no column '{target}'; the columns are " +
                (header.Length <= 12 ? string.Join(", ", header) : string.Join(", ", header[..6]) + $", … ({header.Length} in all)"));
        if (header.Length < 2) throw new InvalidFileException($"{path}: one column; a CSV file needs features and a target");
        int dim = header.Length - 1;
        var features = new BlockList();
        var labels = new List<int>();
        var targets = new List<float>();
        var classIds = new Dictionary<string, int>(StringComparer.Ordinal);
        while (reader.Next(out var line))
        {
            var cells = CsvLines.Cells(line, path, reader.LineNumber);
            if (cells.Count != header.Length)
                throw new InvalidFileException(
                    $"{path}: line {reader.LineNumber} has {cells.Count} fields, the header has {header.Length}");
            for (int c = 0; c < cells.Count; c++)
            {
                var (start, length) = cells[c];
                var span = line.Slice(start, length);
                if (c == t)
                {
                    if (regression) targets.Add(Number(span, path, reader.LineNumber, header[c], "target"));
                    else
                    {
                        string label = CsvLines.Text(line, cells[c]);
                        if (!classIds.TryGetValue(label, out int id)) classIds[label] = id = classIds.Count;
                        labels.Add(id);
                    }
                    continue;
                }
                features.Add(Number(span, path, reader.LineNumber, header[c], "feature"));
            }
            if (features.Count > Array.MaxLength) throw new InvalidFileException($"{path}: over 2³¹ feature values");
        }
        int rows = regression ? targets.Count : labels.Count;
        if (rows == 0) throw new InvalidFileException($"{path}: a header and no rows");
        string name = Path.GetFileNameWithoutExtension(path);
        if (regression) return new Dataset(name, features.ToArray(), dim, [.. targets], 1);
        // Class order: numbers as numbers (so "2" < "10"), other labels alphabetically.
        var names = classIds.Keys.ToArray();
        bool numeric = names.All(n => long.TryParse(n, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));
        var sorted = numeric ? names.OrderBy(n => long.Parse(n, CultureInfo.InvariantCulture)).ToArray()
            : names.OrderBy(n => n, StringComparer.Ordinal).ToArray();
        var remap = new int[names.Length];
        for (int i = 0; i < sorted.Length; i++) remap[classIds[sorted[i]]] = i;
        var l = new int[rows];
        for (int i = 0; i < rows; i++) l[i] = remap[labels[i]];
        return new Dataset(name, features.ToArray(), l, dim, Math.Max(sorted.Length, 1), sorted);
    }

    private static float Number(ReadOnlySpan<byte> cell, string path, long line, string column, string what)
    {
        var trimmed = cell.Trim((byte)' ');
        if (trimmed.Length >= 2 && trimmed[0] == '"' && trimmed[^1] == '"') trimmed = trimmed[1..^1];
        if (float.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v)) return v;
        string shown = Encoding.UTF8.GetString(trimmed.Length > 40 ? trimmed[..40] : trimmed);
        throw new InvalidFileException($"{path}: line {line}, column '{column}': the {what} '{shown}' is not a finite number");
    }

    /// <summary>Floats in blocks of 2²⁰: no doubling copies while reading, one exact array at the end.</summary>
    private sealed class BlockList
    {
        private const int Block = 1 << 20;
        private readonly List<float[]> _blocks = [];
        private int _used = Block;

        public long Count => (long)(_blocks.Count - 1) * Block + _used;

        public void Add(float v)
        {
            if (_used == Block) { _blocks.Add(new float[Block]); _used = 0; }
            _blocks[^1][_used++] = v;
        }

        public float[] ToArray()
        {
            var a = new float[_blocks.Count == 0 ? 0 : Count];
            for (int b = 0; b < _blocks.Count; b++)
                Array.Copy(_blocks[b], 0, a, (long)b * Block, b == _blocks.Count - 1 ? _used : Block);
            _blocks.Clear();
            return a;
        }
    }
}

/// <summary>The lines of a CSV stream as byte spans, read in 1 MiB chunks within the file's reported length.</summary>
internal sealed class CsvLines(Stream stream, string path)
{
    private const int MaxLine = 16 << 20;
    private byte[] _buffer = new byte[1 << 20];
    private int _start, _end;
    private long _left = stream.Length;
    private bool _done;

    public long LineNumber { get; private set; }

    /// <summary>The next non-blank line (without its \r\n); false at the end.</summary>
    public bool Next(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            int nl = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (nl < 0 && !_done)
            {
                Fill();
                continue;
            }
            int stop = nl < 0 ? _end : _start + nl;
            var span = _buffer.AsSpan(_start, stop - _start);
            _start = nl < 0 ? _end : stop + 1;
            if (nl < 0 && span.Length == 0) { line = default; return false; }
            LineNumber++;
            if (span.Length > 0 && span[^1] == '\r') span = span[..^1];
            if (LineNumber == 1 && span.StartsWith("\uFEFF"u8)) span = span[3..];
            if (span.Trim((byte)' ').Length == 0) continue;
            line = span;
            return true;
        }
    }

    private void Fill()
    {
        // Keep the unfinished line, grow the buffer for a long one, then read more (never past the reported length).
        int kept = _end - _start;
        if (kept == _buffer.Length)
        {
            if (_buffer.Length >= MaxLine) throw new InvalidFileException($"{path}: line {LineNumber + 1} is over {MaxLine >> 20} MiB");
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }
        Buffer.BlockCopy(_buffer, _start, _buffer, 0, kept);
        (_start, _end) = (0, kept);
        int want = (int)Math.Min(_buffer.Length - kept, _left);
        int got = want == 0 ? 0 : stream.Read(_buffer, kept, want);
        _end += got;
        _left -= got;
        if (got == 0) _done = true;
    }

    /// <summary>The fields of a line as (start, length), quotes respected ("a, b" is one field; "" inside is a quote).</summary>
    public static List<(int Start, int Length)> Cells(ReadOnlySpan<byte> line, string path, long number)
    {
        var cells = new List<(int, int)>();
        int i = 0;
        while (true)
        {
            int start = i;
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length) throw new InvalidFileException($"{path}: line {number} has a quote that is not closed");
                    if (line[i] == '"' && (i + 1 >= line.Length || line[i + 1] != '"')) break;
                    i += line[i] == '"' ? 2 : 1;
                }
                i++;
            }
            int comma = line[i..].IndexOf((byte)',');
            int stop = comma < 0 ? line.Length : i + comma;
            cells.Add((start, stop - start));
            if (comma < 0) return cells;
            i = stop + 1;
        }
    }

    /// <summary>A field's text: trimmed, quotes removed.</summary>
    public static string Text(ReadOnlySpan<byte> line, (int Start, int Length) cell)
    {
        var s = Encoding.UTF8.GetString(line.Slice(cell.Start, cell.Length)).Trim();
        return s.Length >= 2 && s[0] == '"' && s[^1] == '"' ? s[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal) : s;
    }
}
