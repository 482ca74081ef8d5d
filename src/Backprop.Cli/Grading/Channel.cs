using System.Text;
using System.Text.Json;

namespace Backprop.Cli.Grading;

/// <summary>One case's answer from the student's process: a result checked for form, or why the channel broke.</summary>
internal sealed record CaseResult(JsonElement? Value, string? Violation)
{
    public static CaseResult Broken(string why) => new(null, $"{Channel.Wrote}: {why}");
}

/// <summary>
/// Reads one of a child process's pipes in a thread of its own, keeping at most <c>keep</c> bytes. Past that it either drains
/// and drops the rest (standard error) or calls <c>onOverflow</c> and stops (the results channel, which a student's file can
/// write to as well: the grader trusts nothing that comes back).
/// </summary>
internal sealed class BoundedPipe
{
    private readonly MemoryStream _kept = new();
    private readonly Thread _thread;

    public BoundedPipe(Stream s, long keep, Action? onOverflow)
    {
        _thread = new Thread(() => Pump(s, keep, onOverflow)) { IsBackground = true, Name = "grade pipe" };
        _thread.Start();
    }

    /// <summary>True when more than the bound came and <c>onOverflow</c> was called.</summary>
    public bool Overflowed { get; private set; }

    private void Pump(Stream s, long keep, Action? onOverflow)
    {
        var buf = new byte[1 << 16];
        try
        {
            int n;
            while ((n = s.Read(buf)) > 0)
            {
                lock (_kept)
                {
                    int take = (int)Math.Min(n, keep - _kept.Length);
                    _kept.Write(buf, 0, take);
                    if (take == n) continue;
                }
                if (onOverflow is null) continue;
                Overflowed = true;
                onOverflow();
                return;
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
    }

    /// <summary>What was kept once the pipe ended, or after <paramref name="wait"/> where something still holds it open.</summary>
    public string Text(TimeSpan wait)
    {
        _thread.Join(wait);
        lock (_kept) return Encoding.UTF8.GetString(_kept.GetBuffer(), 0, (int)_kept.Length);
    }
}

/// <summary>
/// The harness's protocol, checked line by line: a header (<c>{"classes": [...]}</c> or <c>{"load_error": "..."}</c>), then one
/// result a case. Every field is checked for type and size; what does not fit fails its case as a write to the channel.
/// </summary>
internal static class Channel
{
    public const string Wrote = "the file wrote to the grader's channel";

    /// <summary>The most the harness writes on one line (four arrays of at most <see cref="MaxElements"/> numbers, a traceback).</summary>
    public const int MaxLine = 2 << 20;

    /// <summary>The most the channel may carry in all.</summary>
    public const long MaxTotal = 32L << 20;

    /// <summary>The largest array the harness sends back (it names a larger one by its shape).</summary>
    public const int MaxElements = 16384;

    private const int MaxText = 64 << 10;

    private static readonly string[] Outputs = ["y", "dx", "dW", "db"];

    public static (string? LoadError, List<CaseResult> Results) Parse(string text, int cases, bool overflowed)
    {
        var results = new List<CaseResult>();
        var lines = text.Split('\n');
        int last = lines.Length - 1;   // after the final newline: empty, or a line cut off
        bool header = false;
        int i = 0;
        for (; i < lines.Length && results.Count < cases; i++)
        {
            string line = lines[i];
            if (i == last && line.Length == 0) break;
            if (line.Length > MaxLine)
            {
                results.Add(CaseResult.Broken($"a line of {line.Length} characters"));
                continue;
            }
            if (i == last) { results.Add(CaseResult.Broken("a line that does not end")); break; }
            JsonElement e;
            try { e = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 8 }).RootElement.Clone(); }
            catch (JsonException) { results.Add(CaseResult.Broken("a line that is not JSON")); continue; }
            if (!header)
            {
                header = true;
                if (Single(e, "load_error") is { ValueKind: JsonValueKind.String } le && Text(le) is { } why)
                    return (why, results);
                if (Single(e, "classes") is { ValueKind: JsonValueKind.Array } cl && cl.GetArrayLength() <= 16
                    && cl.EnumerateArray().All(c => Text(c) is not null))
                    continue;
                results.Add(CaseResult.Broken("its first line is not the harness's header"));
                continue;
            }
            results.Add(Result(e));
        }
        if (results.Count < cases && overflowed)
            results.Add(CaseResult.Broken($"more than {MaxTotal >> 20} MiB, or a line over {MaxLine >> 20} MiB"));
        else if (results.Count == cases && (overflowed || lines.Skip(i).Any(l => l.Length > 0)))
            results[^1] = CaseResult.Broken("lines beyond the cases' results");
        return (null, results);
    }

    private static JsonElement? Single(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.EnumerateObject().Count() == 1 && e.TryGetProperty(name, out var v) ? v : null;

    private static string? Text(JsonElement e) =>
        e.ValueKind == JsonValueKind.String && e.GetString() is { Length: <= MaxText } s ? s : null;

    /// <summary>A case's result: an object of known fields, each of the right type and size, or why not.</summary>
    public static CaseResult Result(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) return CaseResult.Broken("a result that is not an object");
        var seen = new HashSet<string>();
        foreach (var p in e.EnumerateObject())
        {
            if (!seen.Add(p.Name)) return CaseResult.Broken($"the field {Quote(p.Name)} twice");
            string? why = p.Name switch
            {
                "error" => Text(p.Value) is null ? "an error that is not a string of at most 64 KiB" : null,
                "dout_modified" => p.Value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : "dout_modified not a boolean",
                _ when Outputs.Contains(p.Name) => ArrayProblem(p.Value),
                _ => "an unknown field " + Quote(p.Name),
            };
            if (why is not null) return CaseResult.Broken(p.Name == "error" || p.Name == "dout_modified" || why.StartsWith("an unknown")
                ? why : $"{p.Name}: {why}");
        }
        return new CaseResult(e, null);
    }

    private static string Quote(string s) => JsonSerializer.Serialize(s.Length > 40 ? s[..40] + "…" : s);

    /// <summary>
    /// Null when <paramref name="v"/> is <c>{"shape": [...], "data": [...]}</c> of matching size, or <c>{"type": name}</c>.
    /// </summary>
    private static string? ArrayProblem(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Object) return "not an object";
        if (Single(v, "type") is { } t)
            return t.ValueKind == JsonValueKind.String && t.GetString()!.Length <= 200 ? null : "a bad type name";
        if (v.EnumerateObject().Count() != 2 || !v.TryGetProperty("shape", out var shape) || !v.TryGetProperty("data", out var data))
            return "not {shape, data}";
        if (shape.ValueKind != JsonValueKind.Array || shape.GetArrayLength() > 8) return "a shape that is not a list of at most 8 sizes";
        long count = 1;
        foreach (var d in shape.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int n) || n < 0 || n > MaxElements)
                return "a size that is not a whole number from 0 to " + MaxElements;
            count *= n;
            if (count > MaxElements) return $"more than {MaxElements} elements";
        }
        if (data.ValueKind != JsonValueKind.Array || data.GetArrayLength() != count) return "data whose length is not the shape's";
        foreach (var x in data.EnumerateArray())
        {
            bool ok = x.ValueKind switch
            {
                JsonValueKind.Number => x.TryGetDouble(out double d) && double.IsFinite(d),
                JsonValueKind.String => x.GetString() is "NaN" or "Infinity" or "-Infinity",
                _ => false,
            };
            if (!ok) return "data that are not numbers";
        }
        return null;
    }
}
