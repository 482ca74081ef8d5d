using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>convolution: y = x ⋆ W + b. ONNX: Conv with one stride and one pad for both axes and every side.</summary>
internal sealed class ConvolutionKind() : LayerKind(
    "y = x ⋆ W + b: x (N, C, H, W), W (FN, C, FH, FW), b (FN,) → (N, FN, OH, OW), OH = (H + 2·pad − FH)/stride + 1",
    typeof(Convolution<>))
{
    public override IReadOnlyList<string> Aliases => ["conv"];

    public override IReadOnlyList<Hyperparameter> Hyperparameters =>
    [
        BuiltIn.Size("filters", "FN, the filters (output channels)"),
        BuiltIn.Size("channels", "C, the input channels"),
        BuiltIn.Size("kernel_h", "FH, the filter height"),
        BuiltIn.Size("kernel_w", "FW, the filter width"),
        BuiltIn.Count("stride", 1, 1, "the step between windows"),
        BuiltIn.Count("pad", 0, 0, "the zeros added on every side"),
        .. BuiltIn.InitOptions("C·FH·FW"),
    ];

    public override IReadOnlyList<string> Tensors => ["W", "b"];

    public override IReadOnlyList<(string Name, int[] Shape)>? TensorShapes(LayerConfig c) =>
        c.Has("filters") && c.Has("channels") && c.Has("kernel_h") && c.Has("kernel_w")
            ? [("W", [c.Int("filters"), c.Int("channels"), c.Int("kernel_h"), c.Int("kernel_w")]), ("b", [c.Int("filters")])]
            : null;

    public override IReadOnlyList<LayerExample> Examples =>
    [
        new("Convolution (stride 2, pad 1)", new Dictionary<string, object>
        {
            ["filters"] = 3, ["channels"] = 2, ["kernel_h"] = 3, ["kernel_w"] = 2, ["stride"] = 2, ["pad"] = 1,
        }, [2, 2, 5, 4]),
    ];

    public override Layer<T> Create<T>(LayerConfig c)
    {
        var W = c.Tensor<T>("W");
        var b = c.Tensor<T>("b");
        int stride = c.Int("stride"), pad = c.Int("pad");
        if (W is not null || b is not null)
        {
            if (W is null || b is null) throw new InvalidInputException($"{c.Where} ({Name}): W and b must be given together");
            return new Convolution<T>(W, b, stride, pad);
        }
        long weights = (long)c.Int("filters") * c.Int("channels") * c.Int("kernel_h") * c.Int("kernel_w");
        if (weights > BuiltIn.MaxWeights) throw new InvalidInputException($"{c.Where} ({Name}): {weights} weights exceed the limit " +
            $"of {BuiltIn.MaxWeights}");
        var init = MlpSpec.ParseInit(c.Choice("init"));
        return new Convolution<T>(c.Int("filters"), c.Int("channels"), c.Int("kernel_h"), c.Int("kernel_w"), stride, pad, init, c.Rng,
            c.Number("init_std"));
    }

    public override IReadOnlyList<object>? OnnxInputShape(LayerDescription layer) =>
        ["N", Convert.ToInt64(layer.Hyperparameters["channels"], System.Globalization.CultureInfo.InvariantCulture), "H", "W"];

    public override string ToOnnx(OnnxLayerWriter onnx)
    {
        string W = onnx.Weight("W"), b = onnx.Weight("b");
        int stride = onnx.Int("stride"), pad = onnx.Int("pad");
        onnx.Rank = 4;
        return onnx.Node("Conv", null, [onnx.Input, W, b],
            ("kernel_shape", new[] { onnx.Int("kernel_h"), onnx.Int("kernel_w") }), ("strides", new[] { stride, stride }),
            ("pads", new[] { pad, pad, pad, pad }), ("dilations", new[] { 1, 1 }), ("group", 1L));
    }

    internal override IReadOnlyList<string> OnnxOperators => ["Conv"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x)
    {
        if (n.Inputs[0] != x) throw r.Unsupported(n, "convolves something other than the chain's value");
        var W = r.Const(n, n.Inputs[1], 4);
        if (W.Dims.Any(d => d < 1 || d > BuiltIn.MaxSize)) throw r.Unsupported(n, $"has weights of shape ({string.Join(", ", W.Dims)})");
        int fn = (int)W.Dims[0], c = (int)W.Dims[1], fh = (int)W.Dims[2], fw = (int)W.Dims[3];
        var b = n.Inputs.Count > 2 && n.Inputs[2].Length > 0 ? r.Const(n, n.Inputs[2], 1) : null;
        if (b is not null && b.Count != fn) throw r.Unsupported(n, $"has a bias of {b.Count} values for {fn} filters");
        if ((n.Attribute("group")?.I ?? 1) != 1) throw r.Unsupported(n, "is a grouped convolution");
        if (n.Attribute("dilations") is { } d && d.Ints.Any(v => v != 1)) throw r.Unsupported(n, "is dilated");
        var (stride, pad) = r.Window(n);
        if (n.Attribute("kernel_shape") is { } k && (k.Ints.Length != 2 || k.Ints[0] != fh || k.Ints[1] != fw))
            throw r.Unsupported(n, "has a kernel_shape other than its weights'");
        return new OnnxMatch(Name, new Dictionary<string, object>
        {
            ["filters"] = fn,
            ["channels"] = c,
            ["kernel_h"] = fh,
            ["kernel_w"] = fw,
            ["stride"] = stride,
            ["pad"] = pad,
        }, OnnxImporter.Out(n), [n])
        {
            Rank = 4,
            Tensors = [("W", [fn, c, fh, fw], W.Values), ("b", [fn], b?.Values ?? new double[fn])],
        };
    }
}
