using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>global_average_pooling: each channel averaged to one value, (N, C, H, W) → (N, C, 1, 1). ONNX: GlobalAveragePool.</summary>
internal sealed class GlobalAveragePoolingKind() : LayerKind("y[n, c] = the mean of x[n, c] over H and W: (N, C, H, W) → (N, C, 1, 1)",
    typeof(GlobalAveragePooling<>))
{
    public override IReadOnlyList<string> Aliases => ["global_avg_pool", "globalaveragepool"];

    public override IReadOnlyList<LayerExample> Examples =>
        [new("GlobalAveragePooling", new Dictionary<string, object>(), [2, 3, 4, 5])];

    public override Layer<T> Create<T>(LayerConfig config) => new GlobalAveragePooling<T>();

    public override IReadOnlyList<object>? OnnxInputShape(LayerDescription layer) => ["N", "C", "H", "W"];

    public override string ToOnnx(OnnxLayerWriter onnx)
    {
        onnx.Rank = 4;
        return onnx.Node("GlobalAveragePool", null, [onnx.Input]);
    }

    internal override IReadOnlyList<string> OnnxOperators => ["GlobalAveragePool"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x) =>
        new(Name, new Dictionary<string, object>(), OnnxImporter.Out(n), [n]) { Rank = 4 };
}
