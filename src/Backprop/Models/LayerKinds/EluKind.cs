using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>
/// elu. ONNX: Elu in float32; in float64, where(x &gt; 0, x, α·(eˣ − 1)) (no float64 Elu kernel in ONNX Runtime).
/// </summary>
internal sealed class EluKind() : ActivationKind("y = x if x > 0 else alpha·(eˣ − 1)", typeof(Elu<>),
    c => new Elu<float>(c.Number("alpha")), c => new Elu<double>(c.Number("alpha")),
    [BuiltIn.Number("alpha", 1.0, "the scale of the negative part")])
{
    public override IReadOnlyList<LayerExample> Examples =>
        AndExample("Elu (alpha 0.7)", new Dictionary<string, object> { ["alpha"] = 0.7 });

    public override string ToOnnx(OnnxLayerWriter onnx)
    {
        if (!onnx.Float64) return onnx.Node("Elu", null, [onnx.Input], ("alpha", onnx.Number("alpha")));
        string e = onnx.Node("Exp", "exp", [onnx.Input]);
        string em1 = onnx.Node("Sub", "sub", [e, onnx.Scalar("one", 1)]);
        string neg = onnx.Node("Mul", "scale", [em1, onnx.Scalar("alpha", onnx.Number("alpha"))]);
        string pos = onnx.Node("Greater", "positive", [onnx.Input, onnx.Scalar("zero", 0)]);
        return onnx.Node("Where", "where", [pos, onnx.Input, neg]);
    }

    internal override IReadOnlyList<string> OnnxOperators => ["Elu", "Exp", "Greater"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x)
    {
        if (n.OpType == "Elu") return Match(r, [n], ("alpha", OnnxImporter.Decimal(n.Attribute("alpha")?.F ?? 1f)));
        // Exp, Sub(·, 1), Mul(·, α), Greater(x, 0), Where(x > 0, x, α·(eˣ − 1)).
        var exp = n.OpType == "Exp" ? n : r.Consumers(x).FirstOrDefault(c => c.OpType == "Exp");
        var greater = n.OpType == "Greater" ? n : r.Consumers(x).FirstOrDefault(c => c.OpType == "Greater");
        if (exp is null || greater is null) return null;
        var sub = r.Single(OnnxImporter.Out(exp), "Sub", exp);
        if (!OnnxImporter.Near(r.Scalar(sub, sub.Inputs[1]), 1)) throw r.Unsupported(sub, "is not ELU's − 1");
        var mul = r.Single(OnnxImporter.Out(sub), "Mul", sub);
        double alpha = r.Scalar(mul, OnnxImporter.Other(mul, OnnxImporter.Out(sub)));
        var where = r.Single(OnnxImporter.Out(mul), "Where", mul);
        if (where.Inputs[0] != OnnxImporter.Out(greater) || where.Inputs[1] != x) throw r.Unsupported(where, "is not an ELU");
        return Match(r, [n, n == exp ? greater : exp, sub, mul, where], ("alpha", r.Real(alpha)));
    }
}
