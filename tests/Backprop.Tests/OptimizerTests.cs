using Backprop.Layers;
using Backprop.Optimizers;

namespace Backprop.Tests;

public class OptimizerTests
{
    // One parameter W = [1, -2], gradient g = [0.5, 0.25]; each optimizer's first two steps by hand.
    private static (Parameter<double> P, Optimizer<double> Opt) Make(string kind, double lr, double? wd = null)
    {
        var p = new Parameter<double>("W", new Tensor<double>([1.0, -2.0], 2), new Tensor<double>([0.5, 0.25], 2), ParameterRole.Weight);
        return (p, Optimizer<double>.Create(kind, [p], lr, wd));
    }

    private static double[] Steps(string kind, double lr, int n, double? wd = null)
    {
        var (p, opt) = Make(kind, lr, wd);
        for (int i = 0; i < n; i++)
        {
            p.Grad.Span[0] = 0.5; p.Grad.Span[1] = 0.25;
            opt.Step();
        }
        return p.Value.Span.ToArray();
    }

    [Fact]
    public void Sgd_steps_against_the_gradient() => Assert.Equal([1 - 0.1 * 0.5, -2 - 0.1 * 0.25], Steps("sgd", 0.1, 1));

    [Fact]
    public void Momentum_accumulates_velocity()
    {
        // v1 = −lr·g; v2 = 0.9·v1 − lr·g; W2 = W + v1 + v2
        double v1 = -0.1 * 0.5, v2 = 0.9 * v1 - 0.1 * 0.5;
        Assert.Equal(1 + v1 + v2, Steps("momentum", 0.1, 2)[0], 15);
    }

    [Fact]
    public void Nesterov_follows_the_books_corrected_update()
    {
        // common/optimizer.py after the book's "Fix Nesterov update function", transcribed line by line:
        //   params[key] += self.momentum * self.momentum * self.v[key]
        //   params[key] -= (1 + self.momentum) * self.lr * grads[key]
        //   self.v[key] *= self.momentum
        //   self.v[key] -= self.lr * grads[key]
        double momentum = 0.9, lr = 0.1, v = 0, w = 1;
        for (int i = 0; i < 3; i++)
        {
            double grad = 0.5;
            w += momentum * momentum * v;
            w -= (1 + momentum) * lr * grad;
            v *= momentum;
            v -= lr * grad;
        }
        Assert.Equal(w, Steps("nesterov", 0.1, 3)[0], 14);
    }

    [Fact]
    public void One_nesterov_step_from_W_1_with_g_half_gives_0_905()
    {
        // The issue's figures: W = 1, g = 0.5, lr = 0.1, m = 0.9; the pre-2021 formula gave 0.8645.
        Assert.Equal(0.905, Steps("nesterov", 0.1, 1)[0], 15);
    }

    [Fact]
    public void Nesterov_matches_torch_sgd_with_nesterov_on_changing_gradients()
    {
        // torch.optim.SGD(lr, momentum, nesterov=True) as PyTorch documents the algorithm:
        //   b₁ = g₁, b_t = μ·b_{t−1} + g_t;  g_t ← g_t + μ·b_t;  θ_t = θ_{t−1} − γ·g_t
        double[] grads = [0.5, -0.25, 1.0, 0.125, -2.0];
        double mu = 0.9, gamma = 0.1, theta = 1, buf = 0;
        var expected = new List<double>();
        for (int t = 0; t < grads.Length; t++)
        {
            buf = t == 0 ? grads[t] : mu * buf + grads[t];
            theta -= gamma * (grads[t] + mu * buf);
            expected.Add(theta);
        }
        var p = new Parameter<double>("W", new Tensor<double>([1.0], 1), Tensor<double>.Zeros(1), ParameterRole.Weight);
        var opt = Optimizer<double>.Create("nesterov", [p], gamma);
        for (int t = 0; t < grads.Length; t++)
        {
            p.Grad.Span[0] = grads[t];
            opt.Step();
            Assert.Equal(expected[t], p.Value.Span[0], 13);
        }
        // torch's first steps, worked by hand from the documented algorithm: 1 − 0.1·(0.5 + 0.45) = 0.905, then
        // b₂ = 0.45 − 0.25 = 0.2, θ₂ = 0.905 − 0.1·(−0.25 + 0.18) = 0.912.
        Assert.Equal(0.905, expected[0], 15);
        Assert.Equal(0.912, expected[1], 15);
    }

    [Fact]
    public void AdamW_with_weight_decay_zero_does_not_decay()
    {
        // AdamW's default decay is 0.01 only when none is given; an explicit 0 is 0.
        var w0 = Steps("adam", 0.01, 2);
        Assert.Equal(w0, Steps("adamw", 0.01, 2, wd: 0.0));
        var p = new Parameter<double>("W", new Tensor<double>([1.0], 1), Tensor<double>.Zeros(1), ParameterRole.Weight);
        Assert.Equal(0.0, Optimizer<double>.Create("adamw", [p], 0.01, 0.0).WeightDecay);
        Assert.Equal(0.01, Optimizer<double>.Create("adamw", [p], 0.01).WeightDecay);
        Assert.Equal(0.0, Optimizer<double>.Create(new OptimizerSettings { Kind = OptimizerKind.AdamW, WeightDecay = 0 },
            [p]).Settings.WeightDecay);
    }

    [Fact]
    public void AdaGrad_divides_by_the_root_of_summed_squares()
    {
        double h = 0, w = 1;
        for (int i = 0; i < 2; i++) { h += 0.25; w -= 0.1 * 0.5 / (Math.Sqrt(h) + 1e-7); }
        Assert.Equal(w, Steps("adagrad", 0.1, 2)[0], 15);
    }

    [Fact]
    public void RmsProp_uses_a_decaying_average()
    {
        double h = 0, w = 1;
        for (int i = 0; i < 2; i++) { h = 0.99 * h + 0.01 * 0.25; w -= 0.1 * 0.5 / (Math.Sqrt(h) + 1e-7); }
        Assert.Equal(w, Steps("rmsprop", 0.1, 2)[0], 12);
    }

    [Fact]
    public void Adam_and_AdamW_follow_their_formulas()
    {
        double m = 0, v = 0, w = 1, ww = 1;
        for (int t = 1; t <= 2; t++)
        {
            m += 0.1 * (0.5 - m);
            v += 0.001 * (0.25 - v);
            double lrT = 0.01 * Math.Sqrt(1 - Math.Pow(0.999, t)) / (1 - Math.Pow(0.9, t));
            w -= lrT * m / (Math.Sqrt(v) + 1e-7);
            ww -= 0.01 * 0.1 * ww;
            ww -= lrT * m / (Math.Sqrt(v) + 1e-7);
        }
        Assert.Equal(w, Steps("adam", 0.01, 2)[0], 12);
        Assert.Equal(ww, Steps("adamw", 0.01, 2, wd: 0.1)[0], 12);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(24)]
    [InlineData(33)]
    [InlineData(101)]
    public void Adam_updates_every_element_by_its_formula_at_any_length(int n)
    {
        // The vector loops (512-bit, then Vector<T>, then scalar) must give each element the formula's bits.
        Check<float>(n);
        Check<double>(n);

        static void Check<T>(int n) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var rng = new Random(n);
            T R() => T.CreateTruncating(rng.NextDouble() - 0.5);
            foreach (bool adamW in new[] { false, true })
            {
                var w0 = Enumerable.Range(0, n).Select(_ => R()).ToArray();
                var p = new Parameter<T>("W", new Tensor<T>((T[])w0.Clone(), n), Tensor<T>.Zeros(n), ParameterRole.Weight);
                var opt = new Adam<T>([p], lr: 0.01, weightDecay: adamW ? 0.1 : 0, decoupled: adamW);
                T[] w = (T[])w0.Clone(), m = new T[n], v = new T[n];
                T b1 = T.CreateTruncating(1 - 0.9), b2 = T.CreateTruncating(1 - 0.999), eps = T.CreateTruncating(1e-7);
                T decay = T.CreateTruncating(adamW ? 0.01 * 0.1 : 0);
                for (int t = 1; t <= 3; t++)
                {
                    var g = Enumerable.Range(0, n).Select(_ => R()).ToArray();
                    g.CopyTo(p.Grad.Span);
                    opt.Step();
                    // W ← W − lr·λ·W (AdamW); m ← m + (1 − β₁)(g − m); v ← v + (1 − β₂)(g² − v);
                    // W ← W − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m/(√v + 1e-7)
                    T lrT = T.CreateTruncating(0.01 * Math.Sqrt(1 - Math.Pow(0.999, t)) / (1 - Math.Pow(0.9, t)));
                    for (int i = 0; i < n; i++)
                    {
                        w[i] -= decay * w[i];
                        m[i] += b1 * (g[i] - m[i]);
                        v[i] += b2 * (g[i] * g[i] - v[i]);
                        w[i] -= lrT * m[i] / (T.Sqrt(v[i]) + eps);
                    }
                    for (int i = 0; i < n; i++)
                        Assert.True(w[i] == p.Value.Span[i], $"{typeof(T).Name} n={n} {(adamW ? "AdamW" : "Adam")} step {t} [{i}]: " +
                            $"{p.Value.Span[i]} against the formula's {w[i]}");
                }
            }
        }
    }

    [Fact]
    public void Weight_decay_adds_lambda_W_to_weight_gradients_only()
    {
        Assert.Equal(1 - 0.1 * (0.5 + 0.01 * 1), Steps("sgd", 0.1, 1, wd: 0.01)[0], 15);
        var b = new Parameter<double>("b", new Tensor<double>([1.0], 1), new Tensor<double>([0.5], 1), ParameterRole.Bias);
        Optimizer<double>.Create("sgd", [b], 0.1, 0.01).Step();
        Assert.Equal(1 - 0.05, b.Value.Span[0], 15);
    }

    [Fact]
    public void Bad_settings_are_rejected()
    {
        Assert.Throws<InvalidInputException>(() => Make("sgd", -1));
        Assert.Throws<InvalidInputException>(() => Make("lbfgs", 0.1));
    }
}
