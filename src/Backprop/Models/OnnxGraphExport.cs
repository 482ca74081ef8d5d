using System.Numerics;
using Backprop.IO;
using Backprop.Networks;

namespace Backprop.Models;

public static partial class OnnxFile
{
    /// <summary>
    /// The ONNX model of a graph network: each layer node in its kind's ONNX form (as a chain's layers are written),
    /// <c>add</c> as Add nodes, <c>concat</c> as Concat on axis 1; initializers named <c>nodes.{node}.{tensor}</c>. The input
    /// is <c>x</c> (its shape from the first layer reading it that fixes one), the output <c>logits</c> (a softmax
    /// cross-entropy network) or <c>y</c>.
    /// </summary>
    internal static OnnxModel ToModel<T>(GraphNetwork<T> net, OnnxExportOptions options) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(net);
        var (model, elem) = NewModel<T>(options, net.Loss.Kind, net.Loss.Classifies);
        var tensors = new Dictionary<string, Tensor<T>>();
        var kinds = new Dictionary<string, (LayerKind Kind, LayerDescription Description)>();
        foreach (var n in net.Nodes.Where(n => n.Layer is not null))
        {
            var layer = n.Layer!;
            var kind = Kinds.Layers.FirstOrDefault(k => k.Name == layer.Kind && k.Builds(layer))
                ?? throw new InvalidInputException($"node '{n.Name}': its layer's kind '{layer.Kind}' is not registered");
            kinds[n.Name] = (kind, new LayerDescription(kind.Name, new Dictionary<string, object>(layer.Hyperparameters)));
            foreach (var p in layer.Parameters) tensors[$"nodes.{n.Name}.{p.Name}"] = p.Value;
            foreach (var (name, value) in layer.Buffers) tensors[$"nodes.{n.Name}.{name}"] = value;
        }
        var g = new OnnxGraphWriter(model, elem, name => OnnxGraphWriter.Tensor(name, tensors[name], elem));
        // The input's shape: from the first layer reading x that fixes one (activations and dropout take any).
        var inputShape = net.Nodes.Where(n => n.Layer is not null && n.Inputs[0] == "x")
            .Select(n => kinds[n.Name].Kind.OnnxInputShape(kinds[n.Name].Description)).FirstOrDefault(s => s is not null) ?? ["N", "D"];
        var values = new Dictionary<string, (string Name, int Rank)> { ["x"] = ("x", inputShape.Count) };
        foreach (var n in net.Nodes)
        {
            var inputs = n.Inputs.Select(i => values[i]).ToArray();
            if (n.Op == "layer")
            {
                var (kind, description) = kinds[n.Name];
                var writer = new OnnxLayerWriter(g, description, $"nodes.{n.Name}", inputs[0].Name, inputs[0].Rank);
                values[n.Name] = (kind.ToOnnx(writer), writer.Rank);
            }
            else if (n.Op == "add")
            {
                string sum = inputs[0].Name;
                for (int i = 1; i < inputs.Length; i++)
                    sum = g.Node("Add", inputs.Length == 2 ? $"nodes.{n.Name}" : $"nodes.{n.Name}/{i}", [sum, inputs[i].Name]);
                values[n.Name] = (sum, inputs[0].Rank);
            }
            else values[n.Name] = (g.Node("Concat", $"nodes.{n.Name}", [.. inputs.Select(v => v.Name)], [OnnxAttribute.Int("axis", 1)]),
                inputs[0].Rank);
        }
        string output = net.Loss.Classifies ? "logits" : "y";
        // The output node writes its value under the graph's output name; a value that is also read further on keeps its
        // name and an Identity gives the output (a graph output may also feed other nodes).
        g.Node("Identity", "output", [values[net.Output].Name], output: output);
        AddInputAndOutputs(g, inputShape, output, options);
        return model;
    }
}
