using System.Globalization;
using System.Numerics;
using Backprop.IO;
using Backprop.Networks;

namespace Backprop.Models;

/// <summary>An imported ONNX graph: the network's description and its tensors, by the model file's names.</summary>
public sealed record OnnxImported(ModelDescription Description, IReadOnlyList<SafeTensors.Entry> Tensors);

public static partial class OnnxFile
{
    /// <summary>Reads an ONNX file and turns its graph into a network description and tensors.</summary>
    /// <exception cref="InvalidFileException">Unreadable, malformed, or a graph Backprop cannot represent exactly (the node
    /// and operator named).</exception>
    public static OnnxImported Read(string path)
    {
        var model = OnnxModel.Parse(BoundedFile.ReadAllBytes(path, OnnxModel.MaxBytes), path);
        return new OnnxImporter(model, path).Run();
    }

    /// <summary>Imports an ONNX file as a network of <typeparamref name="T"/> (the file's element type).</summary>
    public static Network<T> Import<T>(string path) where T : unmanaged, IFloatingPointIeee754<T> => Build<T>(Read(path), path);

    /// <summary>Builds the network of an imported graph: a <see cref="Sequential{T}"/> where the graph is a chain, else a
    /// <see cref="GraphNetwork{T}"/>.</summary>
    public static Network<T> Build<T>(OnnxImported imported, string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(imported);
        if (imported.Description.Dtype != ModelDescription.DtypeOf<T>())
            throw new InvalidFileException($"{path}: the model is {imported.Description.Dtype}; import it as " +
                $"Network<{(imported.Description.Dtype == "float32" ? "float" : "double")}>");
        Network<T> net;
        try { net = imported.Description.Build<T>(new Rng(0)); }
        catch (InvalidInputException e) { throw new InvalidFileException($"{path}: {e.Message}", e); }
        ModelFile.Assign(path, ModelFile.Tensors(net), imported.Tensors, imported.Description.IsGraph ? "nodes." : "layers.");
        return net;
    }
}

/// <summary>
/// A layer found in an ONNX graph: its kind and hyper-parameters, the value it produces, every node it spans, its tensors
/// (named as the layer's own: W, b, gamma, …) and the rank of its output where it changes it.
/// </summary>
internal sealed record OnnxMatch(string Kind, IReadOnlyDictionary<string, object> Hyperparameters, string Output,
    IReadOnlyList<OnnxNode> Nodes)
{
    public int? Rank { get; init; }
    public IReadOnlyList<(string Name, int[] Shape, double[] Values)> Tensors { get; init; } = [];
}

/// <summary>
/// Turns a graph into a network: each node, in the file's (topological) order, that reads one of the network's values is
/// offered to the layer kinds that list its operator (<see cref="LayerKind.FromOnnx"/>), the longest match is taken; Add
/// and Concat of the network's values are join nodes; plumbing (Identity, a zero Pad, the final Softmax) is handled here.
/// A graph that is a chain is imported as a chain. The helpers are what the kinds' patterns read the graph with.
/// </summary>
internal sealed class OnnxImporter(OnnxModel model, string where)
{
    private readonly Dictionary<string, OnnxTensor> _constants = [];
    private readonly List<LayerDescription> _layers = [];
    private readonly List<SafeTensors.Entry> _tensors = [];
    private readonly HashSet<OnnxNode> _done = [];
    private readonly Dictionary<string, (string Node, int Rank)> _values = [];
    private OnnxNode? _softmax;
    private OnnxNode? _start;
    private string _from = "x", _current = "x";   // the node the layer being matched reads, and the node the last step gave

    /// <summary>True in a float32 graph.</summary>
    public bool Float32 { get; private set; }

    /// <summary>The rank of the chain's current value (2 or 4).</summary>
    public int Rank { get; private set; }
    public OnnxImported Run()
    {
        // Names are given once (ONNX's graphs are in static single assignment), attributes once per node: the reader
        // does not choose between two values.
        foreach (var t in model.Initializers)
            if (!_constants.TryAdd(t.Name, t))
                throw new InvalidFileException($"{where}: the initializer '{t.Name}' is given twice");
        foreach (var n in model.Nodes)
        {
            if (n.Attributes.GroupBy(a => a.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
                throw Unsupported(n, $"gives the attribute '{twice.Key}' twice");
        }
        foreach (var n in model.Nodes)
        {
            if (n.Domain is not ("" or "ai.onnx"))
                throw Unsupported(n, $"is in the domain '{n.Domain}', not the standard ONNX one");
            if (n.OpType != "Constant") continue;
            var value = n.Attribute("value")?.T
                ?? (n.Attribute("value_float") is { } f ? new OnnxTensor { DataType = OnnxTensor.Float, Values = [f.F] } : null)
                ?? (n.Attribute("value_int") is { } i ? new OnnxTensor { DataType = OnnxTensor.Int64, Integers = [i.I] } : null)
                ?? (n.Attribute("value_ints") is { } v
                    ? new OnnxTensor { DataType = OnnxTensor.Int64, Dims = [v.Ints.Length], Integers = v.Ints } : null)
                ?? throw Unsupported(n, "holds a kind of constant Backprop does not read");
            if (n.Outputs.Count != 1) throw Unsupported(n, "has other than one output");
            if (!_constants.TryAdd(n.Outputs[0], value)) throw Unsupported(n, $"sets '{n.Outputs[0]}', which is already given");
            _done.Add(n);
        }
        var inputs = model.Inputs.Where(i => !_constants.ContainsKey(i.Name)).ToList();
        if (inputs.Count != 1)
            throw new InvalidFileException($"{where}: the graph has {inputs.Count} inputs besides its weights; a network takes one");
        var input = inputs[0];
        Float32 = input.ElementType switch
        {
            OnnxTensor.Float => true,
            OnnxTensor.Double => false,
            _ => throw new InvalidFileException($"{where}: the input '{input.Name}' has element type {input.ElementType}; only " +
                "float32 and float64 networks are imported"),
        };
        Rank = input.Shape.Count;
        if (Rank is not (2 or 4)) throw new InvalidFileException($"{where}: the input '{input.Name}' has rank {Rank}; a network " +
            "takes (N, D) or images (N, C, H, W)");
        // Every value the network computes, by its ONNX name: the Backprop node that gives it (x for the input) and its rank.
        _values[input.Name] = ("x", Rank);
        foreach (var n in model.Nodes)
        {
            if (_done.Contains(n)) continue;
            if (_softmax is not null) throw Unsupported(n, "comes after the final Softmax");
            var read = n.Inputs.Where(_values.ContainsKey).ToList();
            if (read.Count == 0)
                throw Unsupported(n, "reads none of the network's values (a branch of constants, or nodes out of order)");
            if (read.Count > 1 && n.Inputs.All(_values.ContainsKey) && (n.OpType == "Add" || n.OpType == "Concat"))
            {
                Join(n);
                continue;
            }
            if (read.Distinct().Count() > 1)
                throw Unsupported(n, $"reads {read.Count} of the network's values ({string.Join(", ", read.Select(v => $"'{v}'"))}); " +
                    "Backprop joins values with Add (of one shape) and Concat (along axis 1) only");
            string x = read[0];
            Rank = _values[x].Rank;
            _from = _values[x].Node;
            _values[Step(n, x)] = (_current, Rank);
        }
        string output = _softmax is not null ? _softmax.Inputs[0]
            : model.Outputs.Count == 1 ? model.Outputs[0].Name
            : throw new InvalidFileException($"{where}: the graph has {model.Outputs.Count} outputs and no final Softmax; a network " +
                "has one output");
        if (!_values.TryGetValue(output, out var last))
            throw new InvalidFileException($"{where}: the graph's output '{output}' is not computed from its input");
        string loss = model.Metadata.TryGetValue("backprop.loss", out var l) && Kinds.IsLoss(l) ? l : "softmax_cross_entropy";
        var dtype = Float32 ? "float32" : "float64";
        // A chain (every node reads the one before, the first x, the last the output) is imported as a chain, as before.
        bool chain = _layers.Select((d, i) => d.From!.Count == 1 && d.From[0] == (i == 0 ? "x" : _layers[i - 1].Node)
            && !LayerDescription.Joins.Contains(d.Kind)).All(b => b) && last.Node == (_layers.Count == 0 ? "x" : _layers[^1].Node);
        if (!chain) return new OnnxImported(new ModelDescription(dtype, _layers, loss) { Output = last.Node }, _tensors);
        var index = _layers.Select((d, i) => (d.Node!, i)).ToDictionary();
        var renamed = _tensors.Select(e =>
        {
            string node = e.Name[(e.Name.IndexOf('.') + 1)..e.Name.LastIndexOf('.')];
            return e with { Name = $"layers.{index[node]}.{e.Name[(e.Name.LastIndexOf('.') + 1)..]}" };
        }).ToList();
        return new OnnxImported(new ModelDescription(dtype, [.. _layers.Select(d => d with { Node = null, From = null })], loss), renamed);
    }

    // Add of values of one shape, Concat along the channels: a graph's join node.
    private void Join(OnnxNode n)
    {
        if (n.OpType == "Concat" && n.Attribute("axis")?.I != 1)
            throw Unsupported(n, $"concatenates along axis {n.Attribute("axis")?.I}; Backprop's concat joins along the channels (1)");
        var from = n.Inputs.Select(i => _values[i]).ToList();
        string kind = n.OpType == "Add" ? "add" : "concat";
        string name = $"{kind}_{_layers.Count}";
        _layers.Add(new LayerDescription(kind, new Dictionary<string, object>()) { Node = name, From = [.. from.Select(v => v.Node)] });
        _values[Out(n)] = (name, from[0].Rank);
        _done.Add(n);
    }

    // One layer from the node that reads `current` (and the nodes of its pattern); returns the new current value.
    private string Step(OnnxNode n, string x)
    {
        _start = n;
        OnnxMatch? best = null;
        var misses = new List<(string Kind, InvalidFileException Why)>();
        int candidates = 0;
        foreach (var kind in Kinds.Layers)
        {
            if (!kind.OnnxOperators.Contains(n.OpType)) continue;
            candidates++;
            try
            {
                if (kind.FromOnnx(this, n, x) is { } m && (best is null || m.Nodes.Count > best.Nodes.Count)) best = m;
            }
            catch (InvalidFileException e) { misses.Add((kind.Name, e)); }
        }
        _start = null;
        if (best is not null) return Take(best);
        if (misses.Count == 1) throw misses[0].Why;
        if (misses.Count > 1)
            throw Unsupported(n, "is not part of a layer Backprop knows: " + string.Join("; ",
                misses.Select(m => $"as {m.Kind}, {m.Why.Message[(where.Length + 2)..]}")));
        _done.Add(n);
        _current = _from;   // plumbing computes nothing: its output is the value it reads
        return Plumbing(n, x) ?? throw Unsupported(n, candidates > 0 ? "is not part of a layer Backprop knows"
            : "is an operator Backprop does not import");
    }

    private string Take(OnnxMatch m)
    {
        string node = $"{m.Kind}_{_layers.Count}";
        foreach (var (name, shape, values) in m.Tensors) Tensor($"nodes.{node}.{name}", shape, values);
        _layers.Add(new LayerDescription(m.Kind, m.Hyperparameters) { Node = node, From = [_from] });
        _current = node;
        _done.UnionWith(m.Nodes);
        Rank = m.Rank ?? Rank;
        return m.Output;
    }

    // The nodes that are not layers: Identity, a flatten the next fully connected layer would do anyway, the Softmax at the end.
    private string? Plumbing(OnnxNode n, string x)
    {
        switch (n.OpType)
        {
            case "Identity":
                return Out(n);
            case "Softmax":
                // the probabilities at the end (beside the logits or alone): the loss's softmax, not a layer
                if (Consumers(Out(n)).Count > 0 || !IsOutput(Out(n)))
                    throw Unsupported(n, "is a Softmax the chain continues from; Backprop's networks end in logits (the loss " +
                        "applies the softmax)");
                if ((n.Attribute("axis")?.I ?? -1) is not (1 or -1) || Rank != 2) throw Unsupported(n, "is not over the classes");
                _softmax = n;
                return x;
            case "Flatten":
            case "Reshape":
                CheckFlatten(n);
                var next = Consumers(Out(n));
                if (next.Count == 1 && next[0].OpType == "BatchNormalization" && Rank == 4)
                    throw Unsupported(next[0], "normalizes a flattened image without restoring its shape (Shape … Reshape)");
                Rank = 2;
                return Out(n);
            case "Pad":
                // zero padding on every side (what the average pooling's pattern left: it checked the rest)
                return Out(n);
            default:
                return null;
        }
    }

    // The helpers the kinds' patterns read the graph with.

    // One stride and one pad for both axes and both sides, as Backprop's layers take them.
    internal (int Stride, int Pad) Window(OnnxNode n)
    {
        if ((n.Attribute("auto_pad")?.S ?? "NOTSET") is not ("NOTSET" or "VALID"))
            throw Unsupported(n, $"pads automatically (auto_pad {n.Attribute("auto_pad")!.S})");
        var s = n.Attribute("strides")?.Ints ?? [1, 1];
        var p = n.Attribute("pads")?.Ints ?? [0, 0, 0, 0];
        if (s.Length != 2 || s[0] != s[1]) throw Unsupported(n, $"has strides ({string.Join(", ", s)}); Backprop's layers take one " +
            "stride for both axes");
        if (p.Length != 4 || p.Distinct().Count() != 1) throw Unsupported(n, $"has pads ({string.Join(", ", p)}); Backprop's " +
            "layers pad every side alike");
        return ((int)s[0], (int)p[0]);
    }

    /// <summary>Checks that <paramref name="n"/> flattens each sample; returns the features per sample where it fixes them.</summary>
    internal long? CheckFlatten(OnnxNode n)
    {
        if (n.OpType == "Flatten")
        {
            if ((n.Attribute("axis")?.I ?? 1) != 1) throw Unsupported(n, "flattens from an axis other than 1");
            return null;
        }
        // Reshape by a constant (N, −1) or (0, −1) or (−1, K) shape: a flatten per sample.
        var shape = Const(n, n.Inputs[1], 1, integers: true).Integers;
        if (shape.Length != 2 || !((shape[0] is 0 or -1 || shape[0] > 0) && (shape[1] == -1 || shape[1] > 0)) || shape[0] == -1
            && shape[1] == -1)
            throw Unsupported(n, $"reshapes to ({string.Join(", ", shape)}), which is not a flatten per sample");
        if (shape.Any(d => d > int.MaxValue))
            throw Unsupported(n, $"reshapes to ({string.Join(", ", shape)}), a size beyond any tensor");
        return shape[1] > 0 ? shape[1] : null;
    }

    private void Tensor(string name, int[] shape, double[] values) => _tensors.Add(Float32
        ? new SafeTensors.Entry(name, shape, values.Select(v => (float)v).ToArray(), null)
        : new SafeTensors.Entry(name, shape, null, values));

    internal OnnxTensor Const(OnnxNode n, string name, int rank, bool integers = false)
    {
        if (!_constants.TryGetValue(name, out var t)) throw Unsupported(n,
            $"takes '{name}', which is not a constant (a weight computed " +
            "at run time, or a second input)");
        if (t.Dims.Length != rank) throw Unsupported(n, $"takes '{name}' of rank {t.Dims.Length} where {rank} is needed");
        if (integers ? t.DataType is not (OnnxTensor.Int64 or OnnxTensor.Int32)
            : t.DataType != (Float32 ? OnnxTensor.Float : OnnxTensor.Double))
            throw Unsupported(n, $"takes '{name}' of element type {t.DataType}, not the network's");
        return t;
    }

    internal double Scalar(OnnxNode n, string name)
    {
        if (!_constants.TryGetValue(name, out var t) || t.Values.Length != 1)
            throw Unsupported(n, $"takes '{name}', which is not a constant number");
        return t.DataType == OnnxTensor.Float ? Real((float)t.Values[0]) : t.Values[0];
    }

    internal bool IsConstant(string name) => _constants.ContainsKey(name);

    internal static bool Near(double a, double b) => Math.Abs(a - b) <= 1e-6 * Math.Max(1, Math.Abs(b));

    // A float32 number as the decimal it was written from (0.3f reads back as 0.3, not 0.30000001192092896).
    internal static double Decimal(float f) => double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    internal double Real(double v) => Float32 ? Decimal((float)v) : v;

    internal List<OnnxNode> Consumers(string value) =>
        model.Nodes.Where(c => c.Inputs.Contains(value) && !_done.Contains(c) && c != _start).ToList();

    internal OnnxNode Single(string value, string op, OnnxNode after)
    {
        var c = Consumers(value);
        if (c.Count != 1 || c[0].OpType != op)
            throw Unsupported(after, $"is followed by {(c.Count == 0 ? "nothing" : string.Join(", ",
                c.Select(x => x.OpType)))} where " +
                $"{op} belongs");
        return c[0];
    }

    internal static string Other(OnnxNode n, string value) => n.Inputs.Count == 2 ? (n.Inputs[0] == value
        ? n.Inputs[1] : n.Inputs[0]) : "";

    private bool IsOutput(string value) => model.Outputs.Any(o => o.Name == value);

    internal static string Out(OnnxNode n) => n.Outputs.Count > 0 ? n.Outputs[0]
        : throw new InvalidFileException($"{n.Describe()} has no output");

    internal InvalidFileException Unsupported(OnnxNode n, string why) => new($"{where}: {n.Describe()} {why}");
}
