using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Backprop.Cli.Support;

/// <summary>
/// The one JSON writer behind every <c>--json</c> output and every request the grader sends: the same writer
/// options and serializer options everywhere, so that all commands print the same kind of JSON (compact, UTF-8,
/// nulls left out, non-finite numbers as the strings "NaN", "Infinity" and "-Infinity" rather than an exception).
/// </summary>
internal static class Json
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false };

    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes one JSON document with <paramref name="body"/> and returns its text.</summary>
    public static string Render(Action<Utf8JsonWriter> body)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, WriterOptions))
            body(w);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Serializes a plain record or anonymous object with the shared options.</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, SerializerOptions);

    /// <summary>A number, or its name as a string where it is NaN or infinite (JSON has no literal for those).</summary>
    public static void Number(this Utf8JsonWriter w, double value)
    {
        if (double.IsFinite(value)) w.WriteNumberValue(value);
        else w.WriteStringValue(Name(value));
    }

    public static void Number(this Utf8JsonWriter w, float value)
    {
        if (float.IsFinite(value)) w.WriteNumberValue(value);
        else w.WriteStringValue(Name(value));
    }

    public static void Number(this Utf8JsonWriter w, string name, double value)
    {
        w.WritePropertyName(name);
        w.Number(value);
    }

    /// <summary>Reads a number written by <see cref="Number(Utf8JsonWriter, double)"/> (or by the Python grading harness).</summary>
    public static double ReadNumber(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? e.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var s => throw new FormatException($"'{s}' is not a number"),
        }
        : e.GetDouble();

    private static string Name(double v) => double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}
