using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>
/// layer_norm: each sample's values normalized together, then scaled and shifted (torch.nn.LayerNorm over the sample).
/// ONNX (opset 17 on): LayerNormalization over the last axis; an image's values are flattened first and reshaped back
/// (Shape, Flatten, LayerNormalization, Reshape).
/// </summary>
internal sealed class LayerNormKind() : LayerKind(
    "x̂ = (x − μ)/√(σ² + eps) over all of each sample's values, y = γ·x̂ + β (γ, β: one per value)", typeof(LayerNormalization<>))
{
    public override IReadOnlyList<string> Aliases => ["layernorm", "layer_normalization"];

    public override IReadOnlyList<Hyperparameter> Hyperparameters =>
    [
        BuiltIn.Size("features", "the values of one sample, normalized together"),
        BuiltIn.Number("eps", 1e-5, "added to the variance") with { Min = 0, MinExclusive = true },
    ];

    public override IReadOnlyList<(string Name, int[] Shape)>? TensorShapes(LayerConfig c) =>
        [("gamma", [c.Int("features")]), ("beta", [c.Int("features")])];

    // A first layer fixes no input shape, so the registry's sample is a table's rows; images are tested after a convolution.
    public override IReadOnlyList<LayerExample> Examples =>
        [new("LayerNormalization", new Dictionary<string, object> { ["features"] = 5, ["eps"] = 0.01 }, [3, 5])];

    public override Layer<T> Create<T>(LayerConfig c) => new LayerNormalization<T>(c.Int("features"), c.Number("eps"));

    public override IReadOnlyList<object>? OnnxInputShape(LayerDescription layer) => null;

    public override string ToOnnx(OnnxLayerWriter onnx)
    {
        if (onnx.Opset < 17) throw new InvalidInputException($"{onnx.Prefix}: layer_norm is ONNX's LayerNormalization, from opset 17");
        string gamma = onnx.Weight("gamma"), beta = onnx.Weight("beta");
        (string, object) eps = ("epsilon", onnx.Number("eps"));
        // The mean and deviation in the model's own precision (ONNX's default stash type is float32).
        (string, object) stash = ("stash_type", onnx.Float64 ? 11L : 1L);
        if (onnx.Rank == 2) return onnx.Node("LayerNormalization", null, [onnx.Input, gamma, beta], ("axis", -1L), eps, stash);
        string shape = onnx.Node("Shape", "shape", [onnx.Input]);
        string flat = onnx.Node("Flatten", "flatten", [onnx.Input], ("axis", 1L));
        string ln = onnx.Node("LayerNormalization", "ln", [flat, gamma, beta], ("axis", -1L), eps, stash);
        return onnx.Node("Reshape", "reshape", [ln, shape]);
    }

    internal override IReadOnlyList<string> OnnxOperators => ["LayerNormalization", "Shape"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x)
    {
        if (n.OpType == "LayerNormalization")
            return r.Rank == 2 ? Normalization(r, n, [n], OnnxImporter.Out(n)) : null;
        // Shape(x), Flatten(x), LayerNormalization, Reshape(·, shape): an image's values normalized together.
        var flatten = r.Consumers(x).FirstOrDefault(c => c.OpType == "Flatten");
        if (flatten is null) return null;
        r.CheckFlatten(flatten);
        var ln = r.Consumers(OnnxImporter.Out(flatten)).SingleOrDefault();
        if (ln is not { OpType: "LayerNormalization" }) return null;
        var reshape = r.Single(OnnxImporter.Out(ln), "Reshape", ln);
        if (reshape.Inputs.Count < 2 || reshape.Inputs[1] != OnnxImporter.Out(n))
            throw r.Unsupported(reshape, "does not restore the shape");
        return Normalization(r, ln, [n, flatten, ln, reshape], OnnxImporter.Out(reshape));
    }

    private OnnxMatch Normalization(OnnxImporter r, OnnxNode n, OnnxNode[] nodes, string output)
    {
        if ((n.Attribute("axis")?.I ?? -1) is not (-1 or 1)) throw r.Unsupported(n, "normalizes over other axes than a sample's values");
        if (n.Outputs.Count > 1 && n.Outputs.Skip(1).Any(o => o.Length > 0)) throw r.Unsupported(n, "returns its mean or deviation");
        var gamma = r.Const(n, n.Inputs[1], 1);
        long count = gamma.Count;
        if (count is < 1 or > BuiltIn.MaxSize) throw r.Unsupported(n, $"normalizes {count} values");
        var beta = n.Inputs.Count > 2 && n.Inputs[2].Length > 0 ? r.Const(n, n.Inputs[2], 1) : null;
        if (beta is not null && beta.Count != count) throw r.Unsupported(n, $"has a bias of {beta.Count} values for {count}");
        return new OnnxMatch(Name, new Dictionary<string, object>
        {
            ["features"] = (int)count,
            ["eps"] = OnnxImporter.Decimal(n.Attribute("epsilon")?.F ?? 1e-5f),
        }, output, nodes)
        {
            Tensors = [("gamma", [(int)count], gamma.Values), ("beta", [(int)count], beta?.Values ?? new double[count])],
        };
    }
}
