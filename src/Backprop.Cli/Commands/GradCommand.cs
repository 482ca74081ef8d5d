using System.Numerics;
using System.Text.Json;
using Backprop;
using Backprop.Cli.Support;
using Backprop.IO;
using Backprop.Layers;
using Backprop.Models;
using Backprop.Networks;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop grad [FILE]</c>: the loss and every gradient of a whole network given as JSON.</summary>
internal static class GradCommand
{
    public const string Usage = "backprop grad [FILE] [--json] [--dtype float64|float32]";

    public static string Run(Args args)
    {
        string dtype = args.Choice("dtype", "float64", "float64", "float32");
        string text = args.ReadInput(0);
        using var doc = JsonInput.ParseDocument(text);
        var output = dtype == "float32" ? Compute<float>(doc.RootElement) : Compute<double>(doc.RootElement);
        output.EnsureFinite("grad");
        return args.Flag("json") ? output.ToJson() + "\n" : output.ToText();
    }

    /// <summary>
    /// Builds the network described by <paramref name="root"/> ({"layers": [...], "loss": {...}, "x", "t"}). A graph names each
    /// node and what it reads, as a model description of version 3 does ({"node": "c1", "from": ["x"], "kind": …}, the kinds
    /// add and concat joining values), and its output ("output", by default the last node).
    /// </summary>
    public static (Network<T> Net, Tensor<T> X, Tensor<T> T) Build<T>(JsonElement root) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidInputException("grad: the input must be a JSON object with layers, " +
            "loss, x and t");
        string[] allowed = ["layers", "loss", "x", "t", "output"];
        foreach (var p in root.EnumerateObject())
            if (!allowed.Contains(p.Name)) throw new InvalidInputException($"grad: unknown key '{p.Name}'; " +
                $"expected {string.Join(", ", allowed)}");
        JsonElement Get(string name) => root.TryGetProperty(name, out var e) ? e
            : throw new InvalidInputException($"grad: missing input '{name}'");

        var layersJson = Get("layers");
        if (layersJson.ValueKind != JsonValueKind.Array) throw new InvalidInputException("grad: 'layers' must be an array of layer " +
            "objects");
        var layers = new List<Layer<T>>();
        var nodes = new List<GraphNode<T>>();
        int i = 0;
        bool graph = layersJson.EnumerateArray().Any(l => l.ValueKind == JsonValueKind.Object && l.TryGetProperty("node", out _));
        foreach (var lj in layersJson.EnumerateArray())
        {
            string where = $"layers[{i++}]";
            if (lj.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"grad: {where} must be an object with a 'kind'");
            var (node, from, values) = graph ? NodeOf(lj, where) : (null, null, JsonInput.Object(lj, where + "."));
            var kindValue = values.FirstOrDefault(v => v.Name == "kind") ?? throw new InvalidInputException($"grad: {where} has no 'kind'");
            string kind = graph && LayerDescription.Joins.Contains(kindValue.Word) ? kindValue.Word!
                : Kinds.Canonical(kindValue.Word ?? "");
            if (Kinds.IsLoss(kind)) throw new InvalidInputException($"grad: {where} is the loss {kind}; put it under \"loss\"");
            var rest = values.Where(v => v.Name != "kind").ToList();
            if (graph && LayerDescription.Joins.Contains(kind))
            {
                if (rest.Count > 0) throw new InvalidInputException($"grad: {where} ({kind}) takes no '{rest[0].Name}'");
                nodes.Add(kind == "add" ? GraphNode<T>.Add(node!, from!) : GraphNode<T>.Concat(node!, from!));
                continue;
            }
            var k = Kinds.Layer(kind);
            var inputs = new Inputs(rest, $"{where} ({kind})", [.. k.Tensors, .. k.Hyperparameters.Select(h => h.Name)]);
            Layer<T> layer;
            try { layer = LayerCommand.Build<T>(k, inputs, where, rest); }
            catch (ShapeMismatchException e) { throw new ShapeMismatchException($"{where}: {e.Message}"); }
            layers.Add(layer);
            if (graph)
            {
                if (from!.Length != 1)
                    throw new InvalidInputException($"grad: {where} ('{node}'): a layer reads one value, not {from.Length}");
                nodes.Add(GraphNode<T>.Of(node!, layer, from[0]));
            }
        }
        var lossJson = Get("loss");
        string lossKind = lossJson.ValueKind switch
        {
            JsonValueKind.String => lossJson.GetString()!,
            JsonValueKind.Object when lossJson.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String => k.GetString()!,
            _ => throw new InvalidInputException("grad: 'loss' must be an object such as {\"kind\": \"softmax_cross_entropy\"}"),
        };
        if (lossJson.ValueKind == JsonValueKind.Object)
            foreach (var p in lossJson.EnumerateObject())
                if (p.Name != "kind") throw new InvalidInputException($"grad: unknown key 'loss.{p.Name}'; a loss takes only 'kind'");
        lossKind = Kinds.Canonical(lossKind);
        if (!Kinds.IsLoss(lossKind)) throw new InvalidInputException($"grad: the loss must be one " +
            $"of {string.Join(", ", Kinds.Losses.Select(l => l.Name))}, not {lossKind}");
        var x = JsonInput.Value(Get("x"), "x", "x").ToTensor<T>();
        var t = JsonInput.Value(Get("t"), "t", "t").ToTensor<T>();
        var lossLayer = Kinds.Loss(lossKind).Create<T>();
        if (!graph)
        {
            if (root.TryGetProperty("output", out _)) throw new InvalidInputException("grad: 'output' names a graph's output node; " +
                "a chain's layers name no nodes");
            return (new Sequential<T>(layers, lossLayer), x, t);
        }
        string output = root.TryGetProperty("output", out var o) ? o.ValueKind == JsonValueKind.String ? o.GetString()!
            : throw new InvalidInputException("grad: 'output' must be a node's name") : nodes.Count > 0 ? nodes[^1].Name
            : throw new InvalidInputException("grad: the graph has no nodes");
        return (new GraphNetwork<T>(nodes, output, lossLayer), x, t);
    }

    // A graph's entry: its "node" name and "from" names, and the rest as a layer's values.
    private static (string, string[], IReadOnlyList<InputValue>) NodeOf(JsonElement lj, string where)
    {
        if (!lj.TryGetProperty("node", out var n) || n.ValueKind != JsonValueKind.String)
            throw new InvalidInputException($"grad: {where} has no 'node' name (in a graph every entry names its node)");
        if (!lj.TryGetProperty("from", out var f) || f.ValueKind != JsonValueKind.Array
            || f.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
            throw new InvalidInputException($"grad: {where} ('{n.GetString()}'): 'from' must be an array of the names it reads");
        var rest = lj.EnumerateObject().Where(p => p.Name is not ("node" or "from")).ToDictionary(p => p.Name, p => p.Value);
        using var doc = JsonDocument.Parse(JsonSerializer.Serialize(rest));
        string[] from = [.. f.EnumerateArray().Select(e => e.GetString()!)];
        return (n.GetString()!, from, JsonInput.Object(doc.RootElement.Clone(), where + "."));
    }

    public static Output Compute<T>(JsonElement root) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (net, x, t) = Build<T>(root);
        T loss;
        Tensor<T> h;
        if (net is GraphNetwork<T> graph) h = graph.Forward(x);   // its messages name the node
        else
        {
            h = x;
            for (int i = 0; i < net.Layers.Count; i++)
            {
                try { h = net.Layers[i].Forward(h); }
                catch (ShapeMismatchException e) { throw new ShapeMismatchException($"layers[{i}]: {e.Message}"); }
            }
        }
        try { loss = net.Loss.Forward(h, t); }
        catch (ShapeMismatchException e) { throw new ShapeMismatchException($"loss: {e.Message}"); }
        var output = new Output();
        output.Add("loss", loss);
        output.Add("dx", net.Backward());
        if (net is GraphNetwork<T> g)
        {
            // every node's parameter gradients by its name
            var byNode = new Output();
            foreach (var n in g.Nodes.Where(n => n.Layer is { Parameters.Count: > 0 }))
            {
                var o = new Output();
                foreach (var p in n.Layer!.Parameters) o.Add("d" + p.Name, p.Grad);
                byNode.Add(n.Name, o);
            }
            output.Add("nodes", byNode);
            return output;
        }
        var list = new List<Output>();
        foreach (var layer in net.Layers)
        {
            var o = new Output();
            foreach (var p in layer.Parameters) o.Add("d" + p.Name, p.Grad);
            list.Add(o);
        }
        output.Add("layers", list);
        return output;
    }
}
