using System.Text;
using System.Text.Json;

namespace Backprop.IO;

/// <summary>Reads inputs from a JSON object whose keys are input names: arrays as nested lists, numbers, strings.</summary>
internal static class JsonInput
{
    private static readonly JsonDocumentOptions Options = new() { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip };

    /// <summary>Parses a JSON document.</summary>
    /// <exception cref="InputFormatException">Malformed JSON, with line and column.</exception>
    public static JsonDocument ParseDocument(string text)
    {
        try
        {
            return JsonDocument.Parse(text, Options);
        }
        catch (JsonException e)
        {
            string msg = e.Message;
            int cut = msg.IndexOf(" LineNumber", StringComparison.Ordinal);
            if (cut > 0) msg = msg[..cut].TrimEnd('.', ' ');
            throw new InputFormatException($"malformed JSON: {msg}", (int)(e.LineNumber ?? -1) + 1, (int)(e.BytePositionInLine ?? -1) + 1,
                e);
        }
    }

    /// <summary>Parses a JSON object into named inputs, in order.</summary>
    public static IReadOnlyList<InputValue> Parse(string text)
    {
        using var doc = ParseDocument(text);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new InputFormatException($"the JSON input must be an object of named inputs, " +
                $"not {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}", 1, 1);
        return Object(doc.RootElement, "");
    }

    /// <summary>The members of a JSON object as named inputs; <paramref name="path"/> prefixes names in messages.</summary>
    public static IReadOnlyList<InputValue> Object(JsonElement obj, string path)
    {
        var result = new List<InputValue>();
        var names = new HashSet<string>();
        foreach (var p in obj.EnumerateObject())
        {
            if (!names.Add(p.Name)) throw new InvalidInputException($"input '{path}{p.Name}' is given twice");
            result.Add(Value(p.Value, p.Name, path + p.Name));
        }
        return result;
    }

    /// <summary>One JSON value as a named input.</summary>
    public static InputValue Value(JsonElement e, string name, string path)
    {
        if (e.ValueKind == JsonValueKind.String) return new InputValue { Name = name, Word = e.GetString(), Where = path };
        var values = new List<double>();
        var shape = Walk(e, path, values);
        return new InputValue { Name = name, Shape = shape, Values = values.ToArray(), Where = path };
    }

    private static int[] Walk(JsonElement e, string path, List<double> values)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Number:
                values.Add(e.GetDouble());
                return [];
            case JsonValueKind.String when e.GetString() is "NaN" or "nan" or "Infinity" or "-Infinity" or "inf" or "-inf":
                values.Add(e.GetString()!.Contains("nan", StringComparison.OrdinalIgnoreCase) ? double.NaN : e.GetString()!.StartsWith('-')
                    ? double.NegativeInfinity : double.PositiveInfinity);
                return [];
            case JsonValueKind.Array:
                int[]? inner = null;
                int count = 0;
                foreach (var item in e.EnumerateArray())
                {
                    var s = Walk(item, $"{path}[{count}]", values);
                    if (inner is null) inner = s;
                    else if (!inner.AsSpan().SequenceEqual(s))
                        throw new InvalidInputException($"{path}: ragged nested list: element {count} has shape {Shape(s)} but element 0 " +
                            $"has shape {Shape(inner)}");
                    count++;
                }
                return [count, .. inner ?? []];
            default:
                throw new InvalidInputException($"{path} must be a number or a nested list of numbers, " +
                    $"not {e.ValueKind.ToString().ToLowerInvariant()}");
        }
    }

    private static string Shape(int[] s) => s.Length == 0 ? "() (a number)" : Tensor<double>.ShapeText(s);
}
