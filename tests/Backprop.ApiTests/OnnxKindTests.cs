using Backprop.Gradients;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Backprop.ApiTests;

/// <summary>
/// A layer kind a user registers carries its own ONNX form and samples: a network holding it exports to a file that ONNX
/// Runtime runs to Backprop's own outputs, and the gradient check covers it without being told.
/// </summary>
public class OnnxKindTests
{
    public OnnxKindTests() => ScaleKind.EnsureRegistered();

    [Fact]
    public void A_registered_kind_exports_to_onnx_and_runs_in_onnx_runtime_as_in_backprop()
    {
        var rng = new Rng(7);
        var scale = new Scale<float>(3);
        var random = new Random(2);
        for (int i = 0; i < 3; i++) scale.Parameters[0].Value.Span[i] = (float)(random.NextDouble() * 2 - 1);
        var net = new Sequential<float>([new FullyConnected<float>(4, 3, rng: rng), scale, new Relu<float>(),
            new FullyConnected<float>(3, 2, rng: rng)], new SoftmaxCrossEntropy<float>());
        string path = Path.Combine(Path.GetTempPath(), $"bp-scale-{Environment.ProcessId}.onnx");
        try
        {
            net.ExportOnnx(path);
            var x = new Tensor<float>([.. Enumerable.Range(0, 20).Select(i => (float)Math.Sin(i))], 5, 4);
            using var session = new InferenceSession(path);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x.Span.ToArray(), [5, 4]))]);
            var ort = results.First(r => r.Name == "logits").AsEnumerable<float>().ToArray();
            var own = net.Infer(x).Span.ToArray();
            Assert.Equal(own.Length, ort.Length);
            for (int i = 0; i < own.Length; i++) Assert.True(Math.Abs(own[i] - ort[i]) <= 1e-5, $"logits[{i}]: {own[i]} vs {ort[i]}");
            // Import knows the built-in kinds' forms only: the user's Mul is named, not mistaken for another layer.
            var e = Assert.Throws<InvalidFileException>(() => Sequential<float>.ImportOnnx(path));
            Assert.Contains("layers.1", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_gradient_check_covers_a_registered_kind_through_its_samples()
    {
        var rows = GradientCheckSuite.Run().Where(r => r.Target == "Scale (3 features)").ToList();
        Assert.Equal(["x", "s"], rows.Select(r => r.Parameter));
        Assert.All(rows, r => Assert.True(r.MaxRelativeError < GradientCheckSuite.Tolerance, $"{r.Parameter}: {r.MaxRelativeError}"));
    }

    [Fact]
    public void A_kind_without_an_onnx_form_is_named_when_exported()
    {
        var net = new Sequential<float>([new Square<float>()], new MeanSquaredError<float>());
        if (!Kinds.Names.Contains("square_no_onnx")) Kinds.Register(new SquareKind());
        var e = Assert.Throws<InvalidInputException>(() => net.ExportOnnx(Path.Combine(Path.GetTempPath(), "never.onnx")));
        Assert.Contains("square_no_onnx", e.Message);
        Assert.Contains("has no ONNX form", e.Message);
    }

    private sealed class Square<T> : ActivationLayer<T> where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        public override string Kind => "square_no_onnx";
        protected override void Apply(ReadOnlySpan<T> x, Span<T> y) { for (int i = 0; i < x.Length; i++) y[i] = x[i] * x[i]; }
        protected override void Derive(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx)
        { for (int i = 0; i < x.Length; i++) dx[i] = dout[i] * (x[i] + x[i]); }
    }

    private sealed class SquareKind() : LayerKind("square_no_onnx", "y = x²", typeof(Square<>))
    {
        public override bool IsActivation => true;
        public override Layer<T> Create<T>(LayerConfig config) => new Square<T>();
    }
}
