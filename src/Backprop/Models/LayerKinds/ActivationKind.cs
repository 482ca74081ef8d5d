using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>
/// An element-wise activation built from two factories, one per element type. With <paramref name="onnxOperator"/> it is
/// that one ONNX operator both ways (Relu, Sigmoid, Tanh), which is all a plain activation's entry needs; activations
/// with another ONNX form derive from this class in their own file.
/// </summary>
internal class ActivationKind(string summary, Type type, Func<LayerConfig, Layer<float>> f32, Func<LayerConfig, Layer<double>> f64,
    IReadOnlyList<Hyperparameter>? hyperparameters = null, IReadOnlyList<string>? aliases = null, string? onnxOperator = null)
    : LayerKind(summary, type)
{
    public override IReadOnlyList<string> Aliases => aliases ?? [];
    public override IReadOnlyList<Hyperparameter> Hyperparameters => hyperparameters ?? [];
    public override bool IsActivation => true;

    public override Layer<T> Create<T>(LayerConfig c) =>
        typeof(T) == typeof(float) ? (Layer<T>)(object)f32(c)
        : typeof(T) == typeof(double) ? (Layer<T>)(object)f64(c)
        : throw new NotSupportedException($"{Name}: only float and double layers exist");

    public override string ToOnnx(OnnxLayerWriter onnx) =>
        onnxOperator is null ? base.ToOnnx(onnx) : onnx.Node(onnxOperator, null, [onnx.Input]);

    internal override IReadOnlyList<string> OnnxOperators => onnxOperator is null ? [] : [onnxOperator];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x) =>
        n.OpType == onnxOperator ? Match(r, [n]) : null;

    /// <summary>This kind over <paramref name="nodes"/> (the last gives the output), with hyper-parameters.</summary>
    internal OnnxMatch Match(OnnxImporter r, OnnxNode[] nodes, params (string Name, object Value)[] values) =>
        new(Name, values.ToDictionary(v => v.Name, v => v.Value), OnnxImporter.Out(nodes[^1]), nodes);

    /// <summary>The default sample plus one with the given hyper-parameters.</summary>
    internal IReadOnlyList<LayerExample> AndExample(string label, Dictionary<string, object> values, double kink = 0) =>
        [.. base.Examples, new LayerExample(label, values, [3, 4]) { Kink = kink }];
}
