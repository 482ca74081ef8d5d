using System.Text.Json;
using Backprop.Layers;
using Backprop.Optimizers;

namespace Backprop.Tests;

/// <summary>
/// The optimizers as registered kinds: every kind builds an optimizer of its own kind whose settings round-trip through a
/// checkpoint's JSON, the torch forms of Adam equal the algorithm <c>torch.optim.Adam</c> and <c>torch.optim.AdamW</c>
/// document (transcribed below, not taken from the implementation), and the book's AdamW is told apart from torch's. A kind a
/// user registers is tested in Backprop.ApiTests (its own process, so that the registry here holds the built-in kinds).
/// </summary>
public class OptimizerRegistryTests
{
    public static IEnumerable<object[]> Kinds() => OptimizerKind.All.Select(k => new object[] { k.Name });

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_kind_builds_its_own_optimizer_and_its_settings_round_trip(string name)
    {
        var kind = OptimizerKind.Parse(name);
        Assert.False(string.IsNullOrWhiteSpace(kind.Reference));
        var p = new Parameter<double>("W", new Tensor<double>([1.0, -2.0], 2), new Tensor<double>([0.5, 0.25], 2), ParameterRole.Weight);
        var opt = Optimizer<double>.Create(new OptimizerSettings { Kind = kind }, [p]);
        Assert.Same(kind, opt.Kind);
        var settings = opt.Settings;
        Assert.Equal(kind.LearningRate, settings.LearningRate);
        Assert.Equal(kind.WeightDecay, settings.WeightDecay);
        foreach (var h in kind.Hyperparameters) Assert.Equal(h.Default, settings[h.Name]);
        var back = JsonSerializer.Deserialize<OptimizerSettings>(JsonSerializer.Serialize(settings))!;
        Assert.Equal(settings, back);
        opt.Step();
        Assert.NotEqual(1.0, p.Value.Span[0]);
    }

    [Fact]
    public void Settings_refuse_what_the_kind_does_not_have_and_values_out_of_range()
    {
        var p = new Parameter<double>("W", Tensor<double>.Zeros(1), Tensor<double>.Zeros(1), ParameterRole.Weight);
        var e = Assert.Throws<InvalidInputException>(() =>
            Optimizer<double>.Create(new OptimizerSettings { Kind = OptimizerKind.Sgd, Momentum = 0.9 }, [p]));
        Assert.Contains("sgd has no hyper-parameter momentum", e.Message);
        e = Assert.Throws<InvalidInputException>(() =>
            Optimizer<double>.Create(new OptimizerSettings { Kind = OptimizerKind.Adam, Beta1 = 1 }, [p]));
        Assert.Contains("beta1 must be in [0, 1)", e.Message);
        Assert.Throws<InvalidInputException>(() =>
            Optimizer<double>.Create(new OptimizerSettings { Kind = OptimizerKind.Adam, Eps = 1e-8 }, [p]));   // the book's has no ε
        Assert.Throws<InvalidInputException>(() => OptimizerKind.Parse("lion"));
    }

    /// <summary>
    /// torch.optim.Adam and torch.optim.AdamW as their documentation's algorithm writes them (lr γ, betas β₁ β₂, eps ε,
    /// weight decay λ), one parameter element:
    ///   AdamW: θ ← θ − γλθ;  Adam: g ← g + λθ
    ///   m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  m̂ ← m/(1 − β₁ᵗ);  v̂ ← v/(1 − β₂ᵗ);  θ ← θ − γ·m̂/(√v̂ + ε)
    /// </summary>
    private static double[] Torch(bool adamW, double[] theta, double[][] grads, double lr, double b1, double b2, double eps, double wd)
    {
        var th = (double[])theta.Clone();
        var m = new double[th.Length];
        var v = new double[th.Length];
        for (int t = 1; t <= grads.Length; t++)
            for (int i = 0; i < th.Length; i++)
            {
                double g = grads[t - 1][i];
                if (adamW) th[i] -= lr * wd * th[i];
                else g += wd * th[i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double mHat = m[i] / (1 - Math.Pow(b1, t)), vHat = v[i] / (1 - Math.Pow(b2, t));
                th[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
        return th;
    }

    private static double[] Run(OptimizerSettings settings, double[] theta, double[][] grads)
    {
        var p = new Parameter<double>("W", new Tensor<double>((double[])theta.Clone(), theta.Length), Tensor<double>.Zeros(theta.Length),
            ParameterRole.Weight);
        var opt = Optimizer<double>.Create(settings, [p]);
        foreach (var g in grads)
        {
            g.CopyTo(p.Grad.Span);
            opt.Step();
        }
        return p.Value.Span.ToArray();
    }

    [Theory]
    [InlineData(false, 1, 0.0)]
    [InlineData(false, 17, 0.05)]
    [InlineData(true, 9, 0.01)]
    [InlineData(true, 33, 0.3)]
    public void The_torch_forms_of_Adam_equal_torchs_documented_algorithm(bool adamW, int n, double wd)
    {
        var rng = new Random(n);
        var theta = Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var grads = Enumerable.Range(0, 5).Select(_ => Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray()).ToArray();
        var expected = Torch(adamW, theta, grads, 0.01, 0.9, 0.999, 1e-8, wd);
        var actual = Run(new OptimizerSettings
        {
            Kind = adamW ? OptimizerKind.AdamWTorch : OptimizerKind.AdamTorch,
            LearningRate = 0.01,
            WeightDecay = wd
        }, theta, grads);
        TestUtil.Close(expected, actual, 1e-14, what: adamW ? "adamw_torch" : "adam_torch");
    }

    [Fact]
    public void The_books_AdamW_places_epsilon_as_the_book_does_and_is_not_torchs()
    {
        // One weight, gradient 0.5 three times, the defaults (lr 0.001, λ 0.01): the book adds ε = 1e-7 to √v, torch 1e-8 to
        // √v̂ = √v/√(1 − β₂ᵗ); the change in W differs by about ε/√v ≈ 1e-7/0.027, a few parts in 10⁶, far beyond rounding
        // (smaller gradients differ more).
        double[] theta = [1.0];
        double[][] grads = [[0.5], [0.5], [0.5]];
        double book = Run(new OptimizerSettings { Kind = OptimizerKind.AdamW }, theta, grads)[0];
        double torch = Run(new OptimizerSettings { Kind = OptimizerKind.AdamWTorch }, theta, grads)[0];
        double reference = Torch(true, theta, grads, 0.001, 0.9, 0.999, 1e-8, 0.01)[0];
        Assert.Equal(reference, torch, 1e-15);
        double relative = Math.Abs((book - 1) - (reference - 1)) / Math.Abs(reference - 1);   // of the change in W
        Assert.InRange(relative, 1e-6, 1e-5);
    }
}
