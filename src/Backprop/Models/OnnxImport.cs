using System.Globalization;
using System.Numerics;
using Backprop.IO;
using Backprop.Networks;

namespace Backprop.Models;

/// <summary>An imported ONNX graph: the network's description and its tensors, by the model file's names.</summary>
public sealed record OnnxImported(ModelDescription Description, IReadOnlyList<SafeTensors.Entry> Tensors);

public static partial class OnnxFile
{
    /// <summary>Reads an ONNX file and turns its graph into a network description and tensors.</summary>
    /// <exception cref="InvalidFileException">Unreadable, malformed, or a graph Backprop cannot represent exactly (the node
    /// and operator named).</exception>
    public static OnnxImported Read(string path)
    {
        var model = OnnxModel.Parse(BoundedFile.ReadAllBytes(path, OnnxModel.MaxBytes), path);
        return new Importer(model, path).Run();
    }

    /// <summary>Imports an ONNX file as a network of <typeparamref name="T"/> (the file's element type).</summary>
    public static Sequential<T> Import<T>(string path) where T : unmanaged, IFloatingPointIeee754<T> => Build<T>(Read(path), path);

    /// <summary>Builds the network of an imported graph.</summary>
    public static Sequential<T> Build<T>(OnnxImported imported, string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(imported);
        if (imported.Description.Dtype != ModelDescription.DtypeOf<T>())
            throw new InvalidFileException($"{path}: the model is {imported.Description.Dtype}; import it as " +
                $"Sequential<{(imported.Description.Dtype == "float32" ? "float" : "double")}>");
        Sequential<T> net;
        try { net = imported.Description.Build<T>(new Rng(0)); }
        catch (InvalidInputException e) { throw new InvalidFileException($"{path}: {e.Message}", e); }
        ModelFile.Assign(path, ModelFile.Tensors(net), imported.Tensors, "layers.");
        return net;
    }

    private sealed partial class Importer(OnnxModel model, string where)
    {
        private readonly Dictionary<string, OnnxTensor> _constants = [];
        private readonly List<LayerDescription> _layers = [];
        private readonly List<SafeTensors.Entry> _tensors = [];
        private readonly HashSet<OnnxNode> _done = [];
        private bool _f32;
        private int _rank;
        private OnnxNode? _softmax;

        public OnnxImported Run()
        {
            // Names are given once (ONNX's graphs are in static single assignment), attributes once per node: the reader
            // does not choose between two values.
            foreach (var t in model.Initializers)
                if (!_constants.TryAdd(t.Name, t))
                    throw new InvalidFileException($"{where}: the initializer '{t.Name}' is given twice");
            foreach (var n in model.Nodes)
            {
                if (n.Attributes.GroupBy(a => a.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
                    throw Unsupported(n, $"gives the attribute '{twice.Key}' twice");
            }
            foreach (var n in model.Nodes)
            {
                if (n.Domain is not ("" or "ai.onnx"))
                    throw Unsupported(n, $"is in the domain '{n.Domain}', not the standard ONNX one");
                if (n.OpType != "Constant") continue;
                var value = n.Attribute("value")?.T
                    ?? (n.Attribute("value_float") is { } f ? new OnnxTensor { DataType = OnnxTensor.Float, Values = [f.F] } : null)
                    ?? (n.Attribute("value_int") is { } i ? new OnnxTensor { DataType = OnnxTensor.Int64, Integers = [i.I] } : null)
                    ?? (n.Attribute("value_ints") is { } v
                        ? new OnnxTensor { DataType = OnnxTensor.Int64, Dims = [v.Ints.Length], Integers = v.Ints } : null)
                    ?? throw Unsupported(n, "holds a kind of constant Backprop does not read");
                if (n.Outputs.Count != 1) throw Unsupported(n, "has other than one output");
                if (!_constants.TryAdd(n.Outputs[0], value)) throw Unsupported(n, $"sets '{n.Outputs[0]}', which is already given");
                _done.Add(n);
            }
            var inputs = model.Inputs.Where(i => !_constants.ContainsKey(i.Name)).ToList();
            if (inputs.Count != 1)
                throw new InvalidFileException($"{where}: the graph has {inputs.Count} inputs besides its weights; a network takes one");
            var input = inputs[0];
            _f32 = input.ElementType switch
            {
                OnnxTensor.Float => true,
                OnnxTensor.Double => false,
                _ => throw new InvalidFileException($"{where}: the input '{input.Name}' has element type {input.ElementType}; only " +
                    "float32 and float64 networks are imported"),
            };
            _rank = input.Shape.Count;
            if (_rank is not (2 or 4)) throw new InvalidFileException($"{where}: the input '{input.Name}' has rank {_rank}; a network " +
                "takes (N, D) or images (N, C, H, W)");
            string current = input.Name;
            var outputs = model.Outputs.Select(o => o.Name).ToHashSet();
            foreach (var n in model.Nodes)
            {
                if (_done.Contains(n)) continue;
                if (_softmax is not null) throw Unsupported(n, "comes after the final Softmax");
                if (!n.Inputs.Contains(current))
                    throw Unsupported(n, $"does not continue the chain from '{current}': the graph branches or its nodes are out of " +
                        "order, which a Sequential network cannot represent");
                current = Step(n, current);
            }
            if (!outputs.Contains(current) && _softmax is null)
                throw new InvalidFileException($"{where}: the chain ends at '{current}', which is not a graph output");
            string loss = model.Metadata.TryGetValue("backprop.loss", out var l) && Kinds.IsLoss(l) ? l : "softmax_cross_entropy";
            return new OnnxImported(new ModelDescription(_f32 ? "float32" : "float64", _layers, loss), _tensors);
        }

        // One layer from the node that reads `current` (and the nodes of its pattern); returns the new current value.
        private string Step(OnnxNode n, string x)
        {
            _done.Add(n);
            switch (n.OpType)
            {
                case "Identity":
                    return Out(n);
                case "Softmax":
                    // the probabilities at the end (beside the logits or alone): the loss's softmax, not a layer
                    if (Consumers(Out(n)).Count > 0 || !IsOutput(Out(n)))
                        throw Unsupported(n, "is a Softmax the chain continues from; Backprop's networks end in logits (the loss " +
                            "applies the softmax)");
                    if ((n.Attribute("axis")?.I ?? -1) is not (1 or -1) || _rank != 2) throw Unsupported(n, "is not over the classes");
                    _softmax = n;
                    return x;
                case "Flatten":
                case "Reshape":
                    long? features = CheckFlatten(n);
                    var next = Consumers(Out(n));
                    if (next.Count == 1 && next[0].OpType is "Gemm" or "MatMul")
                    {
                        _done.Add(next[0]);
                        string y = next[0].OpType == "Gemm" ? Gemm(next[0], Out(n)) : MatMul(next[0], Out(n));
                        int inputs = (int)_layers[^1].Hyperparameters["inputs"];
                        if (features is { } f && f != inputs)
                            throw Unsupported(n, $"reshapes to {f} features per sample, but {next[0].Describe()} takes {inputs}");
                        return y;
                    }
                    if (next.Count == 1 && next[0].OpType == "BatchNormalization" && _rank == 4)
                        throw Unsupported(next[0], "normalizes a flattened image without restoring its shape (Shape … Reshape)");
                    _rank = 2;   // a flatten the next fully connected layer would do anyway
                    return Out(n);
                case "Shape":
                {
                    var flatten = Consumers(x).FirstOrDefault(c => c.OpType == "Flatten" && !_done.Contains(c))
                        ?? throw Unsupported(n, "reads the shape of the chain, which only a per-feature batch normalization does");
                    _done.Add(flatten);
                    CheckFlatten(flatten);
                    var bn = Single(Out(flatten), "BatchNormalization", flatten);
                    var reshape = Single(Out(bn), "Reshape", bn);
                    if (reshape.Inputs.Count < 2 || reshape.Inputs[1] != Out(n)) throw Unsupported(reshape,
                        "does not restore the shape");
                    _done.Add(bn);
                    _done.Add(reshape);
                    BatchNorm(bn, "batch_norm");
                    return Out(reshape);
                }
                case "Gemm": return Gemm(n, x);
                case "MatMul": return MatMul(n, x);
                case "Relu": return Add(n, "relu");
                case "Tanh": return Add(n, "tanh");
                case "Sigmoid":
                {
                    var mul = Consumers(Out(n)).SingleOrDefault();
                    if (mul is { OpType: "Mul" } && mul.Inputs.Contains(x) && mul.Inputs.Contains(Out(n)))
                    {
                        _done.Add(mul);
                        return Add(mul, "silu");
                    }
                    return Add(n, "sigmoid");
                }
                case "LeakyRelu": return Add(n, "leaky_relu", ("alpha", Real(n.Attribute("alpha")?.F ?? 0.01f)));
                case "Elu": return Add(n, "elu", ("alpha", Real(n.Attribute("alpha")?.F ?? 1f)));
                case "Gelu":
                    string approximate = n.Attribute("approximate")?.S ?? "none";
                    if (approximate is not ("none" or "tanh")) throw Unsupported(n, $"has approximate '{approximate}'");
                    return Add(n, "gelu", ("approximate", approximate));
                case "Softplus": return Add(n, "softplus", ("beta", 1.0), ("threshold", 20.0));
                case "Div": return GeluErf(n, x);
                case "Mul": return MulPattern(n, x);
                case "Greater": return WherePattern(n, x);
                case "Exp": return EluPattern(n, x);
                case "BatchNormalization": return BatchNorm(n, _rank == 4 ? "batch_norm_2d" : "batch_norm");
                case "Dropout":
                    double ratio = n.Inputs.Count > 1 && n.Inputs[1].Length > 0 ? Scalar(n, n.Inputs[1]) : 0.5;
                    if (n.Inputs.Count > 2 && n.Inputs[2].Length > 0) throw Unsupported(n, "has a training_mode input");
                    return Add(n, "dropout", ("p", ratio));
                case "Pad": return Pad(n);
                case "Conv": return Conv(n, x);
                case "MaxPool":
                case "AveragePool":
                    return Pool(n);
                default:
                    throw Unsupported(n, "is an operator Backprop does not import");
            }
        }

        private string Gemm(OnnxNode n, string x)
        {
            if ((n.Attribute("alpha")?.F ?? 1) != 1 || (n.Attribute("beta")?.F ?? 1) != 1) throw Unsupported(n, "has alpha or beta ≠ 1");
            if ((n.Attribute("transA")?.I ?? 0) != 0) throw Unsupported(n, "transposes the input (transA = 1)");
            if (n.Inputs[0] != x) throw Unsupported(n, "multiplies the weights by the input from the left");
            bool transB = (n.Attribute("transB")?.I ?? 0) != 0;
            var W = Const(n, n.Inputs[1], 2);
            var b = n.Inputs.Count > 2 && n.Inputs[2].Length > 0 ? Const(n, n.Inputs[2], 1) : null;
            return Dense(n, W, transB, b, Out(n));
        }

        private string MatMul(OnnxNode n, string x)
        {
            if (n.Inputs[0] != x) throw Unsupported(n, "multiplies the weights by the input from the left");
            var W = Const(n, n.Inputs[1], 2);
            var add = Consumers(Out(n)).SingleOrDefault();
            OnnxTensor? b = null;
            string output = Out(n);
            if (add is { OpType: "Add" } && add.Inputs.Count == 2)
            {
                string other = add.Inputs[0] == Out(n) ? add.Inputs[1] : add.Inputs[0];
                if (_constants.ContainsKey(other))
                {
                    b = Const(add, other, 1);
                    _done.Add(add);
                    output = Out(add);
                }
            }
            return Dense(n, W, false, b, output);
        }

        private string Dense(OnnxNode n, OnnxTensor W, bool transB, OnnxTensor? b, string output)
        {
            int inputs = (int)W.Dims[transB ? 1 : 0], outputs = (int)W.Dims[transB ? 0 : 1];
            var w = new double[W.Values.Length];
            for (int i = 0; i < inputs; i++)
                for (int j = 0; j < outputs; j++) w[i * outputs + j] = transB ? W.Values[j * inputs + i] : W.Values[i * outputs + j];
            if (b is not null && b.Count != outputs) throw Unsupported(n, $"has a bias of {b.Count} values for {outputs} outputs");
            int index = _layers.Count;
            Tensor($"layers.{index}.W", [inputs, outputs], w);
            Tensor($"layers.{index}.b", [outputs], b?.Values ?? new double[outputs]);
            _layers.Add(new LayerDescription("fully_connected", new Dictionary<string, object>
            {
                ["inputs"] = inputs,
                ["outputs"] = outputs
            }));
            _rank = 2;
            return output;
        }

        private string Conv(OnnxNode n, string x)
        {
            var W = Const(n, n.Inputs[1], 4);
            int fn = (int)W.Dims[0], c = (int)W.Dims[1], fh = (int)W.Dims[2], fw = (int)W.Dims[3];
            var b = n.Inputs.Count > 2 && n.Inputs[2].Length > 0 ? Const(n, n.Inputs[2], 1) : null;
            if (b is not null && b.Count != fn) throw Unsupported(n, $"has a bias of {b.Count} values for {fn} filters");
            if ((n.Attribute("group")?.I ?? 1) != 1) throw Unsupported(n, "is a grouped convolution");
            if (n.Attribute("dilations") is { } d && d.Ints.Any(v => v != 1)) throw Unsupported(n, "is dilated");
            var (stride, pad) = Window(n);
            if (n.Attribute("kernel_shape") is { } k && (k.Ints.Length != 2 || k.Ints[0] != fh || k.Ints[1] != fw))
                throw Unsupported(n, "has a kernel_shape other than its weights'");
            int index = _layers.Count;
            Tensor($"layers.{index}.W", [fn, c, fh, fw], W.Values);
            Tensor($"layers.{index}.b", [fn], b?.Values ?? new double[fn]);
            _layers.Add(new LayerDescription("convolution", new Dictionary<string, object>
            {
                ["filters"] = fn,
                ["channels"] = c,
                ["kernel_h"] = fh,
                ["kernel_w"] = fw,
                ["stride"] = stride,
                ["pad"] = pad,
            }));
            _rank = 4;
            return Out(n);
        }

        // PyTorch writes an average pooling as Pad (zeros) + AveragePool: zeros counted in the mean are Backprop's padding.
        private string Pad(OnnxNode n)
        {
            if ((n.Attribute("mode")?.S ?? "constant") != "constant") throw Unsupported(n, "pads by reflection or edge values");
            if (n.Inputs.Count > 2 && n.Inputs[2].Length > 0 && Scalar(n, n.Inputs[2]) != 0) throw Unsupported(n, "pads with a value ≠ 0");
            if (n.Inputs.Count > 3 && n.Inputs[3].Length > 0) throw Unsupported(n, "pads chosen axes only");
            var pads = n.Inputs.Count > 1 ? Const(n, n.Inputs[1], 1, integers: true).Integers : n.Attribute("pads")?.Ints ?? [];
            if (pads.Length != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0
                || new[] { pads[2], pads[3], pads[6], pads[7] }.Distinct().Count() != 1)
                throw Unsupported(n, $"pads ({string.Join(", ", pads)}); only the same padding on every side of an image is imported");
            int p = (int)pads[2];
            if (p == 0) return Out(n);
            var pool = Consumers(Out(n)).SingleOrDefault();
            if (pool is not { OpType: "AveragePool" } || (pool.Attribute("pads")?.Ints ?? [0, 0, 0, 0]).Any(v => v != 0))
                throw Unsupported(n, "pads zeros before something other than an unpadded average pooling");
            _done.Add(pool);
            return Pool(pool, p);
        }

        private string Pool(OnnxNode n, int extraPad = 0)
        {
            var k = n.Attribute("kernel_shape") ?? throw Unsupported(n, "has no kernel_shape");
            if (k.Ints.Length != 2) throw Unsupported(n, "is not a 2-D pooling");
            if ((n.Attribute("ceil_mode")?.I ?? 0) != 0) throw Unsupported(n, "rounds its output size up (ceil_mode = 1)");
            if (n.Attribute("dilations") is { } d && d.Ints.Any(v => v != 1)) throw Unsupported(n, "is dilated");
            if ((n.Attribute("storage_order")?.I ?? 0) != 0 || n.Outputs.Count > 1) throw Unsupported(n, "returns indices");
            var (stride, pad) = Window(n);
            bool max = n.OpType == "MaxPool";
            if (!max && pad > 0 && (n.Attribute("count_include_pad")?.I ?? 0) == 0)
                throw Unsupported(n, "divides by the cells inside the input (count_include_pad = 0); Backprop's average pooling " +
                    "divides by the whole window");
            _rank = 4;
            return Add(n, max ? "max_pooling" : "average_pooling", ("pool_h", (int)k.Ints[0]), ("pool_w", (int)k.Ints[1]),
                ("stride", stride), ("pad", pad + extraPad));
        }

        // One stride and one pad for both axes and both sides, as Backprop's layers take them.
        private (int Stride, int Pad) Window(OnnxNode n)
        {
            if ((n.Attribute("auto_pad")?.S ?? "NOTSET") is not ("NOTSET" or "VALID"))
                throw Unsupported(n, $"pads automatically (auto_pad {n.Attribute("auto_pad")!.S})");
            var s = n.Attribute("strides")?.Ints ?? [1, 1];
            var p = n.Attribute("pads")?.Ints ?? [0, 0, 0, 0];
            if (s.Length != 2 || s[0] != s[1]) throw Unsupported(n, $"has strides ({string.Join(", ", s)}); Backprop's layers take one " +
                "stride for both axes");
            if (p.Length != 4 || p.Distinct().Count() != 1) throw Unsupported(n, $"has pads ({string.Join(", ", p)}); Backprop's " +
                "layers pad every side alike");
            return ((int)s[0], (int)p[0]);
        }

        private string BatchNorm(OnnxNode n, string kind)
        {
            if (n.Inputs.Count != 5) throw Unsupported(n, "has other than five inputs");
            if (n.Outputs.Count > 1 && n.Outputs.Skip(1).Any(o => o.Length > 0)) throw Unsupported(n, "is in training mode");
            if ((n.Attribute("training_mode")?.I ?? 0) != 0) throw Unsupported(n, "is in training mode (training_mode = 1)");
            var gamma = Const(n, n.Inputs[1], 1);
            int count = (int)gamma.Count;
            int index = _layers.Count;
            string[] names = ["gamma", "beta", "running_mean", "running_var"];
            for (int i = 0; i < 4; i++)
            {
                var t = Const(n, n.Inputs[i + 1], 1);
                if (t.Count != count) throw Unsupported(n, $"has {names[i]} of {t.Count} values for {count}");
                Tensor($"layers.{index}.{names[i]}", [count], t.Values);
            }
            _layers.Add(new LayerDescription(kind, new Dictionary<string, object>
            {
                [kind == "batch_norm" ? "features" : "channels"] = count,
                ["momentum"] = Real(n.Attribute("momentum")?.F ?? 0.9f),
                ["eps"] = Real(n.Attribute("epsilon")?.F ?? 1e-5f),
            }));
            return Out(n);
        }

        /// <summary>Checks that <paramref name="n"/> flattens each sample; returns the features per sample where it fixes them.</summary>
        private long? CheckFlatten(OnnxNode n)
        {
            if (n.OpType == "Flatten")
            {
                if ((n.Attribute("axis")?.I ?? 1) != 1) throw Unsupported(n, "flattens from an axis other than 1");
                return null;
            }
            // Reshape by a constant (N, −1) or (0, −1) or (−1, K) shape: a flatten per sample.
            var shape = Const(n, n.Inputs[1], 1, integers: true).Integers;
            if (shape.Length != 2 || !((shape[0] is 0 or -1 || shape[0] > 0) && (shape[1] == -1 || shape[1] > 0)) || shape[0] == -1
                && shape[1] == -1)
                throw Unsupported(n, $"reshapes to ({string.Join(", ", shape)}), which is not a flatten per sample");
            if (shape.Any(d => d > int.MaxValue))
                throw Unsupported(n, $"reshapes to ({string.Join(", ", shape)}), a size beyond any tensor");
            return shape[1] > 0 ? shape[1] : null;
        }

        private string Add(OnnxNode n, string kind, params (string Name, object Value)[] values)
        {
            _layers.Add(new LayerDescription(kind, values.ToDictionary(v => v.Name, v => v.Value)));
            return Out(n);
        }

        private void Tensor(string name, int[] shape, double[] values) => _tensors.Add(_f32
            ? new SafeTensors.Entry(name, shape, values.Select(v => (float)v).ToArray(), null)
            : new SafeTensors.Entry(name, shape, null, values));

        private OnnxTensor Const(OnnxNode n, string name, int rank, bool integers = false)
        {
            if (!_constants.TryGetValue(name, out var t)) throw Unsupported(n,
                $"takes '{name}', which is not a constant (a weight computed " +
                "at run time, or a second input)");
            if (t.Dims.Length != rank) throw Unsupported(n, $"takes '{name}' of rank {t.Dims.Length} where {rank} is needed");
            if (integers ? t.DataType is not (OnnxTensor.Int64 or OnnxTensor.Int32)
                : t.DataType != (_f32 ? OnnxTensor.Float : OnnxTensor.Double))
                throw Unsupported(n, $"takes '{name}' of element type {t.DataType}, not the network's");
            return t;
        }

        private double Scalar(OnnxNode n, string name)
        {
            if (!_constants.TryGetValue(name, out var t) || t.Values.Length != 1)
                throw Unsupported(n, $"takes '{name}', which is not a constant number");
            return t.DataType == OnnxTensor.Float ? Real((float)t.Values[0]) : t.Values[0];
        }

        private static bool Near(double a, double b) => Math.Abs(a - b) <= 1e-6 * Math.Max(1, Math.Abs(b));

        // A float32 number as the decimal it was written from (0.3f reads back as 0.3, not 0.30000001192092896).
        private static double Real(float f) => double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

        private double Real(double v) => _f32 ? Real((float)v) : v;

        private List<OnnxNode> Consumers(string value) => model.Nodes.Where(c => c.Inputs.Contains(value) && !_done.Contains(c)).ToList();

        private OnnxNode Single(string value, string op, OnnxNode after)
        {
            var c = Consumers(value);
            if (c.Count != 1 || c[0].OpType != op)
                throw Unsupported(after, $"is followed by {(c.Count == 0 ? "nothing" : string.Join(", ",
                    c.Select(x => x.OpType)))} where " +
                    $"{op} belongs");
            return c[0];
        }

        private static string Other(OnnxNode n, string value) => n.Inputs.Count == 2 ? (n.Inputs[0] == value
            ? n.Inputs[1] : n.Inputs[0]) : "";

        private bool IsOutput(string value) => model.Outputs.Any(o => o.Name == value);

        private static string Out(OnnxNode n) => n.Outputs.Count > 0 ? n.Outputs[0]
            : throw new InvalidFileException($"{n.Describe()} has no output");

        private InvalidFileException Unsupported(OnnxNode n, string why) => new($"{where}: {n.Describe()} {why}");
    }
}
