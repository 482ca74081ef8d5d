using System.Globalization;
using System.Numerics;
using Backprop.IO;

namespace Backprop.Models;

/// <summary>
/// What a layer kind's <see cref="LayerKind.ToOnnx"/> writes into: the graph so far, the layer's description, and its
/// tensors as initializers. Nodes and constants are named after the layer (<c>layers.3</c>, <c>layers.3/exp</c>,
/// <c>layers.3.alpha</c>), so every name in the file says which layer it belongs to.
/// </summary>
public sealed class OnnxLayerWriter
{
    private readonly OnnxGraphWriter _graph;

    internal OnnxLayerWriter(OnnxGraphWriter graph, LayerDescription layer, string prefix, string input, int rank)
    {
        _graph = graph;
        Layer = layer;
        Prefix = prefix;
        Input = input;
        Rank = rank;
    }

    /// <summary>The layer: its kind and hyper-parameters.</summary>
    public LayerDescription Layer { get; }

    /// <summary>The layer's name in the file (<c>layers.3</c>): its tensors are <c>layers.3.W</c>, …</summary>
    public string Prefix { get; }

    /// <summary>The value the layer reads.</summary>
    public string Input { get; }

    /// <summary>The input's rank (2 for (N, D), 4 for images); a layer that changes it sets its output's.</summary>
    public int Rank { get; set; }

    /// <summary>True in a float64 model (ONNX attributes are float32: exact float64 constants go in as tensors).</summary>
    public bool Float64 => _graph.ElementType == OnnxTensor.Double;

    /// <summary>The opset being written.</summary>
    public int Opset => (int)_graph.Model.Opset;

    /// <summary>A number hyper-parameter.</summary>
    public double Number(string name) => Convert.ToDouble(Value(name), CultureInfo.InvariantCulture);

    /// <summary>An integer hyper-parameter.</summary>
    public int Int(string name) => Convert.ToInt32(Value(name), CultureInfo.InvariantCulture);

    /// <summary>A choice hyper-parameter.</summary>
    public string Choice(string name) => (string)Value(name);

    /// <summary>Adds the layer's tensor <paramref name="name"/> as an initializer and returns its name (<c>layers.3.W</c>).</summary>
    public string Weight(string name) => _graph.Weight($"{Prefix}.{name}");

    /// <summary>A scalar constant of the model's element type, named <c>{Prefix}.{name}</c> (once however often asked).</summary>
    public string Scalar(string name, double value) => _graph.Scalar($"{Prefix}.{name}", value);

    /// <summary>
    /// Adds a node and returns its output. <paramref name="part"/> names it within the layer (null: the layer's only
    /// node); attribute values are long or int (INT), double or float (FLOAT), string (STRING) or long[] or int[] (INTS).
    /// </summary>
    public string Node(string op, string? part, IReadOnlyList<string> inputs, params (string Name, object Value)[] attributes)
    {
        ArgumentException.ThrowIfNullOrEmpty(op);
        ArgumentNullException.ThrowIfNull(inputs);
        return _graph.Node(op, part is null ? Prefix : $"{Prefix}/{part}", [.. inputs], attributes.Select(Attribute));
    }

    private object Value(string name) => Layer.Hyperparameters.TryGetValue(name, out var v) ? v
        : throw new InvalidInputException($"{Prefix} ({Layer.Kind}): no hyper-parameter '{name}'");

    private static OnnxAttribute Attribute((string Name, object Value) a) => a.Value switch
    {
        long l => OnnxAttribute.Int(a.Name, l),
        int i => OnnxAttribute.Int(a.Name, i),
        double d => OnnxAttribute.Float(a.Name, d),
        float f => OnnxAttribute.Float(a.Name, f),
        string s => OnnxAttribute.String(a.Name, s),
        long[] v => OnnxAttribute.IntList(a.Name, v),
        int[] v => OnnxAttribute.IntList(a.Name, [.. v.Select(x => (long)x)]),
        _ => throw new ArgumentException($"attribute '{a.Name}': a {a.Value?.GetType().Name ?? "null"} is not an ONNX attribute value"),
    };
}

/// <summary>The graph being exported: nodes, initializers and scalar constants of one element type.</summary>
internal sealed class OnnxGraphWriter(OnnxModel model, int elementType, Func<string, OnnxTensor> weight)
{
    public OnnxModel Model => model;
    public int ElementType => elementType;

    public string Weight(string name)
    {
        if (!model.Initializers.Any(t => t.Name == name)) model.Initializers.Add(weight(name));
        return name;
    }

    public static OnnxTensor Tensor<T>(string name, Tensor<T> t, int elementType) where T : unmanaged, IFloatingPointIeee754<T> => new()
    {
        Name = name,
        DataType = elementType,
        Dims = t.Shape.ToArray().Select(d => (long)d).ToArray(),
        Values = t.Span.ToArray().Select(double.CreateTruncating).ToArray(),
    };

    public string Scalar(string name, double value)
    {
        if (!model.Initializers.Any(t => t.Name == name))
            model.Initializers.Add(new OnnxTensor { Name = name, DataType = elementType, Dims = [], Values = [value] });
        return name;
    }

    public string Node(string op, string name, string[] inputs, IEnumerable<OnnxAttribute>? attributes = null, string? output = null)
    {
        var node = new OnnxNode { OpType = op, Name = name };
        node.Inputs.AddRange(inputs);
        node.Outputs.Add(output ?? name + ":0");
        if (attributes is not null) node.Attributes.AddRange(attributes);
        model.Nodes.Add(node);
        return node.Outputs[0];
    }

    // The node that produced `value` writes `name` instead (the graph's named output).
    public void Rename(string value, string name)
    {
        foreach (var n in model.Nodes)
        {
            for (int i = 0; i < n.Outputs.Count; i++) if (n.Outputs[i] == value) n.Outputs[i] = name;
            for (int i = 0; i < n.Inputs.Count; i++) if (n.Inputs[i] == value) n.Inputs[i] = name;
        }
    }
}
