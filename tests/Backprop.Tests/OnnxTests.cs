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
    // Every registered kind of the library, on each of its samples (LayerKind.Examples): the registry, not a hand list.
    public static TheoryData<string, int> Kinds()
    {
        var data = new TheoryData<string, int>();
        foreach (var k in Models.Kinds.Layers.Where(k => k.LayerType.Assembly == typeof(Layer<>).Assembly))
            for (int i = 0; i < k.Examples.Count; i++) data.Add(k.Name, i);
        return data;
    }

    // The sample's layer between its input and a fully connected layer to five logits, with random weights and statistics.
    internal static (Sequential<T> Net, int[] Sample) NetworkWith<T>(string kind, int example, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng((ulong)seed + 1);
        var random = new Random(seed);
        var k = Models.Kinds.Layer(kind);
        var sample = k.Examples[example];
        var layer = k.Create<T>(Models.Kinds.Configure(k, sample.Hyperparameters, sample.Label, rng));
        // An image stays an image; anything else is (N, D), as the graph's input declares it.
        int[] shape = sample.InputShape.Length == 4 ? sample.InputShape[1..] : [sample.InputShape[1..].Aggregate(1, (a, d) => a * d)];
        layer.Training = false;
        int features = layer.Forward(Tensor<T>.Zeros([1, .. shape])).Length;
        var layers = new List<Layer<T>> { layer, new FullyConnected<T>(features, 5, rng: rng) };
        var net = new Sequential<T>(layers, new SoftmaxCrossEntropy<T>());
        // Running statistics and normalization parameters away from their defaults.
        foreach (var l in layers)
        {
            foreach (var p in l.Parameters)
                if (p.Name is "gamma" or "beta") Fill(p.Value, random, 0.5, 1.5);
            foreach (var (name, value) in l.Buffers) Fill(value, random, name == "running_var" ? 0.5 : -0.5,
                name == "running_var" ? 2 : 0.5);
        }
        return (net, shape);
    }

    private static void Fill<T>(Tensor<T> t, Random random, double lo, double hi) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < t.Length; i++) t.Span[i] = T.CreateTruncating(lo + (hi - lo) * random.NextDouble());
    }

    internal static Tensor<T> Input<T>(int[] sample, int batch, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = TestUtil.Random<T>(new Random(seed), [batch, .. sample]);
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
    public void Every_kind_runs_in_onnx_runtime_as_in_backprop(string kind, int example)
    {
        Check<float>();
        Check<double>();

        void Check<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (net, sample) = NetworkWith<T>(kind, example, 3);
            foreach (int opset in new[] { 17, 20 })
            {
                // ONNX Runtime's CPU kernels of Conv, MaxPool, AveragePool and Erf (also inside its Gelu) are float32 only: a
                // float64 model of images or GELU is checked by its structure (the float32 export's, which runs) and by
                // importing it back below.
                // ONNX Runtime's LayerNormalization takes the variance as E[x²] − E[x]², 10⁻¹⁰ off the two-pass variance in float64
                // (beyond this test's 10⁻¹²), so layer_norm's float64 model is checked the same way.
                if (typeof(T) == typeof(double) && (sample.Length == 3 || kind is "gelu" or "layer_norm"))
                {
                    var f32 = OnnxFile.ToModel(NetworkWith<float>(kind, example, 3).Net, new OnnxExportOptions(opset)).Nodes
                        .Select(n => n.OpType);
                    var f64 = OnnxFile.ToModel(net, new OnnxExportOptions(opset)).Nodes.Select(n => n.OpType);
                    Assert.Equal(f32, f64);
                    continue;
                }
                string path = Path.Combine(Path.GetTempPath(), $"bp-{kind}{example}-{typeof(T).Name}-{opset}-{Environment.ProcessId}.onnx");
                try
                {
                    OnnxFile.Export(net, path, new OnnxExportOptions(opset, Probabilities: true));
                    foreach (int batch in new[] { 1, 37 })
                    {
                        var x = Input<T>(sample, batch, batch);
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
    public void Export_import_export_gives_the_same_graph_and_tensors_and_the_same_network(string kind, int example)
    {
        RoundTrip<float>();
        RoundTrip<double>();

        void RoundTrip<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (net, sample) = NetworkWith<T>(kind, example, 5);
            foreach (int opset in new[] { 17, 20 })
            {
                string a = Path.Combine(Path.GetTempPath(),
                    $"bp-rt-{kind}{example}-{typeof(T).Name}-{opset}-{Environment.ProcessId}-a.onnx");
                string b = a.Replace("-a.onnx", "-b.onnx", StringComparison.Ordinal);
                try
                {
                    OnnxFile.Export(net, a, new OnnxExportOptions(opset, Probabilities: true));
                    var back = OnnxFile.Import<T>(a);
                    Assert.True(net.Description == back.Description, $"{net.Description.ToJson()}\n{back.Description.ToJson()}");
                    OnnxFile.Export(back, b, new OnnxExportOptions(opset, Probabilities: true));
                    Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
                    var x = Input<T>(sample, 37, 2);
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
