using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>
/// max_pooling and average_pooling. ONNX: MaxPool, and AveragePool with count_include_pad = 1 (Backprop's mean counts the
/// padding as zeros); PyTorch's Pad (zeros) + unpadded AveragePool imports as the same layer.
/// </summary>
internal sealed class PoolingKind(string summary, Type type, string[] aliases, string op) : LayerKind(summary, type)
{
    private bool Max => op == "MaxPool";

    public override IReadOnlyList<string> Aliases => aliases;

    public override IReadOnlyList<Hyperparameter> Hyperparameters =>
    [
        BuiltIn.Size("pool_h", "the window's height"),
        BuiltIn.Size("pool_w", "the window's width"),
        BuiltIn.Count("stride", 2, 1, "the step between windows"),
        BuiltIn.Count("pad", 0, 0, "the padding on every side (below pool_h and pool_w)"),
    ];

    // Distinct inputs: a tie inside a max-pooling window would make its derivative jump within the difference step.
    public override IReadOnlyList<LayerExample> Examples => Max
        ? [new("MaxPooling (2×3, pad 1)", Window(2, 3, 1, 1), [2, 2, 4, 5]) { Distinct = true }]
        : [new("AveragePooling (3×2)", Window(3, 2, 2, 1), [2, 2, 4, 5])];

    private static Dictionary<string, object> Window(int h, int w, int stride, int pad) =>
        new() { ["pool_h"] = h, ["pool_w"] = w, ["stride"] = stride, ["pad"] = pad };

    public override Layer<T> Create<T>(LayerConfig c) => Max
        ? new MaxPooling<T>(c.Int("pool_h"), c.Int("pool_w"), c.Int("stride"), c.Int("pad"))
        : new AveragePooling<T>(c.Int("pool_h"), c.Int("pool_w"), c.Int("stride"), c.Int("pad"));

    public override IReadOnlyList<object>? OnnxInputShape(LayerDescription layer) => ["N", "C", "H", "W"];

    public override string ToOnnx(OnnxLayerWriter onnx)
    {
        int stride = onnx.Int("stride"), pad = onnx.Int("pad");
        var attributes = new List<(string, object)>
        {
            ("kernel_shape", new[] { onnx.Int("pool_h"), onnx.Int("pool_w") }), ("strides", new[] { stride, stride }),
            ("pads", new[] { pad, pad, pad, pad }),
        };
        if (!Max) attributes.Add(("count_include_pad", 1L));
        onnx.Rank = 4;
        return onnx.Node(op, null, [onnx.Input], [.. attributes]);
    }

    internal override IReadOnlyList<string> OnnxOperators => Max ? [op] : [op, "Pad"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x) => n.OpType == "Pad" ? Pad(r, n) : Pool(r, n, [n], 0);

    // PyTorch writes an average pooling as Pad (zeros) + AveragePool: zeros counted in the mean are Backprop's padding.
    private OnnxMatch? Pad(OnnxImporter r, OnnxNode n)
    {
        if ((n.Attribute("mode")?.S ?? "constant") != "constant") throw r.Unsupported(n, "pads by reflection or edge values");
        if (n.Inputs.Count > 2 && n.Inputs[2].Length > 0 && r.Scalar(n, n.Inputs[2]) != 0) throw r.Unsupported(n, "pads with a value ≠ 0");
        if (n.Inputs.Count > 3 && n.Inputs[3].Length > 0) throw r.Unsupported(n, "pads chosen axes only");
        var pads = n.Inputs.Count > 1 ? r.Const(n, n.Inputs[1], 1, integers: true).Integers : n.Attribute("pads")?.Ints ?? [];
        if (pads.Length != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0
            || new[] { pads[2], pads[3], pads[6], pads[7] }.Distinct().Count() != 1 || pads[2] is < 0 or > 1 << 16)
            throw r.Unsupported(n, $"pads ({string.Join(", ", pads)}); only the same padding on every side of an image is imported");
        var pool = r.Consumers(OnnxImporter.Out(n)).SingleOrDefault();
        if (pads[2] == 0 && pool is not { OpType: "AveragePool" }) return null;   // no padding at all: plumbing
        if (pool is not { OpType: "AveragePool" } || (pool.Attribute("pads")?.Ints ?? [0, 0, 0, 0]).Any(v => v != 0))
            throw r.Unsupported(n, "pads zeros before something other than an unpadded average pooling");
        return Pool(r, pool, [n, pool], (int)pads[2]);
    }

    private OnnxMatch Pool(OnnxImporter r, OnnxNode n, OnnxNode[] nodes, int extraPad)
    {
        var k = n.Attribute("kernel_shape") ?? throw r.Unsupported(n, "has no kernel_shape");
        if (k.Ints.Length != 2) throw r.Unsupported(n, "is not a 2-D pooling");
        if ((n.Attribute("ceil_mode")?.I ?? 0) != 0) throw r.Unsupported(n, "rounds its output size up (ceil_mode = 1)");
        if (n.Attribute("dilations") is { } d && d.Ints.Any(v => v != 1)) throw r.Unsupported(n, "is dilated");
        if ((n.Attribute("storage_order")?.I ?? 0) != 0 || n.Outputs.Count > 1) throw r.Unsupported(n, "returns indices");
        var (stride, pad) = r.Window(n);
        if (!Max && pad > 0 && (n.Attribute("count_include_pad")?.I ?? 0) == 0)
            throw r.Unsupported(n, "divides by the cells inside the input (count_include_pad = 0); Backprop's average pooling " +
                "divides by the whole window");
        return new OnnxMatch(Name, new Dictionary<string, object>
        {
            ["pool_h"] = (int)k.Ints[0],
            ["pool_w"] = (int)k.Ints[1],
            ["stride"] = stride,
            ["pad"] = pad + extraPad,
        }, OnnxImporter.Out(n), nodes)
        { Rank = 4 };
    }
}
