using System.Numerics;
using Backprop.Layers;

namespace Backprop.Tests;

/// <summary>The textbook's test protocol: random x, W, b, dout of many shapes against the naive loops.</summary>
public class FullyConnectedTests
{
    public static TheoryData<int[], int> Shapes()
    {
        var data = new TheoryData<int[], int>();
        // (B, d1, …) and M: 1, primes, sizes just above SIMD widths (8, 16, 32), ranks 2 to 4.
        data.Add([1, 1], 1);
        data.Add([2, 2], 3);
        data.Add([1, 784], 100);
        data.Add([3, 17], 33);
        data.Add([17, 9], 7);
        data.Add([33, 65], 129);
        data.Add([4, 3, 5], 2);
        data.Add([2, 3, 4, 5], 11);
        data.Add([5, 1, 7, 1], 16);
        data.Add([100, 100], 10);
        data.Add([97, 257], 31);
        data.Add([128, 2, 3, 7], 300);
        data.Add([256, 20], 1);
        data.Add([1, 3, 3, 3], 257);
        data.Add([300, 41], 97);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float64_matches_the_reference_within_1e_5(int[] xShape, int M) => Check<double>(xShape, M);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float32_matches_the_reference_within_1e_5(int[] xShape, int M) => Check<float>(xShape, M);

    [Fact]
    public void Randomized_shapes_match_the_reference()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 40; trial++)
        {
            int rank = rng.Next(2, 5);
            var shape = new int[rank];
            shape[0] = rng.Next(1, 200);
            int n = 1;
            for (int a = 1; a < rank; a++) n *= shape[a] = rng.Next(1, rank == 2 ? 300 : 12);
            Check<double>(shape, rng.Next(1, 200));
            Check<float>(shape, rng.Next(1, 200));
        }
    }

    private static void Check<T>(int[] xShape, int M) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(xShape.Sum() * 31 + M);
        int B = xShape[0], N = xShape.Skip(1).Aggregate(1, (p, d) => p * d);
        var W = TestUtil.Random<T>(rng, N, M);
        var b = TestUtil.Random<T>(rng, M);
        var x = TestUtil.Random<T>(rng, xShape);
        var dout = TestUtil.Random<T>(rng, B, M);
        var doutCopy = dout.Clone();
        var layer = new FullyConnected<T>(W, b);

        var y = layer.Forward(x);
        var dx = layer.Backward(dout);

        double[] xd = TestUtil.ToDouble(x), Wd = TestUtil.ToDouble(W), bd = TestUtil.ToDouble(b), dd = TestUtil.ToDouble(dout);
        double tol = 1e-5;
        TestUtil.Close(Naive.MatMul(xd, Wd, B, N, M, bd), TestUtil.ToDouble(y), tol, Naive.AbsMatMul(xd, Wd, B, N, M), "y");
        var Wt = Naive.Transpose(Wd, N, M);
        TestUtil.Close(Naive.MatMul(dd, Wt, B, M, N), TestUtil.ToDouble(dx), tol, Naive.AbsMatMul(dd, Wt, B, M, N), "dx");
        var xt = Naive.Transpose(xd, B, N);
        TestUtil.Close(Naive.MatMul(xt, dd, N, B, M), TestUtil.ToDouble(layer.dW), tol, Naive.AbsMatMul(xt, dd, N, B, M), "dW");
        var ones = Enumerable.Repeat(1.0, B).ToArray();
        TestUtil.Close(Naive.MatMul(ones, dd, 1, B, M), TestUtil.ToDouble(layer.db), tol, null, "db");

        Assert.True(dx.HasShape(xShape), $"dx has shape {dx.ShapeString}, x had {x.ShapeString}");
        Assert.Equal(doutCopy.Span.ToArray(), dout.Span.ToArray());   // dout never modified
    }

    [Fact]
    public void Each_backward_overwrites_the_gradients_instead_of_accumulating()
    {
        var rng = new Random(3);
        var layer = new FullyConnected<double>(TestUtil.Random<double>(rng, 4, 3), TestUtil.Random<double>(rng, 3));
        var x = TestUtil.Random<double>(rng, 5, 4);
        var dout = TestUtil.Random<double>(rng, 5, 3);
        layer.Forward(x);
        layer.Backward(dout);
        var dW1 = layer.dW.Span.ToArray();
        var db1 = layer.db.Span.ToArray();
        layer.Forward(x);
        layer.Backward(dout);
        Assert.Equal(dW1, layer.dW.Span.ToArray());
        Assert.Equal(db1, layer.db.Span.ToArray());
    }

    [Fact]
    public void Shape_mismatch_names_the_layer_and_both_shapes()
    {
        var layer = new FullyConnected<double>(4, 3);
        var e = Assert.Throws<ShapeMismatchException>(() => layer.Forward(Tensor<double>.Zeros(2, 2, 3)));
        Assert.Contains("FullyConnected", e.Message);
        Assert.Contains("(2, 2, 3)", e.Message);
        Assert.Contains("(4, 3)", e.Message);
        Assert.Contains("after flattening (2, 3)", e.Message);
        layer.Forward(Tensor<double>.Zeros(2, 4));
        var d = Assert.Throws<ShapeMismatchException>(() => layer.Backward(Tensor<double>.Zeros(2, 4)));
        Assert.Contains("dout has shape (2, 4)", d.Message);
        Assert.Contains("(2, 3)", d.Message);
        Assert.Throws<ShapeMismatchException>(() => new FullyConnected<double>(Tensor<double>.Zeros(4, 3), Tensor<double>.Zeros(4)));
    }
}
