using Backprop.Gradients;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;

namespace Backprop.Tests;

/// <summary>
/// global_average_pooling and layer_norm against naive references in both precisions (torch's definitions: the mean of
/// each channel; (x − μ)/√(σ² + eps)·γ + β over each sample with the biased variance), on awkward shapes (batch 1, one
/// channel, one value); their gradients numerically on images; and an image network with both through ONNX Runtime and
/// back.
/// </summary>
public class NewKindTests
{
    public static TheoryData<int[]> ImageShapes() =>
        new() { new[] { 1, 1, 1, 1 }, new[] { 1, 3, 5, 7 }, new[] { 4, 2, 1, 17 }, new[] { 2, 17, 3, 3 } };

    [Theory]
    [MemberData(nameof(ImageShapes))]
    public void Global_average_pooling_is_each_channels_mean(int[] shape)
    {
        Check<float>(1e-6);
        Check<double>(1e-14);

        void Check<T>(double tol) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var x = TestUtil.Random<T>(new Random(shape.Sum()), shape);
            var layer = new GlobalAveragePooling<T>();
            var y = layer.Forward(x);
            Assert.Equal([shape[0], shape[1], 1, 1], y.Shape.ToArray());
            int area = shape[2] * shape[3];
            for (int p = 0; p < shape[0] * shape[1]; p++)
            {
                double mean = 0;
                for (int k = 0; k < area; k++) mean += double.CreateTruncating(x.Span[p * area + k]);
                Assert.Equal(mean / area, double.CreateTruncating(y.Span[p]), tol);
            }
            var dout = TestUtil.Random<T>(new Random(1), shape[0], shape[1], 1, 1);
            var dx = layer.Backward(dout);
            for (int i = 0; i < dx.Length; i++)
                Assert.Equal(double.CreateTruncating(dout.Span[i / area]) / area, double.CreateTruncating(dx.Span[i]), tol);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 7)]
    [InlineData(5, 17)]
    [InlineData(3, 33)]
    public void Layer_norm_matches_the_definition(int batch, int features)
    {
        var rng = new Random(batch * 100 + features);
        var x = TestUtil.Random<double>(rng, batch, features);
        var layer = new LayerNormalization<double>(features, eps: 1e-5);
        for (int j = 0; j < features; j++)
        {
            layer.Parameters[0].Value.Span[j] = rng.NextDouble() + 0.5;
            layer.Parameters[1].Value.Span[j] = rng.NextDouble() - 0.5;
        }
        var y = layer.Forward(x);
        var f32 = new LayerNormalization<float>(features, eps: 1e-5);
        layer.Parameters[0].Value.Span.ToArray().Select(v => (float)v).ToArray().CopyTo(f32.Parameters[0].Value.Span);
        layer.Parameters[1].Value.Span.ToArray().Select(v => (float)v).ToArray().CopyTo(f32.Parameters[1].Value.Span);
        var y32 = f32.Forward(new Tensor<float>(x.Span.ToArray().Select(v => (float)v).ToArray(), batch, features));
        for (int n = 0; n < batch; n++)
        {
            var row = x.Span.Slice(n * features, features).ToArray();
            double mean = row.Average(), variance = row.Select(v => (v - mean) * (v - mean)).Average();
            for (int j = 0; j < features; j++)
            {
                double expected = (row[j] - mean) / Math.Sqrt(variance + 1e-5) * layer.Parameters[0].Value.Span[j]
                    + layer.Parameters[1].Value.Span[j];
                Assert.Equal(expected, y[n, j], 12);
                Assert.Equal(expected, y32[n, j], 4);
            }
        }
    }

    [Fact]
    public void Both_kinds_pass_the_numerical_gradient_check_on_images()
    {
        var rng = new Random(7);
        var results = new List<GradientCheckResult>();
        results.AddRange(GradientCheck.Layer(new GlobalAveragePooling<double>(), TestUtil.Random<double>(rng, 2, 3, 4, 5)));
        var ln = new LayerNormalization<double>(3 * 2 * 5, eps: 0.01);
        for (int j = 0; j < ln.Features; j++) ln.Parameters[0].Value.Span[j] = 0.5 + rng.NextDouble();
        results.AddRange(GradientCheck.Layer(ln, TestUtil.Random<double>(rng, 2, 3, 2, 5)));
        Assert.Equal(4, results.Count);   // GAP's x; layer norm's x, gamma, beta
        foreach (var r in results)
            Assert.True(r.MaxRelativeError < GradientCheckSuite.Tolerance, $"{r.Target} {r.Parameter}: {r.MaxRelativeError}");
    }

    [Fact]
    public void An_image_network_with_both_runs_in_onnx_runtime_and_imports_back()
    {
        var rng = new Rng(3);
        var net = new Sequential<float>([new Convolution<float>(4, 2, 3, 3, pad: 1, rng: rng), new LayerNormalization<float>(4 * 5 * 6),
            new Relu<float>(), new GlobalAveragePooling<float>(), new FullyConnected<float>(4, 3, rng: rng)],
            new SoftmaxCrossEntropy<float>());
        var random = new Random(2);
        foreach (var p in net.Layers[1].Parameters)
            for (int i = 0; i < p.Value.Length; i++) p.Value.Span[i] = (float)(random.NextDouble() + 0.25);
        string path = Path.Combine(Path.GetTempPath(), $"bp-newkinds-{Environment.ProcessId}.onnx");
        try
        {
            net.ExportOnnx(path);
            var x = TestUtil.Random<float>(new Random(5), 3, 2, 5, 6);
            OnnxTests.Same(net.Infer(x), OnnxTests.RunOrt(path, x), "conv, layer norm, gap");
            var back = Sequential<float>.ImportOnnx(path);
            Assert.Equal(net.Description, back.Description);
            Assert.Equal(net.Infer(x).Span.ToArray(), back.Infer(x).Span.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
