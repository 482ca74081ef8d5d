using System.Numerics;
using System.Text;
using System.Text.Json;
using Backprop.Layers;
using Backprop.Networks;

namespace Backprop.Models;

/// <summary>
/// One layer of a description: its kind and hyper-parameters (int, double, bool or string values). In a graph's description
/// (schema version 3) each entry is a node: it has a name (<see cref="Node"/>) and reads the values <see cref="From"/>
/// names, and the kinds <c>add</c> and <c>concat</c> join several values.
/// </summary>
public sealed record LayerDescription(string Kind, IReadOnlyDictionary<string, object> Hyperparameters)
{
    /// <summary>The node's name in a graph's description; null in a chain's.</summary>
    public string? Node { get; init; }

    /// <summary>What the node reads in a graph's description (<c>x</c>, the input, or other nodes); null in a chain's.</summary>
    public IReadOnlyList<string>? From { get; init; }

    /// <summary>The node kinds that join values rather than run a layer: add (element-wise sum) and concat (along the channels).</summary>
    public static readonly IReadOnlyList<string> Joins = ["add", "concat"];
}

/// <summary>
/// What a network is, without its tensors: the element type, every layer in order with its kind and hyper-parameters,
/// and the loss. Saved models store it as JSON in the safetensors metadata under <c>model</c> (schema in
/// docs/MODEL_FORMAT.md). A chain (schema version 2):
/// <c>{"version": 2, "dtype": "float32", "layers": [{"kind": "fully_connected", "inputs": 784, "outputs": 256}, {"kind": "relu"}, …],
/// "loss": {"kind": "softmax_cross_entropy"}}</c>; a graph (version 3) names each node and what it reads, and its output:
/// <c>{"version": 3, …, "layers": [{"node": "c1", "from": ["x"], "kind": "convolution", …}, {"node": "sum", "from": ["c2", "x"],
/// "kind": "add"}, …], "output": "fc", …}</c>.
/// </summary>
public sealed partial record ModelDescription(string Dtype, IReadOnlyList<LayerDescription> Layers, string Loss)
{
    /// <summary>The highest schema version this library writes and reads: 3 for a graph; a chain is written as version 2.</summary>
    public const int Version = 3;

    /// <summary>The node whose value is a graph's output; null for a chain.</summary>
    public string? Output { get; init; }

    /// <summary>True for a graph's description (nodes that name their inputs), false for a chain's.</summary>
    public bool IsGraph => Output is not null;

    /// <summary>The largest number of layers a description may have.</summary>
    public const int MaxLayers = 10_000;

    /// <summary>"float32" or "float64" for an element type.</summary>
    public static string DtypeOf<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? "float32" : typeof(T) == typeof(double) ? "float64" : throw new NotSupportedException(typeof(T).Name);

    /// <summary>
    /// The description of a network. Every layer's kind must be registered and build the layer's own class, so that
    /// the description rebuilds exactly this network.
    /// </summary>
    /// <exception cref="InvalidInputException">A layer whose kind is not registered, or whose class is not the kind's.</exception>
    public static ModelDescription Of<T>(Network<T> net) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(net);
        var loss = Kinds.Losses.FirstOrDefault(k => k.Name == net.Loss.Kind)
            ?? throw new InvalidInputException($"the loss has kind '{net.Loss.Kind}', which is not registered");
        if (net is GraphNetwork<T> graph)
        {
            var nodes = graph.Nodes.Select(n => n.Layer is null ? new LayerDescription(n.Op, new Dictionary<string, object>())
            { Node = n.Name, From = [.. n.Inputs] }
                : Describe(n.Layer, $"node '{n.Name}'") with { Node = n.Name, From = [.. n.Inputs] });
            return new ModelDescription(DtypeOf<T>(), [.. nodes], loss.Name) { Output = graph.Output };
        }
        return new ModelDescription(DtypeOf<T>(), [.. net.Layers.Select((l, i) => Describe(l, $"layers[{i}]"))], loss.Name);
    }

    private static LayerDescription Describe<T>(Layer<T> layer, string at) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var kind = Kinds.Layers.FirstOrDefault(k => k.Name == layer.Kind)
            ?? throw new InvalidInputException($"{at} ({layer.GetType().Name.Split('`')[0]}) has kind '{layer.Kind}', which " +
                $"is not registered; register it with Kinds.Register so that it can be saved and loaded");
        if (!kind.Builds(layer))
            throw new InvalidInputException($"{at} is a {layer.GetType().Name.Split('`')[0]}, but kind '{kind.Name}' " +
                $"builds {kind.LayerType.Name.Split('`')[0]}; give the class a kind of its own");
        // Check the layer's own hyper-parameters against the kind, so that a file never holds what cannot load.
        Kinds.Configure(kind, layer.Hyperparameters, at);
        return new LayerDescription(kind.Name, new Dictionary<string, object>(layer.Hyperparameters));
    }

    /// <summary>
    /// Builds the network with fresh parameters: weights drawn from <paramref name="rng"/> in layer order, every dropout
    /// layer with a generator split from it (<see cref="Rng.Fork"/> when null). A chain's description builds a
    /// <see cref="Sequential{T}"/>, a graph's a <see cref="GraphNetwork{T}"/>.
    /// </summary>
    /// <exception cref="InvalidInputException">Another element type, or a bad graph (the message names the node).</exception>
    public Network<T> Build<T>(Rng? rng = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Dtype != DtypeOf<T>()) throw new InvalidInputException($"the model is {Dtype}, not {DtypeOf<T>()}");
        rng ??= Rng.Fork();
        var loss = Kinds.Loss(Loss).Create<T>();
        if (!IsGraph)
            return new Sequential<T>([.. Layers.Select((d, i) => Create<T>(d, $"layers[{i}]", rng))], loss);
        var nodes = new List<GraphNode<T>>();
        foreach (var d in Layers)
        {
            string name = d.Node!;
            var from = d.From!.ToArray();
            nodes.Add(d.Kind switch
            {
                "add" => GraphNode<T>.Add(name, from),
                "concat" => GraphNode<T>.Concat(name, from),
                _ when from.Length != 1 => throw new InvalidInputException($"node '{name}': a layer takes one input, not {from.Length}"),
                _ => GraphNode<T>.Of(name, Create<T>(d, $"node '{name}'", rng), from[0]),
            });
        }
        return new GraphNetwork<T>(nodes, Output!, loss);
    }

    private static Layer<T> Create<T>(LayerDescription d, string at, Rng rng) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var kind = Kinds.Layer(d.Kind);
        return kind.Create<T>(Kinds.Configure(kind, d.Hyperparameters, at, rng));
    }

    /// <summary>The description as JSON (the <c>model</c> entry of a saved model's metadata).</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("version", IsGraph ? Version : 2);
            w.WriteString("dtype", Dtype);
            w.WriteStartArray("layers");
            foreach (var l in Layers)
            {
                w.WriteStartObject();
                if (l.Node is not null)
                {
                    w.WriteString("node", l.Node);
                    w.WriteStartArray("from");
                    foreach (var f in l.From ?? []) w.WriteStringValue(f);
                    w.WriteEndArray();
                }
                w.WriteString("kind", l.Kind);
                foreach (var (name, value) in l.Hyperparameters) WriteValue(w, name, value);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (Output is not null) w.WriteString("output", Output);
            w.WriteStartObject("loss");
            w.WriteString("kind", Loss);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void WriteValue(Utf8JsonWriter w, string name, object value)
    {
        switch (value)
        {
            case int i: w.WriteNumber(name, i); break;
            case long l: w.WriteNumber(name, l); break;
            case double d: w.WriteNumber(name, d); break;
            case bool b: w.WriteBoolean(name, b); break;
            case string s: w.WriteString(name, s); break;
            default:
                throw new InvalidInputException($"hyper-parameter {name} has a value of type {value.GetType().Name}; int, double, " +
                $"bool or string expected");
        }
    }

    /// <summary>Reads and checks a description: every kind known, every hyper-parameter checked against its kind.</summary>
    /// <exception cref="InvalidFileException">Anything wrong, naming <paramref name="where"/> and the field.</exception>
    public static ModelDescription FromJson(string json, string where)
    {
        InvalidFileException Bad(string why) => new($"{where}: the model description is not valid: {why}");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e) { throw Bad($"not JSON ({e.Message.Split(". ")[0]})"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad("not a JSON object");
            // A key given twice would leave the reader to choose a value: refused at every level, as in the safetensors header.
            void Once(JsonElement o, string at)
            {
                var names = new HashSet<string>();
                foreach (var p in o.EnumerateObject())
                    if (!names.Add(p.Name)) throw Bad($"'{at}{p.Name}' is given twice");
            }
            Once(root, "");
            foreach (var p in root.EnumerateObject())
                if (p.Name is not ("version" or "dtype" or "layers" or "loss" or "output")) throw Bad($"unknown field '{p.Name}'");
            if (!root.TryGetProperty("version", out var v) || v.ValueKind != JsonValueKind.Number
                || !v.TryGetInt32(out int version)) throw Bad("'version' is missing or not an integer");
            if (version is not (2 or 3)) throw Bad($"schema version {version}; this Backprop reads versions 2 and 3");
            bool graph = version == 3;
            string? output = null;
            if (graph)
            {
                if (!root.TryGetProperty("output", out var o) || o.ValueKind != JsonValueKind.String)
                    throw Bad("a graph (version 3) needs 'output', the name of its output node");
                output = o.GetString();
            }
            else if (root.TryGetProperty("output", out _)) throw Bad("'output' belongs to a graph's description (version 3)");
            if (!root.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String
                || dt.GetString() is not ("float32" or "float64"))
                throw Bad("'dtype' must be \"float32\" or \"float64\"");
            if (!root.TryGetProperty("layers", out var ls) || ls.ValueKind != JsonValueKind.Array) throw Bad("'layers' must be an array");
            if (ls.GetArrayLength() > MaxLayers) throw Bad($"{ls.GetArrayLength()} layers exceed the limit of {MaxLayers}");
            var layers = new List<LayerDescription>();
            int i = 0;
            foreach (var l in ls.EnumerateArray())
            {
                string at = $"layers[{i++}]";
                if (l.ValueKind != JsonValueKind.Object) throw Bad($"{at} is not an object");
                Once(l, at + ".");
                if (!l.TryGetProperty("kind", out var k) || k.ValueKind != JsonValueKind.String) throw Bad($"{at} has no 'kind' string");
                var (node, from) = graph ? NodeOf(l, at, Bad) : (null, null);
                if (!graph && (l.TryGetProperty("node", out _) || l.TryGetProperty("from", out _)))
                    throw Bad($"{at}: 'node' and 'from' belong to a graph's description (version 3)");
                if (graph && LayerDescription.Joins.Contains(k.GetString()))
                {
                    if (l.EnumerateObject().Count() != 3) throw Bad($"{at} ({k.GetString()}): takes no hyper-parameters");
                    layers.Add(new LayerDescription(k.GetString()!, new Dictionary<string, object>()) { Node = node, From = from });
                    continue;
                }
                try
                {
                    var kind = Kinds.Layer(k.GetString()!);
                    var values = new Dictionary<string, object>();
                    foreach (var p in l.EnumerateObject())
                    {
                        if (p.Name is "kind" || (graph && p.Name is "node" or "from")) continue;
                        values[p.Name] = JsonValue(p.Value)
                            ?? throw new InvalidInputException($"{at}: {p.Name} must be a number, a boolean or a string");
                    }
                    var config = Kinds.Configure(kind, values, at);
                    foreach (var h in kind.Hyperparameters)
                        if (h.Required && !config.Has(h.Name)) throw new InvalidInputException($"{at} ({kind.Name}): {h.Name} is required");
                    layers.Add(new LayerDescription(kind.Name, values.ToDictionary(e => e.Key, e => config.Values[e.Key]))
                    { Node = node, From = from });
                }
                catch (InvalidInputException e) { throw Bad(e.Message); }
            }
            if (!root.TryGetProperty("loss", out var lo) || lo.ValueKind != JsonValueKind.Object
                || !lo.TryGetProperty("kind", out var lk) || lk.ValueKind != JsonValueKind.String)
                throw Bad("'loss' must be an object with a 'kind' string");
            Once(lo, "loss.");
            foreach (var p in lo.EnumerateObject()) if (p.Name != "kind") throw Bad($"unknown field 'loss.{p.Name}'");
            string loss;
            try { loss = Kinds.Loss(lk.GetString()!).Name; }
            catch (InvalidInputException e) { throw Bad(e.Message); }
            return new ModelDescription(dt.GetString()!, layers, loss) { Output = output };
        }
    }

    // A graph entry's "node" (a name) and "from" (one name or more); whether they make a graph is the network's check.
    private static (string, string[]) NodeOf(JsonElement l, string at, Func<string, InvalidFileException> bad)
    {
        if (!l.TryGetProperty("node", out var n) || n.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(n.GetString()))
            throw bad($"{at} has no 'node' name");
        if (!l.TryGetProperty("from", out var f) || f.ValueKind != JsonValueKind.Array || f.GetArrayLength() == 0
            || f.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
            throw bad($"{at} ('{n.GetString()}'): 'from' must be an array of the names it reads");
        return (n.GetString()!, [.. f.EnumerateArray().Select(e => e.GetString()!)]);
    }

    /// <summary>A JSON scalar as a hyper-parameter value (numbers as double; null for arrays, objects and null).</summary>
    internal static object? JsonValue(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.TryGetDouble(out double d) && double.IsFinite(d) ? d : null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => e.GetString(),
        _ => null,
    };

    /// <summary>One line: "fully_connected(inputs=784, outputs=256) → relu → … → softmax_cross_entropy"; a graph's nodes as
    /// "name = kind(…)(inputs)", separated by semicolons.</summary>
    public override string ToString() => IsGraph
        ? string.Join("; ", Layers.Select(l => $"{l.Node} = {Show(l)}({string.Join(", ", l.From ?? [])})"))
            + $" → {Output} → {Loss} [{Dtype}]"
        : string.Join(" → ", Layers.Select(Show).Append(Loss)) + $" [{Dtype}]";

    private static string Show(LayerDescription l) => l.Hyperparameters.Count == 0 ? l.Kind
        : $"{l.Kind}({string.Join(", ", l.Hyperparameters.Select(h => $"{h.Key}={Hyperparameter.Show(h.Value)}"))})";

    /// <summary>
    /// The same description with every hyper-parameter's default written out and creation-only settings (how weights
    /// were first drawn) left out: two descriptions of one network are equal in this form.
    /// </summary>
    public ModelDescription Normalized()
    {
        var layers = Layers.Select((l, i) =>
        {
            if (IsGraph && LayerDescription.Joins.Contains(l.Kind)) return l;
            var kind = Kinds.Layer(l.Kind);
            var values = Kinds.Configure(kind, l.Hyperparameters, $"layers[{i}]").Values;
            var kept = kind.Hyperparameters.Where(h => !h.CreationOnly && values.ContainsKey(h.Name)).ToDictionary(h => h.Name, h =>
                values[h.Name]);
            return new LayerDescription(kind.Name, kept) { Node = l.Node, From = l.From };
        }).ToList();
        return new ModelDescription(Dtype, layers, Loss) { Output = Output };
    }

    /// <summary>True when both describe the same network (compared <see cref="Normalized"/>).</summary>
    public bool Equals(ModelDescription? other) => other is not null && Normalized().ToJson() == other.Normalized().ToJson();

    /// <inheritdoc/>
    public override int GetHashCode() => Normalized().ToJson().GetHashCode(StringComparison.Ordinal);
}
