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
        var header = reader.Header();
        int t = target is null ? header.Length - 1 : Array.IndexOf(header, target);
        if (t < 0)
            throw new InvalidFileException($"{path}: no column '{target}'; the columns are " +
                (header.Length <= 12 ? string.Join(", ", header) : string.Join(", ", header[..6]) + $", … ({header.Length} in all)"));
        if (header.Length < 2) throw new InvalidFileException($"{path}: one column; a CSV file needs features and a target");
        int dim = header.Length - 1;
        // The rest in pieces of whole lines, each split at line ends into one part per core, parsed side by side.
        var pieces = new List<Part>();
        int threads = Math.Max(1, Parallelism.MaxThreads);
        long lineBase = reader.LineNumber;
        while (reader.NextChunk(out var chunk))
        {
            var bounds = SplitAtLines(chunk, threads);
            var parts = new Part[bounds.Count];
            var firstLines = new long[bounds.Count];
            for (int p = 0; p < bounds.Count; p++)
            {
                firstLines[p] = lineBase + 1;
                lineBase += chunk.Span.Slice(bounds[p].Start, bounds[p].Length).Count((byte)'\n');
            }
            if (chunk.Length > 0 && chunk.Span[^1] != '\n') lineBase++;
            Parallel.For(0, bounds.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, p =>
                parts[p] = Part.Parse(chunk.Span.Slice(bounds[p].Start, bounds[p].Length), firstLines[p], path, header, t, regression));
            // The first error in file order, whichever core met it first.
            if (parts.FirstOrDefault(x => x.Error is not null) is { } bad) throw bad.Error!;
            pieces.AddRange(parts);
            if (pieces.Sum(x => (long)x.Rows) * dim > Array.MaxLength) throw new InvalidFileException($"{path}: over 2³¹ feature values");
        }
        int rows = pieces.Sum(x => x.Rows);
        var featureArray = new float[(long)rows * dim];
        long at = 0;
        foreach (var piece in pieces)
        {
            Array.Copy(piece.Features, 0, featureArray, at, (long)piece.Rows * dim);
            at += (long)piece.Rows * dim;
        }
        if (rows == 0) throw new InvalidFileException($"{path}: a header and no rows");
        string name = Path.GetFileNameWithoutExtension(path);
        if (regression) return new Dataset(name, featureArray, dim, [.. pieces.SelectMany(x => x.Targets!)], 1);
        var classIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var labels = new int[rows];
        int row = 0;
        foreach (var piece in pieces)
            foreach (var label in piece.Labels!)
            {
                if (!classIds.TryGetValue(label, out int id)) classIds[label] = id = classIds.Count;
                labels[row++] = id;
            }
        // Class order: numbers as numbers (so "2" < "10"), other labels alphabetically.
        var names = classIds.Keys.ToArray();
        bool numeric = names.All(n => long.TryParse(n, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));
        var sorted = numeric ? names.OrderBy(n => long.Parse(n, CultureInfo.InvariantCulture)).ToArray()
            : names.OrderBy(n => n, StringComparer.Ordinal).ToArray();
        var remap = new int[names.Length];
        for (int i = 0; i < sorted.Length; i++) remap[classIds[sorted[i]]] = i;
        var l = new int[rows];
        for (int i = 0; i < rows; i++) l[i] = remap[labels[i]];
        return new Dataset(name, featureArray, l, dim, Math.Max(sorted.Length, 1), sorted);
    }

    // Where to cut a piece of whole lines into n parts: at the line end after each n-th of its bytes.
    private static List<(int Start, int Length)> SplitAtLines(ReadOnlyMemory<byte> chunk, int n)
    {
        var bounds = new List<(int, int)>();
        int start = 0;
        for (int p = 1; p <= n && start < chunk.Length; p++)
        {
            int stop = p == n ? chunk.Length : (int)((long)chunk.Length * p / n);
            if (stop < start) continue;
            int nl = chunk.Span[stop..].IndexOf((byte)'\n');
            stop = p == n || nl < 0 ? chunk.Length : stop + nl + 1;
            bounds.Add((start, stop - start));
            start = stop;
        }
        return bounds;
    }

    /// <summary>The rows of one part of a CSV file: features, and labels or targets; or the first error met.</summary>
    private sealed class Part
    {
        public float[] Features = [];
        public List<string>? Labels;
        public List<float>? Targets;
        public int Rows;
        public InvalidFileException? Error;

        public static Part Parse(ReadOnlySpan<byte> text, long firstLine, string path, string[] header, int t, bool regression)
        {
            var part = new Part { Labels = regression ? null : [], Targets = regression ? [] : null };
            int dim = header.Length - 1;
            int lines = text.Count((byte)'\n') + 1;
            var features = new float[(long)lines * dim];
            var cells = new List<(int Start, int Length)>(header.Length);   // one list for every line: no allocation per row
            long number = firstLine - 1;
            long at = 0;
            try
            {
                while (text.Length > 0)
                {
                    int nl = text.IndexOf((byte)'\n');
                    var line = nl < 0 ? text : text[..nl];
                    text = nl < 0 ? default : text[(nl + 1)..];
                    number++;
                    if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
                    if (line.Trim((byte)' ').Length == 0) continue;
                    CsvLines.Cells(line, path, number, cells);
                    if (cells.Count != header.Length)
                        throw new InvalidFileException($"{path}: line {number} has {cells.Count} fields, the header has {header.Length}");
                    for (int c = 0; c < cells.Count; c++)
                    {
                        var span = line.Slice(cells[c].Start, cells[c].Length);
                        if (c != t) features[at++] = Number(span, path, number, header[c], "feature");
                        else if (regression) part.Targets!.Add(Number(span, path, number, header[c], "target"));
                        else part.Labels!.Add(CsvLines.Text(line, cells[c]));
                    }
                    part.Rows++;
                }
            }
            catch (InvalidFileException e) { part.Error = e; }
            part.Features = features;
            return part;
        }
    }

    private static float Number(ReadOnlySpan<byte> cell, string path, long line, string column, string what)
    {
        var trimmed = cell.Trim((byte)' ');
        if (trimmed.Length >= 2 && trimmed[0] == '"' && trimmed[^1] == '"') trimmed = trimmed[1..^1];
        if (float.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v)) return v;
        string shown = Encoding.UTF8.GetString(trimmed.Length > 40 ? trimmed[..40] : trimmed);
        throw new InvalidFileException($"{path}: line {line}, column '{column}': the {what} '{shown}' is not a finite number");
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

    /// <summary>The first line's fields, as text: the header row.</summary>
    /// <exception cref="InvalidFileException">An empty file.</exception>
    public string[] Header()
    {
        if (!Next(out var line)) throw new InvalidFileException($"{path}: empty; a CSV file starts with a header row");
        var cells = new List<(int Start, int Length)>();
        Cells(line, path, LineNumber, cells);
        var header = new string[cells.Count];
        for (int i = 0; i < header.Length; i++) header[i] = Text(line, cells[i]);
        return header;
    }

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

    /// <summary>The next piece of whole lines, about <see cref="ChunkBytes"/> (the last may end without a line end); false at
    /// the end.</summary>
    public bool NextChunk(out ReadOnlyMemory<byte> chunk)
    {
        if (_buffer.Length < ChunkBytes)
        {
            var bigger = new byte[ChunkBytes];
            Buffer.BlockCopy(_buffer, _start, bigger, 0, _end - _start);
            (_buffer, _end, _start) = (bigger, _end - _start, 0);
        }
        while (!_done && _end - _start < ChunkBytes / 2) Fill();
        if (_end == _start) { chunk = default; return false; }
        int stop = _end;
        if (!_done)
        {
            int last = _buffer.AsSpan(_start, _end - _start).LastIndexOf((byte)'\n');
            while (last < 0 && !_done)   // one line longer than what is read: read on (the buffer grows, up to MaxLine)
            {
                Fill();
                last = _buffer.AsSpan(_start, _end - _start).LastIndexOf((byte)'\n');
            }
            stop = _done ? _end : _start + last + 1;
        }
        // The parts of a chunk are parsed before the next call moves the buffer's contents.
        chunk = _buffer.AsMemory(_start, stop - _start);
        _start = stop;
        return true;
    }

    /// <summary>The bytes a chunk aims at: 16 MiB.</summary>
    public const int ChunkBytes = 16 << 20;

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

    /// <summary>The fields of a line as (start, length) into <paramref name="cells"/>, quotes respected ("a, b" is one field;
    /// "" inside is a quote).</summary>
    public static void Cells(ReadOnlySpan<byte> line, string path, long number, List<(int Start, int Length)> cells)
    {
        cells.Clear();
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
            if (comma < 0) return;
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
