using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>
/// leaky_relu. ONNX: LeakyRelu in float32; in float64, where(x &gt; 0, x, α·x) (α stays exact as a tensor, and ONNX
/// Runtime has no float64 LeakyRelu kernel).
/// </summary>
internal sealed class LeakyReluKind() : ActivationKind("y = x if x > 0 else alpha·x", typeof(LeakyRelu<>),
    c => new LeakyRelu<float>(c.Number("alpha")), c => new LeakyRelu<double>(c.Number("alpha")),
    [BuiltIn.Number("alpha", 0.01, "the slope for x ≤ 0")], ["leakyrelu"])
{
    public override IReadOnlyList<LayerExample> Examples =>
        AndExample("LeakyRelu (alpha 0.2)", new Dictionary<string, object> { ["alpha"] = 0.2 });

    public override string ToOnnx(OnnxLayerWriter onnx)
    {
        if (!onnx.Float64) return onnx.Node("LeakyRelu", null, [onnx.Input], ("alpha", onnx.Number("alpha")));
        string neg = onnx.Node("Mul", "scale", [onnx.Input, onnx.Scalar("alpha", onnx.Number("alpha"))]);
        string pos = onnx.Node("Greater", "positive", [onnx.Input, onnx.Scalar("zero", 0)]);
        return onnx.Node("Where", "where", [pos, onnx.Input, neg]);
    }

    internal override IReadOnlyList<string> OnnxOperators => ["LeakyRelu", "Mul", "Greater"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x)
    {
        if (n.OpType == "LeakyRelu") return Match(r, [n], ("alpha", OnnxImporter.Decimal(n.Attribute("alpha")?.F ?? 0.01f)));
        // Mul(x, α) and Greater(x, 0) in either order, then Where(x > 0, x, α·x).
        var mul = n.OpType == "Mul" ? n : r.Consumers(x).FirstOrDefault(c => c.OpType == "Mul");
        var greater = n.OpType == "Greater" ? n : r.Consumers(x).FirstOrDefault(c => c.OpType == "Greater");
        if (mul is null || greater is null || mul.Inputs.Count(i => i == x) != 1) return null;
        double alpha = r.Scalar(mul, OnnxImporter.Other(mul, x));
        var where = r.Consumers(OnnxImporter.Out(mul)).SingleOrDefault();
        if (where is not { OpType: "Where" }) return null;
        if (!OnnxImporter.Near(r.Scalar(greater, OnnxImporter.Other(greater, x)), 0) || where.Inputs[0] != OnnxImporter.Out(greater)
            || where.Inputs[1] != x || where.Inputs[2] != OnnxImporter.Out(mul))
            throw r.Unsupported(where, "is not a leaky ReLU");
        return Match(r, [n == mul ? mul : greater, n == mul ? greater : mul, where], ("alpha", r.Real(alpha)));
    }
}
