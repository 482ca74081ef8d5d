using System.Numerics;
using Backprop.IO;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Backprop.Tests;

/// <summary>
/// Exported models run in ONNX Runtime and give Backprop's own inference outputs (within 1e-5 relative in float32, 1e-12
/// in float64), for batches of 1 and 37 through the same file; imported models are the same networks.
/// </summary>
public class OnnxTests
{
    // One small network per layer kind: the kind between shapes it accepts, with random weights and statistics.
    public static TheoryData<string> Kinds() => new(Models.Kinds.Layers
        .Where(k => k.LayerType.Assembly == typeof(Layer<>).Assembly && k.Name != "fully_connected").Select(k => k.Name));

    internal static Sequential<T> NetworkWith<T>(string kind, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng((ulong)seed + 1);
        var random = new Random(seed);
        var layers = new List<Layer<T>>();
        bool images = kind is "convolution" or "max_pooling" or "average_pooling" or "batch_norm_2d";
        if (images)
        {
            layers.Add(new Convolution<T>(3, 2, 3, 3, stride: 1, pad: 1, rng: rng));
            var config = Models.Kinds.Configure(Models.Kinds.Layer(kind), kind switch
            {
                "convolution" => new Dictionary<string, object>
                {
                    ["filters"] = 4,
                    ["channels"] = 3,
                    ["kernel_h"] = 2,
                    ["kernel_w"] = 3,
                    ["stride"] = 2,
                    ["pad"] = 1
                },
                "batch_norm_2d" => new Dictionary<string, object> { ["channels"] = 3 },
                _ => new Dictionary<string, object> { ["pool_h"] = 2, ["pool_w"] = 3, ["stride"] = 2, ["pad"] = 1 },
            }, "test", rng);
            layers.Add(Models.Kinds.Layer(kind).Create<T>(config));
            int features = layers[1].Forward(layers[0].Forward(Tensor<T>.Zeros(1, 2, 7, 8))).Length;
            layers.Add(new FullyConnected<T>(features, 5, rng: rng));
        }
        else
        {
            layers.Add(new FullyConnected<T>(6, 7, rng: rng));
            var hp = kind is "batch_norm" ? new Dictionary<string, object> { ["features"] = 7 } : new Dictionary<string, object>();
            if (kind == "leaky_relu") hp["alpha"] = 0.2;
            if (kind == "elu") hp["alpha"] = 0.7;
            if (kind == "softplus") { hp["beta"] = 2.0; hp["threshold"] = 1.5; }
            if (kind == "dropout") hp["p"] = 0.3;
            layers.Add(Models.Kinds.Layer(kind).Create<T>(Models.Kinds.Configure(Models.Kinds.Layer(kind), hp, "test", rng)));
            layers.Add(new FullyConnected<T>(7, 5, rng: rng));
        }
        var net = new Sequential<T>(layers, new SoftmaxCrossEntropy<T>());
        // Running statistics and normalization parameters away from their defaults.
        foreach (var layer in layers)
        {
            foreach (var p in layer.Parameters)
                if (p.Name is "gamma" or "beta") Fill(p.Value, random, 0.5, 1.5);
            foreach (var (name, value) in layer.Buffers) Fill(value, random, name == "running_var" ? 0.5 : -0.5,
                name == "running_var" ? 2 : 0.5);
        }
        return net;
    }

    private static void Fill<T>(Tensor<T> t, Random random, double lo, double hi) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < t.Length; i++) t.Span[i] = T.CreateTruncating(lo + (hi - lo) * random.NextDouble());
    }

    internal static Tensor<T> Input<T>(Sequential<T> net, int batch, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var first = net.Layers[0];
        var x = first is Convolution<T> c ? TestUtil.Random<T>(new Random(seed), batch, c.W.Dim(1), 7, 8)
            : TestUtil.Random<T>(new Random(seed), batch, ((FullyConnected<T>)first).W.Dim(0));
        for (int i = 0; i < x.Length; i++) x.Span[i] *= T.CreateTruncating(2);
        return x;
    }

    internal static T[] RunOrt<T>(string path, Tensor<T> x, string output = "logits") where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var session = new InferenceSession(path);
        var input = new DenseTensor<T>(x.Span.ToArray(), x.Shape.ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", input)]);
        return results.First(r => r.Name == output).AsEnumerable<T>().ToArray();
    }

    internal static void Same<T>(Tensor<T> expected, T[] actual, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double tol = typeof(T) == typeof(float) ? 1e-5 : 1e-12;
        Assert.Equal(expected.Length, actual.Length);
        // Relative to the largest output: a float32 sum's rounding error scales with its terms, and a logit near zero can be
        // the sum of large ones (SimpleConvNet's 4320 inputs on the 256-bit path: 5·10⁻⁵ off at −4.4 among logits up to 67,
        // both engines within 10⁻⁶ of the largest against float64).
        double scale = 1;
        for (int i = 0; i < actual.Length; i++) scale = Math.Max(scale, Math.Abs(double.CreateTruncating(expected.Span[i])));
        for (int i = 0; i < actual.Length; i++)
        {
            double e = double.CreateTruncating(expected.Span[i]), a = double.CreateTruncating(actual[i]);
            Assert.True(Math.Abs(e - a) <= tol * scale, $"{what}[{i}]: Backprop {e}, ONNX Runtime {a}");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_kind_runs_in_onnx_runtime_as_in_backprop(string kind)
    {
        Check<float>();
        Check<double>();

        void Check<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            var net = NetworkWith<T>(kind, 3);
            foreach (int opset in new[] { 17, 20 })
            {
                // ONNX Runtime's CPU kernels of Conv, MaxPool, AveragePool and Erf (also inside its Gelu) are float32 only: a float64 model
                // with
                // them is checked by its structure (the float32 export's, which runs) and by importing it back below.
                if (typeof(T) == typeof(double) && (net.Layers.Any(l => l is Convolution<T>) || kind == "gelu"))
                {
                    var f32 = OnnxFile.ToModel(NetworkWith<float>(kind, 3), new OnnxExportOptions(opset)).Nodes.Select(n => n.OpType);
                    var f64 = OnnxFile.ToModel(net, new OnnxExportOptions(opset)).Nodes.Select(n => n.OpType);
                    Assert.Equal(f32, f64);
                    continue;
                }
                string path = Path.Combine(Path.GetTempPath(), $"bp-{kind}-{typeof(T).Name}-{opset}-{Environment.ProcessId}.onnx");
                try
                {
                    OnnxFile.Export(net, path, new OnnxExportOptions(opset, Probabilities: true));
                    foreach (int batch in new[] { 1, 37 })
                    {
                        var x = Input(net, batch, batch);
                        var y = net.Infer(x);
                        Same(y, RunOrt(path, x), $"{kind} {typeof(T).Name} opset {opset} batch {batch}");
                        var p = net.Predict(x).Probabilities;
                        Same(p, RunOrt(path, x, "probabilities"), $"{kind} probabilities");
                    }
                }
                finally
                {
                    File.Delete(path);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Export_import_export_gives_the_same_graph_and_tensors_and_the_same_network(string kind)
    {
        RoundTrip<float>();
        RoundTrip<double>();

        void RoundTrip<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            var net = NetworkWith<T>(kind, 5);
            foreach (int opset in new[] { 17, 20 })
            {
                string a = Path.Combine(Path.GetTempPath(), $"bp-rt-{kind}-{typeof(T).Name}-{opset}-{Environment.ProcessId}-a.onnx");
                string b = a.Replace("-a.onnx", "-b.onnx", StringComparison.Ordinal);
                try
                {
                    OnnxFile.Export(net, a, new OnnxExportOptions(opset, Probabilities: true));
                    var back = OnnxFile.Import<T>(a);
                    Assert.Equal(net.Description, back.Description);
                    OnnxFile.Export(back, b, new OnnxExportOptions(opset, Probabilities: true));
                    Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
                    var x = Input(net, 37, 2);
                    Assert.Equal(net.Infer(x).Span.ToArray(), back.Infer(x).Span.ToArray());
                }
                finally
                {
                    File.Delete(a);
                    File.Delete(b);
                }
            }
        }
    }

    [Fact]
    public void A_network_that_starts_with_an_activation_takes_the_input_of_its_first_shaped_layer()
    {
        // ReLU first, then a convolution: the input is images, not (N, D).
        var rng = new Rng(6);
        var net = new Sequential<float>([new Relu<float>(), new Convolution<float>(3, 2, 3, 3, rng: rng),
            new FullyConnected<float>(3 * 5 * 6,
            4, rng: rng)], new SoftmaxCrossEntropy<float>());
        string path = Path.Combine(Path.GetTempPath(), $"bp-relu-first-{Environment.ProcessId}.onnx");
        try
        {
            net.ExportOnnx(path);
            Assert.Equal(4, OnnxModel.Parse(File.ReadAllBytes(path), path).Inputs[0].Shape.Count);
            var x = TestUtil.Random<float>(new Random(3), 5, 2, 7, 8);
            Same(net.Infer(x), RunOrt(path, x), "relu-first");
            Assert.Equal(net.Infer(x).Span.ToArray(), Sequential<float>.ImportOnnx(path).Infer(x).Span.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("simple_convnet")]
    [InlineData("deep_convnet")]
    [InlineData("mlp")]
    public void The_textbooks_networks_run_in_onnx_runtime_and_import_back(string name)
    {
        var net = name == "mlp" ? new MlpSpec { Sizes = [784, 50, 10] }.Build<float>(new Rng(1))
            : Architectures.Named(name)!.Build<float>(new Rng(1));
        // Trained a little (Adam on random batches), so that the weights are no longer their initial draws.
        var optimizer = new Backprop.Optimizers.Adam<float>(net.Parameters, lr: 0.01);
        var rng = new Random(4);
        for (int step = 0; step < 3; step++)
        {
            var xb = TestUtil.Random<float>(rng, name == "mlp" ? [20, 784] : [20, 1, 28, 28]);
            var tb = new Tensor<float>(Enumerable.Range(0, 20).Select(i => (float)(i % 10)).ToArray(), 20);
            net.Training = true;
            net.ComputeLoss(xb, tb);
            optimizer.Step(net);
        }
        string path = Path.Combine(Path.GetTempPath(), $"bp-{name}-{Environment.ProcessId}.onnx");
        try
        {
            net.ExportOnnx(path);
            foreach (int batch in new[] { 1, 37 })
            {
                var x = TestUtil.Random<float>(new Random(batch), name == "mlp" ? [batch, 784] : [batch, 1, 28, 28]);
                Same(net.Infer(x), RunOrt(path, x), $"{name} batch {batch}");
                Assert.Equal(net.Infer(x).Span.ToArray(), Sequential<float>.ImportOnnx(path).Infer(x).Span.ToArray());
            }
            var model = OnnxModel.Parse(File.ReadAllBytes(path), path);
            Assert.Equal("backprop", model.ProducerName);
            Assert.Equal("x", model.Inputs[0].Name);
            Assert.Equal("N", model.Inputs[0].Shape[0]);
            Assert.Equal("logits", model.Outputs[0].Name);
            Assert.Contains(model.Initializers, t => t.Name == "layers.0.W");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
