using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>flatten: (N, …) → (N, D). ONNX: Flatten(axis 1); a Flatten straight into a Gemm is the fully connected layer's
/// own (the longer match).</summary>
internal sealed class FlattenKind() : LayerKind("y = x with each sample's values in one row: (N, …) → (N, D)", typeof(Flatten<>))
{
    public override IReadOnlyList<LayerExample> Examples => [new("Flatten", new Dictionary<string, object>(), [2, 3, 4])];

    public override Layer<T> Create<T>(LayerConfig config) => new Flatten<T>();

    public override string ToOnnx(OnnxLayerWriter onnx)
    {
        onnx.Rank = 2;
        return onnx.Node("Flatten", null, [onnx.Input], ("axis", 1L));
    }

    internal override IReadOnlyList<string> OnnxOperators => ["Flatten"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x)
    {
        r.CheckFlatten(n);
        return new OnnxMatch(Name, new Dictionary<string, object>(), OnnxImporter.Out(n), [n]) { Rank = 2 };
    }
}
