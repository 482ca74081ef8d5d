using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>
/// batch_norm (per feature of each sample's flattened values) and batch_norm_2d (per channel of images, as PyTorch's
/// BatchNorm2d). ONNX: BatchNormalization in inference; a per-feature normalization of images is Shape, Flatten,
/// BatchNormalization, Reshape back.
/// </summary>
internal sealed class BatchNormKind(bool perChannel) : LayerKind(perChannel
        ? "per channel of images (N, C, H, W), as PyTorch's BatchNorm2d: x̂ = (x − μ_c)/√(σ²_c + eps) over N, H, W, y = γ_c·x̂ + β_c"
        : "x̂ = (x − μ)/√(σ² + eps), y = γ·x̂ + β over the features of each sample (batch statistics in training)",
    perChannel ? typeof(BatchNormalization2d<>) : typeof(BatchNormalization<>))
{
    private static readonly string[] Statistics = ["gamma", "beta", "running_mean", "running_var"];

    private string Size => perChannel ? "channels" : "features";

    public override IReadOnlyList<string> Aliases =>
        perChannel ? ["batchnorm2d", "spatial_batch_norm"] : ["batch_normalization", "batchnorm"];

    public override IReadOnlyList<Hyperparameter> Hyperparameters =>
    [
        BuiltIn.Size(Size, perChannel ? "the channels normalized" : "the features normalized, per sample"),
        BuiltIn.Number("momentum", 0.9, "running = momentum·running + (1 − momentum)·batch") with { Min = 0, Max = 1 },
        BuiltIn.Number("eps", 1e-5, "added to the variance") with { Min = 0, MinExclusive = true },
    ];

    public override IReadOnlyList<(string Name, int[] Shape)>? TensorShapes(LayerConfig c) =>
        [.. Statistics.Select(s => (s, new[] { c.Int(Size) }))];

    public override IReadOnlyList<LayerExample> Examples => perChannel
        ? [new("BatchNormalization2d", new Dictionary<string, object> { ["channels"] = 3 }, [2, 3, 3, 4])]
        : [new("BatchNormalization", new Dictionary<string, object> { ["features"] = 4 }, [5, 4])];

    public override Layer<T> Create<T>(LayerConfig c) => perChannel
        ? new BatchNormalization2d<T>(c.Int("channels"), c.Number("momentum"), c.Number("eps"))
        : new BatchNormalization<T>(c.Int("features"), c.Number("momentum"), c.Number("eps"));

    public override IReadOnlyList<object>? OnnxInputShape(LayerDescription layer) => perChannel
        ? ["N", Convert.ToInt64(layer.Hyperparameters["channels"], System.Globalization.CultureInfo.InvariantCulture), "H", "W"]
        : ["N", "D"];

    public override string ToOnnx(OnnxLayerWriter onnx)
    {
        string[] inputs = [.. Statistics.Select(onnx.Weight)];
        (string, object)[] attributes = [("epsilon", onnx.Number("eps")), ("momentum", onnx.Number("momentum"))];
        if (perChannel || onnx.Rank == 2) return onnx.Node("BatchNormalization", null, [onnx.Input, .. inputs], attributes);
        // per feature of each sample's flattened values, then back to the input's shape
        string shape = onnx.Node("Shape", "shape", [onnx.Input]);
        string flat = onnx.Node("Flatten", "flatten", [onnx.Input], ("axis", 1L));
        string bn = onnx.Node("BatchNormalization", "bn", [flat, .. inputs], attributes);
        return onnx.Node("Reshape", "reshape", [bn, shape]);
    }

    internal override IReadOnlyList<string> OnnxOperators => perChannel ? ["BatchNormalization"] : ["BatchNormalization", "Shape"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x)
    {
        if (n.OpType == "BatchNormalization") return (r.Rank == 4) == perChannel ? Normalization(r, n, [n], OnnxImporter.Out(n)) : null;
        // Shape(x), Flatten(x), BatchNormalization, Reshape(·, shape): per feature of an image's values.
        var flatten = r.Consumers(x).FirstOrDefault(c => c.OpType == "Flatten")
            ?? throw r.Unsupported(n, "reads the shape of the chain, which only a per-feature batch normalization does");
        r.CheckFlatten(flatten);
        var bn = r.Single(OnnxImporter.Out(flatten), "BatchNormalization", flatten);
        var reshape = r.Single(OnnxImporter.Out(bn), "Reshape", bn);
        if (reshape.Inputs.Count < 2 || reshape.Inputs[1] != OnnxImporter.Out(n))
            throw r.Unsupported(reshape, "does not restore the shape");
        return Normalization(r, bn, [n, flatten, bn, reshape], OnnxImporter.Out(reshape));
    }

    private OnnxMatch Normalization(OnnxImporter r, OnnxNode n, OnnxNode[] nodes, string output)
    {
        if (n.Inputs.Count != 5) throw r.Unsupported(n, "has other than five inputs");
        if (n.Outputs.Count > 1 && n.Outputs.Skip(1).Any(o => o.Length > 0)) throw r.Unsupported(n, "is in training mode");
        if ((n.Attribute("training_mode")?.I ?? 0) != 0) throw r.Unsupported(n, "is in training mode (training_mode = 1)");
        var tensors = new List<(string, int[], double[])>();
        long count = r.Const(n, n.Inputs[1], 1).Count;
        if (count is < 1 or > BuiltIn.MaxSize) throw r.Unsupported(n, $"normalizes {count} values");
        for (int i = 0; i < 4; i++)
        {
            var t = r.Const(n, n.Inputs[i + 1], 1);
            if (t.Count != count) throw r.Unsupported(n, $"has {Statistics[i]} of {t.Count} values for {count}");
            tensors.Add((Statistics[i], [(int)count], t.Values));
        }
        return new OnnxMatch(Name, new Dictionary<string, object>
        {
            [Size] = (int)count,
            ["momentum"] = OnnxImporter.Decimal(n.Attribute("momentum")?.F ?? 0.9f),
            ["eps"] = OnnxImporter.Decimal(n.Attribute("epsilon")?.F ?? 1e-5f),
        }, output, nodes)
        { Tensors = tensors };
    }
}
