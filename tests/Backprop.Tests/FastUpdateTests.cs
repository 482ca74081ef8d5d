using System.Numerics;
using Backprop.Layers;
using Backprop.Models;
using Backprop.Optimizers;

namespace Backprop.Tests;

/// <summary>
/// The fast update paths against their plain definitions: vectorized, two-thread optimizer steps on long parameters,
/// and plain SGD fused into the backward products.
/// </summary>
[Collection("Global kernel settings")]
public class FastUpdateTests
{
    // Long enough to be split between two threads, odd so that a scalar tail remains.
    private const int Length = 40_000 + 37;

    [Theory]
    [InlineData("sgd", 1)]
    [InlineData("sgd", 2)]
    [InlineData("momentum", 1)]
    [InlineData("momentum", 2)]
    [InlineData("nesterov", 1)]
    [InlineData("nesterov", 2)]
    [InlineData("adagrad", 1)]
    [InlineData("adagrad", 2)]
    [InlineData("rmsprop", 1)]
    [InlineData("rmsprop", 2)]
    [InlineData("adam", 1)]
    [InlineData("adam", 2)]
    [InlineData("adamw", 1)]
    [InlineData("adamw", 2)]
    public void Long_parameters_update_exactly_like_the_scalar_formulas(string kind, int threads)
    {
        Check<float>(kind, threads);
        Check<double>(kind, threads);
    }

    private static void Check<T>(string kind, int threads) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(kind.Length * 7 + threads);
        var w = TestUtil.Random<T>(rng, Length);
        var g = TestUtil.Random<T>(rng, Length);
        var p = new Parameter<T>("W", w, g, ParameterRole.Weight);
        double lr = 0.01;
        var opt = Optimizer<T>.Create(kind, [p], lr);
        var expected = w.Span.ToArray();
        var s0 = new T[Length];
        var s1 = new T[Length];
        using var _ = TestUtil.Threads(threads);
        for (int t = 1; t <= 3; t++)
        {
            opt.Step();
            Reference(kind, t, lr, expected, g.Span.ToArray(), s0, s1);
            Assert.Equal(expected, w.Span.ToArray());   // the same IEEE operations element by element: identical
        }
    }

    // The textbook formulas, one element at a time, in T's arithmetic.
    private static void Reference<T>(string kind, int t, double lrD, T[] w, T[] g, T[] s0, T[] s1) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        T lr = T.CreateTruncating(lrD), m = T.CreateTruncating(0.9), eps = T.CreateTruncating(1e-7);
        for (int i = 0; i < w.Length; i++)
        {
            switch (kind)
            {
                case "sgd": w[i] -= lr * g[i]; break;
                case "momentum": s0[i] = Flush(m * s0[i] - lr * g[i]); w[i] += s0[i]; break;
                case "nesterov": w[i] = w[i] + m * m * s0[i] - (T.One + m) * lr * g[i]; s0[i] = Flush(m * s0[i] - lr * g[i]); break;
                case "adagrad": s0[i] += g[i] * g[i]; w[i] -= lr * g[i] / (T.Sqrt(s0[i]) + eps); break;
                case "rmsprop":
                    T rho = T.CreateTruncating(0.99);
                    s0[i] = Flush(rho * s0[i] + (T.One - rho) * g[i] * g[i]);
                    w[i] -= lr * g[i] / (T.Sqrt(s0[i]) + eps);
                    break;
                default:
                    T lrT = T.CreateTruncating(lrD * Math.Sqrt(1 - Math.Pow(0.999, t)) / (1 - Math.Pow(0.9, t)));
                    T decay = T.CreateTruncating(kind == "adamw" ? lrD * 0.01 : 0);
                    w[i] -= decay * w[i];
                    s0[i] = Flush(s0[i] + T.CreateTruncating(1 - 0.9) * (g[i] - s0[i]));
                    s1[i] = Flush(s1[i] + T.CreateTruncating(1 - 0.999) * (g[i] * g[i] - s1[i]));
                    w[i] -= lrT * s0[i] / (T.Sqrt(s1[i]) + eps);
                    break;
            }
        }
    }

    private static T Flush<T>(T v) where T : unmanaged, IFloatingPointIeee754<T> =>
        T.Abs(v) < T.CreateTruncating(typeof(T) == typeof(float) ? 1.17549435E-38 : 2.2250738585072014E-308) ? T.Zero : v;

    [Fact]
    public void Decaying_state_is_flushed_to_zero_instead_of_going_subnormal()
    {
        // A gradient that stays 0 after one step: Adam's m decays by 0.9 per step and would pass 1e-38 after ~850 steps.
        var p = new Parameter<float>("W", Tensor<float>.Zeros(40), Tensor<float>.Zeros(40), ParameterRole.Weight);
        var opt = Optimizer<float>.Create("adam", [p], 0.001);
        p.Grad.Span.Fill(1f);
        opt.Step();
        p.Grad.Span.Clear();
        for (int i = 0; i < 900; i++) opt.Step();   // m = 0.1·0.9⁹⁰⁰ ≈ 7e-43 unflushed: subnormal
        foreach (var (_, s) in opt.State)
            foreach (float v in s.Span) Assert.True(v == 0 || float.IsNormal(v), $"state value {v:E} is subnormal");
        Assert.Contains(opt.State.First().Value.Span.ToArray(), v => v == 0);
    }

    [Theory]
    [InlineData(1, 7, 5)]
    [InlineData(17, 33, 10)]
    [InlineData(100, 97, 40)]
    public void Fused_sgd_matches_backward_then_update(int B, int N, int M)
    {
        var rng = new Random(B + N + M);
        var x = TestUtil.Random<double>(rng, B, N);
        var dout = TestUtil.Random<double>(rng, B, M);
        var plain = new FullyConnected<double>(TestUtil.Random<double>(rng, N, M), TestUtil.Random<double>(rng, M));
        var fused = new FullyConnected<double>(plain.W.Clone(), plain.b.Clone());
        const double lr = 0.3;

        plain.Forward(x);
        var dxPlain = plain.Backward(dout).Span.ToArray();
        var wPlain = plain.W.Span.ToArray();
        var bPlain = plain.b.Span.ToArray();
        for (int i = 0; i < wPlain.Length; i++) wPlain[i] -= lr * plain.dW.Span[i];
        for (int i = 0; i < bPlain.Length; i++) bPlain[i] -= lr * plain.db.Span[i];

        fused.Forward(x);
        var dxFused = fused.BackwardSgd(dout, lr, needDx: true)!;
        Assert.Equal(dxPlain, dxFused.Span.ToArray());             // dx from the weights before the step
        TestUtil.Close(wPlain, fused.W.Span.ToArray(), 1e-13, what: "W");
        TestUtil.Close(bPlain, fused.b.Span.ToArray(), 1e-13, what: "b");
        Assert.Null(fused.BackwardSgd(dout, lr, needDx: false));
    }

    [Fact]
    public void A_fused_sgd_network_step_matches_backward_then_optimizer_step()
    {
        var spec = new MlpSpec { Sizes = [6, 9, 7, 4], Activation = "tanh", BatchNorm = true, Dtype = "float64" };
        var a = spec.Build<double>(new Rng(3));
        var b = spec.Build<double>(new Rng(3));
        var rng = new Random(4);
        var x = TestUtil.Random<double>(rng, 11, 6);
        var t = new Tensor<double>(Enumerable.Range(0, 11).Select(i => (double)(i % 4)).ToArray(), 11);
        var opt = Optimizer<double>.Create("sgd", a.Parameters, 0.2);
        var optB = Optimizer<double>.Create("sgd", b.Parameters, 0.2);   // no weight decay: the fused path
        for (int step = 0; step < 3; step++)
        {
            Assert.Equal(a.ComputeLoss(x, t), b.ComputeLoss(x, t), 12);
            a.Backward(1.0, inputGradient: false);
            opt.Step();
            optB.Step(b);
        }
        for (int i = 0; i < a.Parameters.Count; i++)
            TestUtil.Close(TestUtil.ToDouble(a.Parameters[i].Value), TestUtil.ToDouble(b.Parameters[i].Value), 1e-12,
                what: a.Parameters[i].Name);
    }
}
