using Backprop.Layers;
using Backprop.Models;

namespace Backprop.ApiTests;

/// <summary>The registry entry that lets networks holding a <see cref="Scale{T}"/> save, load, pass the gradient check and
/// export to ONNX: written once, in this file.</summary>
public sealed class ScaleKind() : LayerKind("scale", "y = x·s per feature", typeof(Scale<>))
{
    private static readonly Lazy<bool> Registered = new(() => { Kinds.Register(new ScaleKind()); return true; });

    public static void EnsureRegistered() => _ = Registered.Value;

    public override IReadOnlyList<Hyperparameter> Hyperparameters =>
        [new("features", HyperparameterType.Integer, null, "the features scaled") { Min = 1 }];

    public override Layer<T> Create<T>(LayerConfig config) => new Scale<T>(config.Int("features"));

    // The gradient check and the tests that enumerate the registry take the kind's samples.
    public override IReadOnlyList<LayerExample> Examples =>
        [new("Scale (3 features)", new Dictionary<string, object> { ["features"] = 3 }, [4, 3])];

    // y = x·s per feature: one Mul by the layer's tensor, broadcast over the batch.
    public override string ToOnnx(OnnxLayerWriter onnx) => onnx.Node("Mul", null, [onnx.Input, onnx.Weight("s")]);
}
