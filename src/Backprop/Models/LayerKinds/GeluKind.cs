using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>
/// gelu, exact or the tanh approximation. ONNX: from opset 20 the Gelu operator; below, its decomposition in the order
/// PyTorch writes it, which is also what import recognizes.
/// </summary>
internal sealed class GeluKind() : ActivationKind("y = x·Φ(x) (exact), or its tanh approximation", typeof(Gelu<>),
    c => new Gelu<float>(c.Choice("approximate") == "tanh"), c => new Gelu<double>(c.Choice("approximate") == "tanh"),
    [new Hyperparameter("approximate", HyperparameterType.Choice, "none", "the exact erf form (none) or the tanh approximation")
        { Choices = ["none", "tanh"] }])
{
    public override IReadOnlyList<LayerExample> Examples =>
        AndExample("Gelu (tanh)", new Dictionary<string, object> { ["approximate"] = "tanh" });

    public override string ToOnnx(OnnxLayerWriter onnx)
    {
        bool tanh = onnx.Choice("approximate") == "tanh";
        if (onnx.Opset >= 20) return onnx.Node("Gelu", null, [onnx.Input], ("approximate", tanh ? "tanh" : "none"));
        string x = onnx.Input;
        string Mul(string part, string a, string b) => onnx.Node("Mul", part, [a, b]);
        string Add(string part, string a, string b) => onnx.Node("Add", part, [a, b]);
        string inner;
        if (tanh)
        {
            // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
            string x3 = Mul("x3", Mul("x2", x, x), x);
            string cubic = Mul("cubic", x3, onnx.Scalar("k", 0.044715));
            string scaled = Mul("scale", Add("inner", x, cubic), onnx.Scalar("c", Math.Sqrt(2 / Math.PI)));
            inner = onnx.Node("Tanh", "tanh", [scaled]);
        }
        else
        {
            // 0.5·x·(1 + erf(x/√2))
            string div = onnx.Node("Div", "div", [x, onnx.Scalar("sqrt2", Math.Sqrt(2))]);
            inner = onnx.Node("Erf", "erf", [div]);
        }
        string one = Add("add", inner, onnx.Scalar("one", 1));
        return Mul("half", Mul("mul", x, one), onnx.Scalar("half", 0.5));
    }

    internal override IReadOnlyList<string> OnnxOperators => ["Gelu", "Div", "Mul"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x)
    {
        switch (n.OpType)
        {
            case "Gelu":
                string approximate = n.Attribute("approximate")?.S ?? "none";
                if (approximate is not ("none" or "tanh")) throw r.Unsupported(n, $"has approximate '{approximate}'");
                return Match(r, [n], ("approximate", approximate));
            case "Div":
                if (n.Inputs[0] != x || !OnnxImporter.Near(r.Scalar(n, n.Inputs[1]), Math.Sqrt(2)))
                    throw r.Unsupported(n, "is not the start of a GELU");
                var erf = r.Single(OnnxImporter.Out(n), "Erf", n);
                return Tail(r, x, [n, erf], "none");
            default:
                // Mul(x, x) starts the tanh form.
                if (n.Inputs.Count(i => i == x) != 2) return null;
                var x3 = Next(r, n, "Mul", x);
                var cubic = Next(r, x3, "Mul", 0.044715);
                var inner = Next(r, cubic, "Add", x);
                var scale = Next(r, inner, "Mul", Math.Sqrt(2 / Math.PI));
                var tanh = r.Single(OnnxImporter.Out(scale), "Tanh", scale);
                return Tail(r, x, [n, x3, cubic, inner, scale, tanh], "tanh");
        }
    }

    // (1 + ·)·x·0.5 after the erf or tanh.
    private OnnxMatch Tail(OnnxImporter r, string x, List<OnnxNode> nodes, string approximate)
    {
        var add = Next(r, nodes[^1], "Add", 1.0);
        var mul = Next(r, add, "Mul", x);
        var half = Next(r, mul, "Mul", 0.5);
        return Match(r, [.. nodes, add, mul, half], ("approximate", approximate));
    }

    // The single consumer of `after`'s output, an `op` whose other input is the value x or the constant k.
    private static OnnxNode Next(OnnxImporter r, OnnxNode after, string op, object other)
    {
        var next = r.Single(OnnxImporter.Out(after), op, after);
        string input = OnnxImporter.Other(next, OnnxImporter.Out(after));
        bool ok = other is string value ? input == value : OnnxImporter.Near(r.Scalar(next, input), (double)other);
        return ok ? next : throw r.Unsupported(next, "is not part of a GELU");
    }
}
