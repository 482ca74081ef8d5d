using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>
/// softplus. ONNX: Softplus for β = 1 and threshold 20 in float32 (the same to float precision); otherwise
/// where(β·x &gt; threshold, x, softplus(β·x)/β), with softplus(z) = log(eᶻ + 1) in float64 (no float64 Softplus kernel in
/// ONNX Runtime; the branch that overflows is the one not taken).
/// </summary>
internal sealed class SoftplusKind() : ActivationKind("y = log(1 + e^(beta·x))/beta, x where beta·x > threshold",
    typeof(Softplus<>), c => new Softplus<float>(c.Number("beta"), c.Number("threshold")),
    c => new Softplus<double>(c.Number("beta"), c.Number("threshold")),
    [BuiltIn.Number("beta", 1.0, "the sharpness") with { Min = 0, MinExclusive = true },
        BuiltIn.Number("threshold", 20.0, "above beta·x > threshold, y = x")])
{
    // The threshold's kink at β·x = 3, x = 1.5: random inputs keep clear of it.
    public override IReadOnlyList<LayerExample> Examples =>
        AndExample("Softplus (beta 2, threshold 3)", new Dictionary<string, object> { ["beta"] = 2.0, ["threshold"] = 3.0 }, kink: 1.5);

    public override string ToOnnx(OnnxLayerWriter onnx)
    {
        double beta = onnx.Number("beta"), threshold = onnx.Number("threshold");
        if (beta == 1 && threshold == 20 && !onnx.Float64) return onnx.Node("Softplus", null, [onnx.Input]);
        string bx = onnx.Node("Mul", "scale", [onnx.Input, onnx.Scalar("beta", beta)]);
        string sp = !onnx.Float64 ? onnx.Node("Softplus", "softplus", [bx])
            : onnx.Node("Log", "log", [onnx.Node("Add", "add", [onnx.Node("Exp", "exp", [bx]), onnx.Scalar("one", 1)])]);
        string div = onnx.Node("Div", "unscale", [sp, onnx.Scalar("beta", beta)]);
        string above = onnx.Node("Greater", "above", [bx, onnx.Scalar("threshold", threshold)]);
        return onnx.Node("Where", "where", [above, onnx.Input, div]);
    }

    internal override IReadOnlyList<string> OnnxOperators => ["Softplus", "Mul"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x)
    {
        if (n.OpType == "Softplus") return Match(r, [n], ("beta", 1.0), ("threshold", 20.0));
        // Mul(x, β), then Softplus or Log(Exp + 1), Div(·, β), Greater(β·x, threshold), Where.
        if (n.Inputs.Count(i => i == x) != 1) return null;
        double beta = r.Scalar(n, OnnxImporter.Other(n, x));
        var next = r.Consumers(OnnxImporter.Out(n));
        var sp = next.FirstOrDefault(c => c.OpType is "Softplus" or "Exp");
        var gt = next.FirstOrDefault(c => c.OpType == "Greater");
        if (sp is null || gt is null) return null;
        var nodes = new List<OnnxNode> { n, sp };
        string spOut = OnnxImporter.Out(sp);
        if (sp.OpType == "Exp")
        {
            var add = r.Single(spOut, "Add", sp);
            if (!OnnxImporter.Near(r.Scalar(add, OnnxImporter.Other(add, spOut)), 1)) throw r.Unsupported(add, "is not softplus's + 1");
            var log = r.Single(OnnxImporter.Out(add), "Log", add);
            nodes.AddRange([add, log]);
            spOut = OnnxImporter.Out(log);
        }
        var div = r.Single(spOut, "Div", nodes[^1]);
        if (div.Inputs[0] != spOut || !OnnxImporter.Near(r.Scalar(div, div.Inputs[1]), beta))
            throw r.Unsupported(div, "is not softplus's /β");
        var w = r.Single(OnnxImporter.Out(div), "Where", div);
        if (w.Inputs[0] != OnnxImporter.Out(gt) || w.Inputs[1] != x || w.Inputs[2] != OnnxImporter.Out(div))
            throw r.Unsupported(w, "is not softplus's threshold");
        double threshold = r.Scalar(gt, gt.Inputs[1]);
        return Match(r, [.. nodes, div, gt, w], ("beta", r.Real(beta)), ("threshold", r.Real(threshold)));
    }
}
