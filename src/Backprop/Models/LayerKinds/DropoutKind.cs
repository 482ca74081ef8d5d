using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>dropout. ONNX: Dropout with its ratio as an input (the identity in inference).</summary>
internal sealed class DropoutKind() : LayerKind("training: y = x·mask/(1 − p), mask ~ Bernoulli(1 − p); inference: y = x",
    typeof(Dropout<>))
{
    public override IReadOnlyList<Hyperparameter> Hyperparameters =>
        [BuiltIn.Number("p", 0.5, "the probability of dropping an element") with { Min = 0, Max = 1, MaxExclusive = true }];

    // Checked in inference: a training pass draws a new mask each time, which a numerical derivative cannot follow.
    public override IReadOnlyList<LayerExample> Examples =>
        [new("Dropout (inference)", new Dictionary<string, object> { ["p"] = 0.3 }, [3, 4]) { Training = false }];

    public override Layer<T> Create<T>(LayerConfig c) => new Dropout<T>(c.Number("p"), c.Rng?.Split());

    public override string ToOnnx(OnnxLayerWriter onnx) => onnx.Node("Dropout", null, [onnx.Input, onnx.Scalar("ratio", onnx.Number("p"))]);

    internal override IReadOnlyList<string> OnnxOperators => ["Dropout"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x)
    {
        double ratio = n.Inputs.Count > 1 && n.Inputs[1].Length > 0 ? r.Scalar(n, n.Inputs[1]) : 0.5;
        if (n.Inputs.Count > 2 && n.Inputs[2].Length > 0) throw r.Unsupported(n, "has a training_mode input");
        return new OnnxMatch(Name, new Dictionary<string, object> { ["p"] = ratio }, OnnxImporter.Out(n), [n]);
    }
}
