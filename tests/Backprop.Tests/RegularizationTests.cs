using Backprop.Gradients;
using Backprop.Layers;

namespace Backprop.Tests;

public class RegularizationTests
{
    [Fact]
    public void Dropout_and_batch_norm_pass_the_gradient_check()
    {
        var rng = new Random(4);
        var x = TestUtil.Random<double>(rng, 6, 5);
        var dropout = new Dropout<double>(0.4, new Rng(1));
        dropout.Forward(x);
        dropout.FreezeMask = true;
        Assert.All(GradientCheck.Layer(dropout, x), r => Assert.True(r.MaxRelativeError < 1e-7, $"{r.Parameter}: {r.MaxRelativeError}"));

        var bn = new BatchNormalization<double>(5);
        TestUtil.Random<double>(rng, 5).Span.CopyTo(bn.gamma.Span);
        TestUtil.Random<double>(rng, 5).Span.CopyTo(bn.beta.Span);
        var results = GradientCheck.Layer(bn, x);
        Assert.Equal(["x", "gamma", "beta"], results.Select(r => r.Parameter));
        Assert.All(results, r => Assert.True(r.MaxRelativeError < 1e-7, $"{r.Parameter}: {r.MaxRelativeError}"));

        bn.Training = false;
        Assert.All(GradientCheck.Layer(bn, x), r => Assert.True(r.MaxRelativeError < 1e-7,
            $"inference {r.Parameter}: {r.MaxRelativeError}"));
    }

    [Fact]
    public void Dropout_is_inverted_and_off_in_inference()
    {
        var x = Tensor<float>.Zeros(100, 100);
        x.Span.Fill(1f);
        var d = new Dropout<float>(0.5, new Rng(3));
        var y = d.Forward(x).Span.ToArray();
        Assert.All(y, v => Assert.True(v == 0f || v == 2f));
        Assert.InRange(y.Average(), 0.9, 1.1);
        d.Training = false;
        Assert.Same(x, d.Forward(x));
    }

    [Fact]
    public void Batch_norm_normalizes_in_training_and_uses_running_statistics_in_inference()
    {
        var rng = new Random(5);
        var x = TestUtil.Random<double>(rng, 50, 3);
        for (int i = 0; i < x.Length; i++) x.Span[i] = x.Span[i] * 3 + 7;
        var bn = new BatchNormalization<double>(3);
        var y = bn.Forward(x);
        for (int d = 0; d < 3; d++)
        {
            double mean = 0, sq = 0;
            for (int b = 0; b < 50; b++) { mean += y[b, d] / 50; sq += y[b, d] * y[b, d] / 50; }
            Assert.Equal(0, mean, 10);
            Assert.Equal(1, sq, 3);
        }
        for (int i = 0; i < 200; i++) bn.Forward(x);
        bn.Training = false;
        var yi = bn.Forward(x);
        Assert.Equal(y.Span[0], yi.Span[0], 3);
    }
}
