using System.Numerics;
using System.Text;
using System.Text.Json;
using Backprop;
using Backprop.IO;

namespace Backprop.Cli.Support;

/// <summary>Collects named results, then writes them as numpy-style text or as one JSON object.</summary>
internal sealed class Output
{
    private readonly List<(string Name, object Value)> _items = new();

    public void Add<T>(string name, Tensor<T> t) where T : unmanaged, IFloatingPointIeee754<T> => _items.Add((name, t.Clone()));

    public void Add<T>(string name, T scalar) where T : unmanaged, IFloatingPointIeee754<T> => _items.Add((name, scalar));

    public void Add(string name, Output nested) => _items.Add((name, nested));

    /// <summary>Integers (classes), printed as numpy prints an integer array.</summary>
    public void Add(string name, int[] values) => _items.Add((name, values.ToArray()));

    public void Add(string name, List<Output> list) => _items.Add((name, list));

    /// <summary>Throws if any result is NaN or infinite, naming it: never a silent NaN.</summary>
    public void EnsureFinite(string context)
    {
        foreach (var (name, value) in _items)
        {
            switch (value)
            {
                case Tensor<double> d: d.EnsureFinite($"{context}: the result {name}"); break;
                case Tensor<float> f: f.EnsureFinite($"{context}: the result {name}"); break;
                case double s when !double.IsFinite(s):
                    throw new NonFiniteValueException($"{context}: the result {name} is {s}; the " +
                    $"computation overflowed");
                case float s when !float.IsFinite(s):
                    throw new NonFiniteValueException($"{context}: the result {name} is {s}; the " +
                    $"computation overflowed float32");
                case Output o: o.EnsureFinite(context); break;
                case List<Output> l: foreach (var o in l) o.EnsureFinite(context); break;
            }
        }
    }

    public string ToText(string prefix = "")
    {
        var sb = new StringBuilder();
        foreach (var (name, value) in _items)
        {
            switch (value)
            {
                case Output o: sb.Append(o.ToText(prefix + name + ".")); break;
                case List<Output> l:
                    for (int i = 0; i < l.Count; i++) sb.Append(l[i].ToText($"{prefix}{name}[{i}]."));
                    break;
                default:
                    sb.Append(prefix).Append(name).Append(":\n").Append(FormatValue(value)).Append('\n');
                    break;
            }
        }
        return sb.ToString();
    }

    private static string FormatValue(object v) => v switch
    {
        Tensor<double> d => NumpyFormat.Format(d),
        Tensor<float> f => NumpyFormat.Format(f),
        double d => NumpyFormat.Scalar(d),
        float f => NumpyFormat.Scalar(f),
        int[] a => IntArray(a),
        _ => v.ToString() ?? "",
    };

    // numpy's form of a 1-D integer array: right-aligned to the widest element, wrapped at 75 columns.
    private static string IntArray(int[] a)
    {
        var items = a.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        int w = items.Length == 0 ? 0 : items.Max(i => i.Length);
        var sb = new StringBuilder("[");
        int col = 1;
        for (int i = 0; i < items.Length; i++)
        {
            string item = items[i].PadLeft(w);
            if (i > 0)
            {
                if (col + 1 + item.Length + (i == items.Length - 1 ? 1 : 0) > 75) { sb.Append("\n "); col = 1; }
                else { sb.Append(' '); col++; }
            }
            sb.Append(item);
            col += item.Length;
        }
        return sb.Append(']').ToString();
    }

    public string ToJson() => Json.Render(Write);

    private void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        foreach (var (name, value) in _items)
        {
            w.WritePropertyName(name);
            switch (value)
            {
                case Output o: o.Write(w); break;
                case List<Output> l:
                    w.WriteStartArray();
                    foreach (var o in l) o.Write(w);
                    w.WriteEndArray();
                    break;
                case Tensor<double> d: WriteTensor(w, d.Span, d.Shape, 0); break;
                case Tensor<float> f: WriteTensor(w, f.Span, f.Shape, 0); break;
                case double d: w.Number(d); break;
                case float f: w.Number(f); break;
                case int[] a:
                    w.WriteStartArray();
                    foreach (int v in a) w.WriteNumberValue(v);
                    w.WriteEndArray();
                    break;
            }
        }
        w.WriteEndObject();
    }

    internal static void WriteTensor<T>(Utf8JsonWriter w, ReadOnlySpan<T> data, ReadOnlySpan<int> shape, int offset) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        if (shape.Length == 0)
        {
            if (typeof(T) == typeof(float)) w.Number(float.CreateTruncating(data[offset]));
            else w.Number(double.CreateTruncating(data[offset]));
            return;
        }
        int stride = 1;
        for (int a = 1; a < shape.Length; a++) stride *= shape[a];
        w.WriteStartArray();
        for (int i = 0; i < shape[0]; i++) WriteTensor(w, data, shape[1..], offset + i * stride);
        w.WriteEndArray();
    }
}
