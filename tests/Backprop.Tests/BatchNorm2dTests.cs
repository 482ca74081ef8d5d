using System.Numerics;
using Backprop.Gradients;
using Backprop.Layers;

namespace Backprop.Tests;

/// <summary>
/// Batch normalization over channels against PyTorch's documented BatchNorm2d formula, written as plain loops: per
/// channel c, over every n, h, w: y = (x − E[x])/√(Var[x] + eps)·γ + β with the biased variance in training; running
/// statistics in inference. Gradients against numerical ones.
/// </summary>
public class BatchNorm2dTests
{
    private static (double[] Y, double[] Mean, double[] Var) Reference(double[] x, double[] g, double[] b, int N, int C, int S, double eps)
    {
        var y = new double[x.Length];
        var mean = new double[C];
        var var = new double[C];
        for (int c = 0; c < C; c++)
        {
            double s = 0;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < S; i++) s += x[(n * C + c) * S + i];
            mean[c] = s / (N * S);
            double q = 0;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < S; i++) q += Math.Pow(x[(n * C + c) * S + i] - mean[c], 2);
            var[c] = q / (N * S);
            for (int n = 0; n < N; n++)
                for (int i = 0; i < S; i++)
                    y[(n * C + c) * S + i] = (x[(n * C + c) * S + i] - mean[c]) / Math.Sqrt(var[c] + eps) * g[c] + b[c];
        }
        return (y, mean, var);
    }

    [Theory]
    [InlineData(2, 3, 4, 5)]
    [InlineData(1, 1, 1, 2)]     // one sample, one channel, two pixels
    [InlineData(5, 17, 3, 1)]    // a prime number of channels, a column of pixels
    [InlineData(3, 2, 7, 9)]
    public void Matches_the_documented_formula_in_training_and_inference(int N, int C, int H, int W)
    {
        Check<double>(1e-12);
        Check<float>(1e-5);

        void Check<T>(double tol) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rng = new Random(N * 100 + C * 10 + H);
            var layer = new BatchNormalization2d<T>(C, momentum: 0.8, eps: 1e-5);
            var gamma = TestUtil.Random<T>(rng, C);
            var beta = TestUtil.Random<T>(rng, C);
            gamma.Span.CopyTo(layer.gamma.Span);
            beta.Span.CopyTo(layer.beta.Span);
            var x = TestUtil.Random<T>(rng, N, C, H, W);
            for (int i = 0; i < x.Length; i++) x.Span[i] = x.Span[i] * T.CreateTruncating(3) + T.CreateTruncating(1.5);
            var (ey, mean, var) = Reference(TestUtil.ToDouble(x), TestUtil.ToDouble(gamma), TestUtil.ToDouble(beta), N, C, H * W, 1e-5);
            var y = layer.Forward(x);
            TestUtil.Close(ey, TestUtil.ToDouble(y), tol * 10, what: "training y");
            // running = 0.8·running + 0.2·batch, from running mean 0 and variance 1
            TestUtil.Close(mean.Select(m => 0.2 * m).ToArray(), TestUtil.ToDouble(layer.RunningMean), tol * 10, what: "running mean");
            TestUtil.Close(var.Select(v => 0.8 + 0.2 * v).ToArray(), TestUtil.ToDouble(layer.RunningVar), tol * 10, what: "running var");
            layer.Training = false;
            var yi = layer.Forward(x);
            var rm = TestUtil.ToDouble(layer.RunningMean);
            var rv = TestUtil.ToDouble(layer.RunningVar);
            var xd = TestUtil.ToDouble(x);
            var g = TestUtil.ToDouble(gamma);
            var b = TestUtil.ToDouble(beta);
            int S = H * W;
            var expected = xd.Select((v, i) => (v - rm[i / S % C]) / Math.Sqrt(rv[i / S % C] + 1e-5) * g[i / S % C] + b[i / S % C])
                .ToArray();
            TestUtil.Close(expected, TestUtil.ToDouble(yi), tol * 10, what: "inference y");
        }
    }

    [Fact]
    public void Channels_shared_between_cores_give_the_formulas_values_and_the_same_bits_on_one_and_two_threads()
    {
        // 9·5·29·31 values: above the size from which the channels are shared between the cores; 899 per run (not a
        // multiple of any vector width).
        const int N = 9, C = 5, H = 29, W = 31;
        var rng = new Random(12);
        var x = TestUtil.Random<double>(rng, N, C, H, W);
        var dout = TestUtil.Random<double>(rng, N, C, H, W);
        var runs = new List<double[]>[2];
        foreach (int threads in new[] { 1, 2 })
        {
            using var _ = TestUtil.Threads(threads);
            var layer = new BatchNormalization2d<double>(C);
            var y = layer.Forward(x).Span.ToArray();
            var dx = layer.Backward(dout).Span.ToArray();
            runs[threads - 1] = [y, dx, layer.Parameters[0].Grad.Span.ToArray(), layer.Parameters[1].Grad.Span.ToArray()];
            var (ey, _, _) = Reference(TestUtil.ToDouble(x), [.. Enumerable.Repeat(1.0, C)], new double[C], N, C, H * W, 1e-5);
            TestUtil.Close(ey, y, 1e-10, what: "y");
            // dβ = Σ dout per channel, dx from the textbook's formula with M = N·H·W
            int S = H * W, M = N * S;
            var d = TestUtil.ToDouble(dout);
            for (int c = 0; c < C; c++)
            {
                double sumD = 0, sumDX = 0;
                for (int n = 0; n < N; n++)
                    for (int i = 0; i < S; i++)
                    {
                        int k = (n * C + c) * S + i;
                        sumD += d[k];
                        sumDX += d[k] * ey[k];
                    }
                Assert.True(Math.Abs(sumD - runs[threads - 1][3][c]) < 1e-9, $"dβ[{c}]");
                Assert.True(Math.Abs(sumDX - runs[threads - 1][2][c]) < 1e-9, $"dγ[{c}]");
                double var = 0, mean = 0;
                for (int n = 0; n < N; n++) for (int i = 0; i < S; i++) mean += x.Span[(n * C + c) * S + i] / M;
                for (int n = 0; n < N; n++) for (int i = 0; i < S; i++) var += Math.Pow(x.Span[(n * C + c) * S + i] - mean, 2) / M;
                for (int n = 0; n < N; n++)
                    for (int i = 0; i < S; i++)
                    {
                        int k = (n * C + c) * S + i;
                        double expected = (d[k] - sumD / M - ey[k] * sumDX / M) / Math.Sqrt(var + 1e-5);
                        Assert.True(Math.Abs(expected - dx[k]) < 1e-9, $"dx[{k}]: {expected} vs {dx[k]}");
                    }
            }
        }
        for (int i = 0; i < runs[0].Count; i++) Assert.Equal(runs[0][i], runs[1][i]);
    }

    [Fact]
    public void Every_backward_pass_matches_numerical_gradients_in_training_and_inference()
    {
        var rng = new Random(4);
        foreach (bool training in new[] { true, false })
        {
            var layer = new BatchNormalization2d<double>(3);
            TestUtil.Random<double>(rng, 3).Span.CopyTo(layer.gamma.Span);
            TestUtil.Random<double>(rng, 3).Span.CopyTo(layer.beta.Span);
            layer.Training = training;
            var x = TestUtil.Random<double>(rng, 2, 3, 4, 5);
            foreach (var r in GradientCheck.Layer(layer, x, 6, target: layer.Kind))
                Assert.True(r.MaxRelativeError < 1e-7, $"training={training} {r.Parameter}: {r.MaxRelativeError:E2}");
        }
    }

    [Fact]
    public void Shapes_other_than_images_of_its_channels_are_clear_errors()
    {
        var layer = new BatchNormalization2d<double>(3);
        Assert.Throws<ShapeMismatchException>(() => layer.Forward(Tensor<double>.Zeros(2, 3)));
        Assert.Throws<ShapeMismatchException>(() => layer.Forward(Tensor<double>.Zeros(2, 4, 2, 2)));
        Assert.Throws<InvalidInputException>(() => new BatchNormalization2d<double>(0));
    }
}
