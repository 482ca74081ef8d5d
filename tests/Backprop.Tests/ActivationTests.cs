using System.Numerics;
using Backprop.Kernels;
using Backprop.Layers;
using Backprop.Models;

namespace Backprop.Tests;

public class ActivationTests
{
    public static TheoryData<string, int> KindsAndSizes()
    {
        var data = new TheoryData<string, int>();
        foreach (var kind in Kinds.Activations.Select(k => k.Name))
            foreach (int n in new[] { 1, 7, 17, 33, 65, 300 }) data.Add(kind, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(KindsAndSizes))]
    public void Float64_matches_the_naive_formula(string kind, int n) => Check<double>(kind, n);

    [Theory]
    [MemberData(nameof(KindsAndSizes))]
    public void Float32_matches_the_naive_formula(string kind, int n) => Check<float>(kind, n);

    private static void Check<T>(string kind, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(n + kind.Length);
        // Rank-4 input, values in [-6, 6] with a few exact zeros (the kinks).
        var x = Tensor<T>.Zeros(n, 1, 2, 1);
        for (int i = 0; i < x.Length; i++) x.Span[i] = i % 11 == 5 ? T.Zero : T.CreateTruncating(rng.NextDouble() * 12 - 6);
        var dout = TestUtil.Random<T>(rng, n, 1, 2, 1);
        var layer = Kinds.Create<T>(kind);
        var y = layer.Forward(x);
        var dx = layer.Backward(dout);
        Assert.True(y.HasShape(x.Shape) && dx.HasShape(x.Shape));
        var ey = new double[x.Length];
        var edx = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            var (fy, fd) = Naive.Activation(kind, double.CreateTruncating(x.Span[i]));
            ey[i] = fy;
            edx[i] = double.CreateTruncating(dout.Span[i]) * fd;
        }
        double tol = typeof(T) == typeof(float) ? 1e-5 : 1e-9;
        TestUtil.Close(ey, TestUtil.ToDouble(y), tol, null, kind + " y");
        TestUtil.Close(edx, TestUtil.ToDouble(dx), tol, null, kind + " dx");
    }

    public static TheoryData<string> ActivationKinds() => new(Kinds.Activations.Select(k => k.Name));

    [Theory]
    [MemberData(nameof(ActivationKinds))]
    public void Extreme_inputs_give_no_nan_or_inf(string kind)
    {
        foreach (var gelu in new[] { false, true })
        {
            ExtremeCheck<double>(kind, gelu);
            ExtremeCheck<float>(kind, gelu);
        }
    }

    private static void ExtremeCheck<T>(string kind, bool tanhGelu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = new Tensor<T>([.. new[] { -1000.0, -100, -30, -1e-30, 0, 1e-30, 30, 100, 1000 }.Select(T.CreateTruncating)], 1, 9);
        var dout = new Tensor<T>(Enumerable.Repeat(T.One, 9).ToArray(), 1, 9);
        Layer<T> layer = kind == "gelu" && tanhGelu ? new Gelu<T>(true) : Kinds.Create<T>(kind);
        var y = layer.Forward(x);
        var dx = layer.Backward(dout);
        for (int i = 0; i < 9; i++)
        {
            Assert.True(T.IsFinite(y.Span[i]), $"{kind}: y({x.Span[i]}) = {y.Span[i]}");
            Assert.True(T.IsFinite(dx.Span[i]), $"{kind}: dx({x.Span[i]}) = {dx.Span[i]}");
        }
        // The far right is the identity (or 1) for every activation but the bounded ones.
        double y1000 = double.CreateTruncating(y.Span[8]), d1000 = double.CreateTruncating(dx.Span[8]);
        if (kind is "sigmoid" or "tanh") Assert.Equal(1.0, y1000);
        else Assert.Equal(1000.0, y1000);
        Assert.Equal(kind is "sigmoid" or "tanh" ? 0.0 : 1.0, d1000);
    }

    [Fact]
    public void Derivatives_at_the_kink_follow_the_conventions()
    {
        var zero = new Tensor<double>([0.0], 1, 1);
        var one = new Tensor<double>([1.0], 1, 1);
        double D(Layer<double> l) { l.Forward(zero); return l.Backward(one).Span[0]; }
        Assert.Equal(0.0, D(new Relu<double>()));             // f′(0) = 0
        Assert.Equal(0.01, D(new LeakyRelu<double>()));       // f′(0) = alpha
        Assert.Equal(0.3, D(new LeakyRelu<double>(0.3)));
        Assert.Equal(1.0, D(new Elu<double>()));              // alpha·e⁰
        Assert.Equal(0.5, D(new Gelu<double>()));             // Φ(0)
        Assert.Equal(0.5, D(new Silu<double>()));             // σ(0)
        Assert.Equal(0.5, D(new Softplus<double>()));
    }

    [Theory]
    [InlineData(-3.0)]
    [InlineData(-0.5)]
    [InlineData(0.7)]
    [InlineData(2.5)]
    public void Gelu_tanh_approximation_matches_its_formula(double v)
    {
        var layer = new Gelu<double>(tanhApproximation: true);
        var y = layer.Forward(new Tensor<double>([v], 1, 1)).Span[0];
        double u = Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v);
        Assert.Equal(0.5 * v * (1 + Math.Tanh(u)), y, 12);
        double h = 1e-6;
        double f(double z) => 0.5 * z * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z)));
        var d = layer.Backward(new Tensor<double>([1.0], 1, 1)).Span[0];
        Assert.Equal((f(v + h) - f(v - h)) / (2 * h), d, 8);
    }

    [Fact]
    public void Softplus_honours_beta_and_threshold_as_pytorch_does()
    {
        var layer = new Softplus<double>(beta: 2, threshold: 3);
        var y = layer.Forward(new Tensor<double>([1.0, 1.6, -2.0], 1, 3)).Span.ToArray();
        Assert.Equal(Math.Log(1 + Math.Exp(2.0)) / 2, y[0], 14);
        Assert.Equal(1.6, y[1]);                               // beta·x = 3.2 > threshold: identity
        Assert.Equal(Math.Log(1 + Math.Exp(-4.0)) / 2, y[2], 14);
    }

    [Fact]
    public void Erf_matches_reference_values()
    {
        // Values of Python's math.erf / math.erfc.
        (double z, double erf, double erfc)[] table =
        [
            (0, 0.0, 1.0), (1e-10, 1.1283791670955126e-10, 0.999999999887162), (0.1, 0.1124629160182849, 0.8875370839817152),
            (0.5, 0.5204998778130465, 0.4795001221869535), (1, 0.8427007929497149, 0.15729920705028513),
            (2, 0.9953222650189527, 0.004677734981047265), (3, 0.9999779095030014, 2.2090496998585438e-05),
            (4, 0.9999999845827421, 1.541725790028002e-08), (6, 1.0, 2.1519736712498916e-17), (10, 1.0, 2.088487583762545e-45),
        ];
        foreach (var (z, erf, erfc) in table)
        {
            Assert.True(Math.Abs(SpecialFunctions.Erf(z) - erf) <= 1e-15 * Math.Max(1, Math.Abs(erf)),
                $"erf({z}) = {SpecialFunctions.Erf(z):R}");
            Assert.True(Math.Abs(SpecialFunctions.Erf(-z) + erf) <= 1e-15 * Math.Max(1, Math.Abs(erf)), $"erf({-z})");
            Assert.True(Math.Abs(SpecialFunctions.Erfc(z) - erfc) <= 1e-14 * erfc + 1e-300,
                $"erfc({z}) = {SpecialFunctions.Erfc(z):R}, want {erfc:R}");
        }
        Assert.Equal(1e-20, SpecialFunctions.Log1P(1e-20));
        Assert.Equal(Math.Log(2), SpecialFunctions.Log1P(1), 15);
    }
}
