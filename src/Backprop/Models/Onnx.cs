using System.Numerics;
using Backprop.IO;
using Backprop.Networks;

namespace Backprop.Models;

/// <summary>What <see cref="OnnxFile.Export{T}(Network{T}, string, OnnxExportOptions?)"/> writes.</summary>
/// <param name="Opset">The ONNX opset, 13 to 21: from 20, GELU is the Gelu operator; below, its decomposition.</param>
/// <param name="Probabilities">Adds an output <c>probabilities</c> = Softmax(logits) beside the logits (classifiers only).</param>
public sealed record OnnxExportOptions(int Opset = 17, bool Probabilities = false);

/// <summary>
/// ONNX export and import of networks: every layer kind maps to standard operators (docs/ONNX.md); the graph has the
/// input <c>x</c> with a symbolic batch dimension, the output <c>logits</c> (a softmax cross-entropy network) or <c>y</c>,
/// and initializers named as the model file names them (<c>layers.0.W</c>, …). Import accepts the graphs Backprop writes
/// and the forms PyTorch's <c>torch.onnx.export</c> writes for the same layers; anything else is an error naming the
/// node and its operator, never a different network.
/// </summary>
public static partial class OnnxFile
{
    /// <summary>The lowest and highest opsets export writes.</summary>
    public const int MinOpset = 13, MaxOpset = 21;

    private const string LossKey = "backprop.loss";

    /// <summary>
    /// Writes <paramref name="net"/> to <paramref name="path"/> (atomically). A graph network's layer nodes are written in
    /// their kinds' ONNX forms as a chain's layers are, <c>add</c> as Add nodes, <c>concat</c> as Concat on axis 1, and its
    /// initializers are named <c>nodes.{node}.{tensor}</c>.
    /// </summary>
    public static void Export<T>(Network<T> net, string path, OnnxExportOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(net);
        var model = net is GraphNetwork<T> graph ? ToModel(graph, options ?? new()) : ToModel((Sequential<T>)net, options ?? new());
        var bytes = model.ToBytes();
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>The ONNX model of <paramref name="net"/> (inference: dropout is the identity, batch normalization uses its
    /// running statistics).</summary>
    internal static OnnxModel ToModel<T>(Sequential<T> net, OnnxExportOptions options) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(net);
        var description = ModelDescription.Of(net);
        bool classifier = description.Loss == "softmax_cross_entropy";
        var (model, elem) = NewModel<T>(options, description.Loss, classifier);
        var tensors = ModelFile.Tensors(net).ToDictionary(t => t.Name, t => t.Value);
        var g = new OnnxGraphWriter(model, elem, name => OnnxGraphWriter.Tensor(name, tensors[name], elem));
        var kinds = description.Layers.Select(d => Kinds.Layer(d.Kind)).ToArray();
        // The input's shape comes from the first layer that declares one (activations and dropout take any).
        var inputShape = description.Layers.Select((d, i) => kinds[i].OnnxInputShape(d)).FirstOrDefault(s => s is not null)
            ?? ["N", "D"];
        string current = "x";
        int rank = inputShape.Count;
        for (int i = 0; i < description.Layers.Count; i++)
        {
            var layer = new OnnxLayerWriter(g, description.Layers[i], $"layers.{i}", current, rank);
            current = kinds[i].ToOnnx(layer);
            rank = layer.Rank;
        }
        string output = classifier ? "logits" : "y";
        g.Rename(current, output);
        if (description.Layers.Count == 0) g.Node("Identity", "identity", ["x"], output: output);
        AddInputAndOutputs(g, inputShape, output, options);
        return model;
    }

    // The model's header for an export (the opset and the loss checked): what a chain's and a graph's export share.
    private static (OnnxModel Model, int ElementType) NewModel<T>(OnnxExportOptions options, string loss, bool classifier)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (options.Opset < MinOpset || options.Opset > MaxOpset)
            throw new InvalidInputException($"--opset must be from {MinOpset} to {MaxOpset}, not {options.Opset}");
        if (options.Probabilities && !classifier)
            throw new InvalidInputException($"--probabilities needs a softmax cross-entropy network; this one's loss is {loss}");
        var model = new OnnxModel
        {
            Opset = options.Opset,
            IrVersion = options.Opset >= 21 ? 10 : options.Opset >= 19 ? 9 : 8,
            ProducerName = "backprop",
            ProducerVersion = typeof(OnnxFile).Assembly.GetName().Version?.ToString(3) ?? "0",
            GraphName = "backprop",
        };
        model.Metadata[LossKey] = loss;
        return (model, typeof(T) == typeof(float) ? OnnxTensor.Float : OnnxTensor.Double);
    }

    // The input x, the output (logits or y) and, where asked, probabilities = Softmax(output).
    private static void AddInputAndOutputs(OnnxGraphWriter g, IReadOnlyList<object> inputShape, string output, OnnxExportOptions options)
    {
        g.Model.Inputs.Add(new OnnxValueInfo("x", g.ElementType, [.. inputShape]));
        g.Model.Outputs.Add(new OnnxValueInfo(output, g.ElementType, ["N", "K"]));
        if (!options.Probabilities) return;
        g.Node("Softmax", "probabilities", [output], [OnnxAttribute.Int("axis", 1)], output: "probabilities");
        g.Model.Outputs.Add(new OnnxValueInfo("probabilities", g.ElementType, ["N", "K"]));
    }
}
