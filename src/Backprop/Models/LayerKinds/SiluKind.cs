using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>silu: y = x·σ(x). ONNX: Sigmoid then Mul(x, σ) (a lone Sigmoid is the sigmoid kind).</summary>
internal sealed class SiluKind() : ActivationKind("y = x·σ(x)", typeof(Silu<>), _ => new Silu<float>(), _ => new Silu<double>(),
    aliases: ["swish"])
{
    public override string ToOnnx(OnnxLayerWriter onnx)
    {
        string s = onnx.Node("Sigmoid", "sigmoid", [onnx.Input]);
        return onnx.Node("Mul", "mul", [onnx.Input, s]);
    }

    internal override IReadOnlyList<string> OnnxOperators => ["Sigmoid"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x)
    {
        var mul = r.Consumers(OnnxImporter.Out(n)).SingleOrDefault();
        return mul is { OpType: "Mul" } && mul.Inputs.Contains(x) && mul.Inputs.Contains(OnnxImporter.Out(n)) ? Match(r, [n, mul]) : null;
    }
}
