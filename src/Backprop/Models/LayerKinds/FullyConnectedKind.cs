using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>
/// fully_connected: y = x·W + b. ONNX: Flatten (axis 1) then Gemm; imported also from PyTorch's Gemm with transB = 1 and
/// from MatMul (+ Add of the bias), with or without a flattening Flatten or Reshape before it.
/// </summary>
internal sealed class FullyConnectedKind() : LayerKind("y = x·W + b, x (B, …) flattened to (B, N), W (N, M), b (M,)",
    typeof(FullyConnected<>))
{
    public override IReadOnlyList<string> Aliases => ["fc", "affine", "linear", "dense"];

    public override IReadOnlyList<Hyperparameter> Hyperparameters =>
    [
        BuiltIn.Size("inputs", "N, the features per sample after flattening"),
        BuiltIn.Size("outputs", "M, the outputs"),
        .. BuiltIn.InitOptions("N"),
    ];

    public override IReadOnlyList<string> Tensors => ["W", "b"];

    public override IReadOnlyList<(string Name, int[] Shape)>? TensorShapes(LayerConfig c) =>
        c.Has("inputs") && c.Has("outputs") ? [("W", [c.Int("inputs"), c.Int("outputs")]), ("b", [c.Int("outputs")])] : null;

    public override IReadOnlyList<LayerExample> Examples =>
        [new("FullyConnected (x rank 3)", new Dictionary<string, object> { ["inputs"] = 4, ["outputs"] = 5 }, [3, 2, 2])];

    public override Layer<T> Create<T>(LayerConfig c)
    {
        var W = c.Tensor<T>("W");
        var b = c.Tensor<T>("b");
        if (W is not null || b is not null)
        {
            if (W is null || b is null) throw new InvalidInputException($"{c.Where} ({Name}): W and b must be given together");
            var fc = new FullyConnected<T>(W, b);
            foreach (var (name, size) in new[] { ("inputs", fc.Inputs), ("outputs", fc.Outputs) })
                if (c.Has(name) && c.Int(name) != size)
                    throw new ShapeMismatchException($"{c.Where} ({Name}): {name} is {c.Int(name)}, but W has shape {W.ShapeString}");
            return fc;
        }
        int inputs = c.Int("inputs"), outputs = c.Int("outputs");
        long weights = (long)inputs * outputs;
        if (weights > BuiltIn.MaxWeights)
            throw new InvalidInputException($"{c.Where} ({Name}): {inputs}×{outputs} weights would need " +
                $"{weights * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() * 3 / 1e9:0.#} GB with their gradient and " +
                $"optimizer state; the limit is {BuiltIn.MaxWeights} weights a layer");
        var init = MlpSpec.ParseInit(c.Choice("init"));
        return new FullyConnected<T>(inputs, outputs, init, c.Rng, c.Number("init_std"));
    }

    public override IReadOnlyList<object>? OnnxInputShape(LayerDescription layer) =>
        ["N", Convert.ToInt64(layer.Hyperparameters["inputs"], System.Globalization.CultureInfo.InvariantCulture)];

    public override string ToOnnx(OnnxLayerWriter onnx)
    {
        string W = onnx.Weight("W"), b = onnx.Weight("b");
        string flat = onnx.Node("Flatten", "flatten", [onnx.Input], ("axis", 1L));
        onnx.Rank = 2;
        return onnx.Node("Gemm", "gemm", [flat, W, b]);
    }

    internal override IReadOnlyList<string> OnnxOperators => ["Flatten", "Reshape", "Gemm", "MatMul"];

    internal override OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x)
    {
        if (n.OpType is "Gemm" or "MatMul") return Product(r, n, x, [], null);
        // A flatten per sample straight into the product.
        long? features = r.CheckFlatten(n);
        var next = r.Consumers(OnnxImporter.Out(n));
        if (next.Count != 1 || next[0].OpType is not ("Gemm" or "MatMul")) return null;
        return Product(r, next[0], OnnxImporter.Out(n), [n], features);
    }

    private OnnxMatch Product(OnnxImporter r, OnnxNode n, string x, OnnxNode[] before, long? features)
    {
        if (n.Inputs[0] != x) throw r.Unsupported(n, "multiplies the weights by the input from the left");
        bool transB = false;
        OnnxTensor W, b;
        var nodes = new List<OnnxNode>(before) { n };
        string output = OnnxImporter.Out(n);
        if (n.OpType == "Gemm")
        {
            if ((n.Attribute("alpha")?.F ?? 1) != 1 || (n.Attribute("beta")?.F ?? 1) != 1) throw r.Unsupported(n, "has alpha or beta ≠ 1");
            if ((n.Attribute("transA")?.I ?? 0) != 0) throw r.Unsupported(n, "transposes the input (transA = 1)");
            transB = (n.Attribute("transB")?.I ?? 0) != 0;
            W = r.Const(n, n.Inputs[1], 2);
            b = n.Inputs.Count > 2 && n.Inputs[2].Length > 0 ? r.Const(n, n.Inputs[2], 1) : Zeros(W.Dims[transB ? 0 : 1]);
        }
        else
        {
            W = r.Const(n, n.Inputs[1], 2);
            b = Zeros(W.Dims[1]);
            // MatMul + Add(bias)
            var add = r.Consumers(output).SingleOrDefault();
            if (add is { OpType: "Add" } && add.Inputs.Count == 2 && OnnxImporter.Other(add, output) is var other && r.IsConstant(other))
            {
                b = r.Const(add, other, 1);
                nodes.Add(add);
                output = OnnxImporter.Out(add);
            }
        }
        if (W.Dims.Any(d => d < 1 || d > BuiltIn.MaxSize)) throw r.Unsupported(n, $"has weights of shape ({string.Join(", ", W.Dims)})");
        int inputs = (int)W.Dims[transB ? 1 : 0], outputs = (int)W.Dims[transB ? 0 : 1];
        if (features is { } f && f != inputs)
            throw r.Unsupported(before[0], $"reshapes to {f} features per sample, but {n.Describe()} takes {inputs}");
        var w = new double[W.Values.Length];
        for (int i = 0; i < inputs; i++)
            for (int j = 0; j < outputs; j++) w[i * outputs + j] = transB ? W.Values[j * inputs + i] : W.Values[i * outputs + j];
        if (b.Count != outputs) throw r.Unsupported(n, $"has a bias of {b.Count} values for {outputs} outputs");
        return new OnnxMatch(Name, new Dictionary<string, object> { ["inputs"] = inputs, ["outputs"] = outputs }, output, nodes)
        {
            Rank = 2,
            Tensors = [("W", [inputs, outputs], w), ("b", [outputs], b.Values)],
        };
    }

    private static OnnxTensor Zeros(long n) => new() { Dims = [n], Values = new double[n] };
}
