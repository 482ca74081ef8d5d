using System.Numerics;
using Backprop.Losses;

namespace Backprop.Tests;

public class LossTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 10)]
    [InlineData(7, 3)]
    [InlineData(33, 17)]
    [InlineData(100, 10)]
    public void Softmax_cross_entropy_matches_the_naive_formula(int B, int C)
    {
        CheckSce<double>(B, C, 1e-10);
        CheckSce<float>(B, C, 1e-5);
    }

    private static void CheckSce<T>(int B, int C, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(B * 100 + C);
        var x = Tensor<T>.Zeros(B, C);
        for (int i = 0; i < x.Length; i++) x.Span[i] = T.CreateTruncating(rng.NextDouble() * 10 - 5);
        var labels = Enumerable.Range(0, B).Select(_ => rng.Next(C)).ToArray();
        var oneHot = Tensor<T>.Zeros(B, C);
        var idx = Tensor<T>.Zeros(B);
        for (int i = 0; i < B; i++) { oneHot[i, labels[i]] = T.One; idx[i] = T.CreateTruncating(labels[i]); }

        // Naive: softmax by its definition (inputs are small enough not to overflow), then −log.
        double loss = 0;
        var dx = new double[B * C];
        for (int i = 0; i < B; i++)
        {
            double sum = 0;
            for (int c = 0; c < C; c++) sum += Math.Exp(double.CreateTruncating(x[i, c]));
            for (int c = 0; c < C; c++)
            {
                double p = Math.Exp(double.CreateTruncating(x[i, c])) / sum;
                dx[i * C + c] = (p - (c == labels[i] ? 1 : 0)) / B * 0.5;
                if (c == labels[i]) loss -= Math.Log(p) / B;
            }
        }
        foreach (var t in new[] { oneHot, idx })
        {
            var sce = new SoftmaxCrossEntropy<T>();
            Assert.Equal(loss, double.CreateTruncating(sce.Forward(x, t)), tol * Math.Max(1, loss));
            TestUtil.Close(dx, TestUtil.ToDouble(sce.Backward(T.CreateTruncating(0.5))), tol, null, "dx");
        }
    }

    [Fact]
    public void Softmax_cross_entropy_is_stable_for_huge_logits()
    {
        var x = new Tensor<double>([1000, -1000, 0, 1000, 1000, -1000], 2, 3);
        var t = new Tensor<double>([1, 0], 2);
        var sce = new SoftmaxCrossEntropy<double>();
        double loss = sce.Forward(x, t);
        Assert.Equal((2000 + Math.Log(2)) / 2, loss, 9);     // row 0: −log softmax = 2000; row 1: log 2
        var dx = sce.Backward().Span.ToArray();
        Assert.All(dx, v => Assert.True(double.IsFinite(v)));
        Assert.Equal(0.5, dx[0], 12);
        Assert.Equal(-0.5, dx[1], 12);

        var f = new SoftmaxCrossEntropy<float>();
        float lf = f.Forward(new Tensor<float>([1000f, -1000f, 0f, 1000f, 1000f, -1000f], 2, 3), new Tensor<float>([1f, 0f], 2));
        Assert.True(float.IsFinite(lf));
    }

    [Fact]
    public void Softmax_cross_entropy_rejects_bad_targets()
    {
        var sce = new SoftmaxCrossEntropy<double>();
        var x = Tensor<double>.Zeros(2, 3);
        Assert.Contains("t[1] = 3", Assert.Throws<InvalidInputException>(() => sce.Forward(x, new Tensor<double>([0, 3], 2))).Message);
        Assert.Contains("t[0] = 0.5", Assert.Throws<InvalidInputException>(() => sce.Forward(x, new Tensor<double>([0.5, 1], 2))).Message);
        Assert.Contains("(3,)", Assert.Throws<ShapeMismatchException>(() => sce.Forward(x, Tensor<double>.Zeros(3))).Message);
    }

    [Theory]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { 5, 3 })]
    [InlineData(new[] { 4, 3, 2, 2 })]
    public void Mean_squared_error_matches_the_textbook_definition(int[] shape)
    {
        var rng = new Random(shape.Sum());
        var y = TestUtil.Random<double>(rng, shape);
        var t = TestUtil.Random<double>(rng, shape);
        int B = shape[0];
        double expected = 0;
        for (int i = 0; i < y.Length; i++) expected += 0.5 * Math.Pow(y.Span[i] - t.Span[i], 2) / B;
        var mse = new MeanSquaredError<double>();
        Assert.Equal(expected, mse.Forward(y, t), 12);
        var dx = mse.Backward(2.0).Span.ToArray();
        for (int i = 0; i < y.Length; i++) Assert.Equal((y.Span[i] - t.Span[i]) / B * 2.0, dx[i], 12);
        var f = new MeanSquaredError<float>();
        Assert.Equal(expected, f.Forward(new Tensor<float>(y.Span.ToArray().Select(v =>
            (float)v).ToArray(), shape), new Tensor<float>(t.Span.ToArray().Select(v => (float)v).ToArray(), shape)), 5);
    }
}
