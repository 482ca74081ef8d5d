using System.Globalization;
using System.Numerics;
using Backprop.IO;
using Backprop.Networks;

namespace Backprop.Models;

/// <summary>What <see cref="OnnxFile.Export{T}"/> writes.</summary>
/// <param name="Opset">The ONNX opset, 13 to 21: from 20, GELU is the Gelu operator; below, its decomposition.</param>
/// <param name="Probabilities">Adds an output <c>probabilities</c> = Softmax(logits) beside the logits (classifiers only).</param>
public sealed record OnnxExportOptions(int Opset = 17, bool Probabilities = false);

/// <summary>
/// ONNX export and import of networks: every layer kind maps to standard operators (docs/ONNX.md); the graph has the
/// input <c>x</c> with a symbolic batch dimension, the output <c>logits</c> (a softmax cross-entropy network) or <c>y</c>,
/// and initializers named as the model file names them (<c>layers.0.W</c>, …). Import accepts the graphs Backprop writes
/// and the forms PyTorch's <c>torch.onnx.export</c> writes for the same layers; anything else is an error naming the
/// node and its operator, never a different network.
/// </summary>
public static partial class OnnxFile
{
    /// <summary>The lowest and highest opsets export writes.</summary>
    public const int MinOpset = 13, MaxOpset = 21;

    private const string LossKey = "backprop.loss";

    /// <summary>Writes <paramref name="net"/> to <paramref name="path"/> (atomically).</summary>
    public static void Export<T>(Sequential<T> net, string path, OnnxExportOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var bytes = ToModel(net, options ?? new()).ToBytes();
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>The ONNX model of <paramref name="net"/> (inference: dropout is the identity, batch normalization uses its
    /// running statistics).</summary>
    internal static OnnxModel ToModel<T>(Sequential<T> net, OnnxExportOptions options) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(net);
        if (options.Opset < MinOpset || options.Opset > MaxOpset)
            throw new InvalidInputException($"--opset must be from {MinOpset} to {MaxOpset}, not {options.Opset}");
        var description = ModelDescription.Of(net);
        bool classifier = description.Loss == "softmax_cross_entropy";
        if (options.Probabilities && !classifier)
            throw new InvalidInputException(
                $"--probabilities needs a softmax cross-entropy network; this one's loss is {description.Loss}");
        int elem = typeof(T) == typeof(float) ? OnnxTensor.Float : OnnxTensor.Double;
        var model = new OnnxModel
        {
            Opset = options.Opset,
            IrVersion = options.Opset >= 21 ? 10 : options.Opset >= 19 ? 9 : 8,
            ProducerName = "backprop",
            ProducerVersion = typeof(OnnxFile).Assembly.GetName().Version?.ToString(3) ?? "0",
            GraphName = "backprop",
        };
        model.Metadata[LossKey] = description.Loss;
        var tensors = ModelFile.Tensors(net).ToDictionary(t => t.Name, t => t.Value);
        var g = new GraphWriter(model, elem);
        string current = "x";
        // The input's shape comes from the first layer that has one (activations and dropout take any): images for a
        // convolution, pooling or per-channel normalization, (N, D) otherwise.
        var shaping = description.Layers.FirstOrDefault(l => l.Kind is "fully_connected" or "batch_norm" or "convolution"
            or "max_pooling" or "average_pooling" or "batch_norm_2d");
        bool images = shaping?.Kind is "convolution" or "max_pooling" or "average_pooling" or "batch_norm_2d";
        int rank = images ? 4 : 2;
        for (int i = 0; i < description.Layers.Count; i++)
        {
            var d = description.Layers[i];
            string p = $"layers.{i}";
            OnnxTensor W(string name) => g.Initializer($"{p}.{name}", tensors[$"{p}.{name}"]);
            double Num(string name) => Convert.ToDouble(d.Hyperparameters[name], CultureInfo.InvariantCulture);
            int Int(string name) => Convert.ToInt32(d.Hyperparameters[name], CultureInfo.InvariantCulture);
            switch (d.Kind)
            {
                case "fully_connected":
                    W("W"); W("b");
                    string flat = g.Node("Flatten", p + "/flatten", [current], [OnnxAttribute.Int("axis", 1)]);
                    current = g.Node("Gemm", p + "/gemm", [flat, $"{p}.W", $"{p}.b"]);
                    rank = 2;
                    break;
                case "relu": current = g.Node("Relu", p, [current]); break;
                case "sigmoid": current = g.Node("Sigmoid", p, [current]); break;
                case "tanh": current = g.Node("Tanh", p, [current]); break;
                // ONNX attributes are float32: a float64 model keeps its α exact as a tensor in a decomposition (which also
                // avoids ONNX Runtime's missing float64 kernels of LeakyRelu, PRelu and Elu).
                case "leaky_relu":
                    if (elem == OnnxTensor.Float)
                        current = g.Node("LeakyRelu", p, [current], [OnnxAttribute.Float("alpha", Num("alpha"))]);
                    else
                    {
                        // where(x > 0, x, α·x)
                        string neg = g.Node("Mul", p + "/scale", [current, g.Scalar($"{p}.alpha", Num("alpha"))]);
                        string pos = g.Node("Greater", p + "/positive", [current, g.Scalar($"{p}.zero", 0)]);
                        current = g.Node("Where", p + "/where", [pos, current, neg]);
                    }
                    break;
                case "elu":
                    if (elem == OnnxTensor.Float) current = g.Node("Elu", p, [current], [OnnxAttribute.Float("alpha", Num("alpha"))]);
                    else
                    {
                        // where(x > 0, x, α·(eˣ − 1))
                        string e = g.Node("Exp", p + "/exp", [current]);
                        string em1 = g.Node("Sub", p + "/sub", [e, g.Scalar($"{p}.one", 1)]);
                        string neg = g.Node("Mul", p + "/scale", [em1, g.Scalar($"{p}.alpha", Num("alpha"))]);
                        string pos = g.Node("Greater", p + "/positive", [current, g.Scalar($"{p}.zero", 0)]);
                        current = g.Node("Where", p + "/where", [pos, current, neg]);
                    }
                    break;
                case "gelu":
                    bool tanhForm = (string)d.Hyperparameters["approximate"] == "tanh";
                    current = options.Opset >= 20
                        ? g.Node("Gelu", p, [current], [OnnxAttribute.String("approximate", tanhForm ? "tanh" : "none")])
                        : tanhForm ? g.GeluTanh(p, current) : g.GeluErf(p, current);
                    break;
                case "silu":
                    string s = g.Node("Sigmoid", p + "/sigmoid", [current]);
                    current = g.Node("Mul", p + "/mul", [current, s]);
                    break;
                case "softplus":
                    double beta = Num("beta"), threshold = Num("threshold");
                    if (beta == 1 && threshold == 20 && elem == OnnxTensor.Float)
                        current = g.Node("Softplus", p, [current]);   // the same to float precision
                    else
                    {
                        // where(β·x > threshold, x, softplus(β·x)/β); in float64 softplus(z) = log(eᶻ + 1) (no float64 kernel
                        // of Softplus in ONNX Runtime; the branch that overflows is the one not taken)
                        string bx = g.Node("Mul", p + "/scale", [current, g.Scalar($"{p}.beta", beta)]);
                        string sp = elem == OnnxTensor.Float ? g.Node("Softplus", p + "/softplus", [bx])
                            : g.Node("Log", p + "/log", [g.Node("Add", p + "/add", [g.Node("Exp", p + "/exp", [bx]), g.Scalar($"{p}.one",
                                1)])]);
                        string div = g.Node("Div", p + "/unscale", [sp, $"{p}.beta"]);
                        string above = g.Node("Greater", p + "/above", [bx, g.Scalar($"{p}.threshold", threshold)]);
                        current = g.Node("Where", p + "/where", [above, current, div]);
                    }
                    break;
                case "batch_norm":
                    foreach (var n in new[] { "gamma", "beta", "running_mean", "running_var" }) W(n);
                    var bnInputs = new[] { $"{p}.gamma", $"{p}.beta", $"{p}.running_mean", $"{p}.running_var" };
                    var eps = OnnxAttribute.Float("epsilon", Num("eps"));
                    var momentum = OnnxAttribute.Float("momentum", Num("momentum"));
                    if (rank == 2) current = g.Node("BatchNormalization", p, [current, .. bnInputs], [eps, momentum]);
                    else
                    {
                        // per feature of each sample's flattened values, then back to the input's shape
                        string shape = g.Node("Shape", p + "/shape", [current]);
                        string f = g.Node("Flatten", p + "/flatten", [current], [OnnxAttribute.Int("axis", 1)]);
                        string bn = g.Node("BatchNormalization", p + "/bn", [f, .. bnInputs], [eps, momentum]);
                        current = g.Node("Reshape", p + "/reshape", [bn, shape]);
                    }
                    break;
                case "batch_norm_2d":
                    foreach (var n in new[] { "gamma", "beta", "running_mean", "running_var" }) W(n);
                    current = g.Node("BatchNormalization", p, [current, $"{p}.gamma", $"{p}.beta", $"{p}.running_mean",
                        $"{p}.running_var"], [OnnxAttribute.Float("epsilon", Num("eps")), OnnxAttribute.Float("momentum",
                            Num("momentum"))]);
                    break;
                case "dropout":
                    current = g.Node("Dropout", p, [current, g.Scalar($"{p}.ratio", Num("p"))]);
                    break;
                case "convolution":
                    W("W"); W("b");
                    int stride = Int("stride"), pad = Int("pad");
                    current = g.Node("Conv", p, [current, $"{p}.W", $"{p}.b"],
                    [
                        OnnxAttribute.IntList("kernel_shape", Int("kernel_h"), Int("kernel_w")), OnnxAttribute.IntList("strides", stride,
                            stride),
                        OnnxAttribute.IntList("pads", pad, pad, pad, pad), OnnxAttribute.IntList("dilations", 1, 1),
                            OnnxAttribute.Int("group", 1),
                    ]);
                    rank = 4;
                    break;
                case "max_pooling":
                case "average_pooling":
                    int ps = Int("stride"), pp = Int("pad");
                    var attributes = new List<OnnxAttribute>
                    {
                        OnnxAttribute.IntList("kernel_shape", Int("pool_h"), Int("pool_w")), OnnxAttribute.IntList("strides", ps, ps),
                        OnnxAttribute.IntList("pads", pp, pp, pp, pp),
                    };
                    if (d.Kind == "average_pooling") attributes.Add(OnnxAttribute.Int("count_include_pad", 1));
                    current = g.Node(d.Kind == "max_pooling" ? "MaxPool" : "AveragePool", p, [current], attributes);
                    rank = 4;
                    break;
                default:
                    throw new InvalidInputException($"layers[{i}]: the kind '{d.Kind}' has no ONNX form (a layer registered by the " +
                        "user; built-in kinds all have one)");
            }
        }
        string output = classifier ? "logits" : "y";
        g.Rename(current, output);
        if (description.Layers.Count == 0) g.Node("Identity", "identity", ["x"], output: output);
        long Size(string name) => Convert.ToInt64(shaping!.Hyperparameters[name], CultureInfo.InvariantCulture);
        object[] inputShape = shaping?.Kind switch
        {
            "fully_connected" => ["N", Size("inputs")],
            "convolution" or "batch_norm_2d" => ["N", Size("channels"), "H", "W"],
            _ => images ? ["N", "C", "H", "W"] : ["N", "D"],
        };
        model.Inputs.Add(new OnnxValueInfo("x", elem, inputShape));
        model.Outputs.Add(new OnnxValueInfo(output, elem, ["N", "K"]));
        if (options.Probabilities)
        {
            g.Node("Softmax", "probabilities", [output], [OnnxAttribute.Int("axis", 1)], output: "probabilities");
            model.Outputs.Add(new OnnxValueInfo("probabilities", elem, ["N", "K"]));
        }
        return model;
    }

    private sealed class GraphWriter(OnnxModel model, int elem)
    {
        public OnnxTensor Initializer<T>(string name, Tensor<T> t) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var tensor = new OnnxTensor
            {
                Name = name,
                DataType = elem,
                Dims = t.Shape.ToArray().Select(d => (long)d).ToArray(),
                Values = t.Span.ToArray().Select(double.CreateTruncating).ToArray(),
            };
            model.Initializers.Add(tensor);
            return tensor;
        }

        public string Scalar(string name, double value)
        {
            if (!model.Initializers.Any(t => t.Name == name))
                model.Initializers.Add(new OnnxTensor { Name = name, DataType = elem, Dims = [], Values = [value] });
            return name;
        }

        public string Node(string op, string name, string[] inputs, IEnumerable<OnnxAttribute>? attributes = null, string? output = null)
        {
            var node = new OnnxNode { OpType = op, Name = name };
            node.Inputs.AddRange(inputs);
            node.Outputs.Add(output ?? name + ":0");
            if (attributes is not null) node.Attributes.AddRange(attributes);
            model.Nodes.Add(node);
            return node.Outputs[0];
        }

        // The node that produced `value` writes `name` instead (the graph's named output).
        public void Rename(string value, string name)
        {
            foreach (var n in model.Nodes)
            {
                for (int i = 0; i < n.Outputs.Count; i++) if (n.Outputs[i] == value) n.Outputs[i] = name;
                for (int i = 0; i < n.Inputs.Count; i++) if (n.Inputs[i] == value) n.Inputs[i] = name;
            }
        }

        // 0.5·x·(1 + erf(x/√2)), in the order PyTorch writes it for opsets below 20.
        public string GeluErf(string p, string x)
        {
            string div = Node("Div", p + "/div", [x, Scalar(p + ".sqrt2", Math.Sqrt(2))]);
            string erf = Node("Erf", p + "/erf", [div]);
            string add = Node("Add", p + "/add", [erf, Scalar(p + ".one", 1)]);
            string mul = Node("Mul", p + "/mul", [x, add]);
            return Node("Mul", p + "/half", [mul, Scalar(p + ".half", 0.5)]);
        }

        // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
        public string GeluTanh(string p, string x)
        {
            string x2 = Node("Mul", p + "/x2", [x, x]);
            string x3 = Node("Mul", p + "/x3", [x2, x]);
            string c = Node("Mul", p + "/cubic", [x3, Scalar(p + ".k", 0.044715)]);
            string inner = Node("Add", p + "/inner", [x, c]);
            string scaled = Node("Mul", p + "/scale", [inner, Scalar(p + ".c", Math.Sqrt(2 / Math.PI))]);
            string t = Node("Tanh", p + "/tanh", [scaled]);
            string add = Node("Add", p + "/add", [t, Scalar(p + ".one", 1)]);
            string mul = Node("Mul", p + "/mul", [x, add]);
            return Node("Mul", p + "/half", [mul, Scalar(p + ".half", 0.5)]);
        }
    }
}
