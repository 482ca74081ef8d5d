using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Layers;

namespace Backprop.Training;

/// <summary>
/// Updates parameters from their gradients. Each optimizer keeps its state (velocities, moments) in tensors shaped
/// like the parameters, exposed through <see cref="State"/> for checkpoints.
/// </summary>
/// <remarks>
/// Weight decay (L2, the textbook's λ·W) adds <see cref="WeightDecay"/>·W to the gradient of every weight matrix
/// (never the biases) before the update; AdamW instead decays the weights directly (decoupled).
/// </remarks>
public abstract class Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<Tensor<T>[]> _state = new();
    private readonly IReadOnlyList<Parameter<T>> _params;

    /// <summary>Creates the optimizer over <paramref name="parameters"/> with <paramref name="slots"/> state tensors each.</summary>
    protected Optimizer(IReadOnlyList<Parameter<T>> parameters, double lr, double weightDecay, int slots)
    {
        if (!(lr > 0) || !double.IsFinite(lr)) throw new InvalidInputException($"learning rate must be a positive number, not {lr}");
        if (!(weightDecay >= 0) || !double.IsFinite(weightDecay)) throw new InvalidInputException($"weight decay must be 0 or more, not {weightDecay}");
        _params = parameters;
        LearningRate = lr;
        WeightDecay = weightDecay;
        foreach (var p in parameters)
        {
            var slotsOf = new Tensor<T>[slots];
            for (int i = 0; i < slots; i++) slotsOf[i] = Tensor<T>.Zeros(p.Value.Shape.ToArray());
            _state.Add(slotsOf);
        }
    }

    /// <summary>The learning rate.</summary>
    public double LearningRate { get; set; }

    /// <summary>L2 weight decay λ (0 for none).</summary>
    public double WeightDecay { get; }

    /// <summary>The number of updates made so far.</summary>
    public long Steps { get; set; }

    /// <summary>The optimizer's name as the command line spells it.</summary>
    public abstract string Kind { get; }

    /// <summary>Every state tensor, named by parameter index and slot, for checkpoints.</summary>
    public IEnumerable<(string Name, Tensor<T> Value)> State =>
        _state.SelectMany((slots, i) => slots.Select((t, j) => ($"optimizer.{i}.{j}", t)));

    /// <summary>Applies one update to every parameter.</summary>
    public void Step()
    {
        Steps++;
        for (int i = 0; i < _params.Count; i++)
        {
            var p = _params[i];
            var g = p.Grad.Span;
            if (WeightDecay > 0 && p.Name == "W" && Kind != "adamw")
                TensorPrimitives.MultiplyAdd(p.Value.Span, T.CreateTruncating(WeightDecay), g, g);   // g += λ·W
            Update(p.Value.Span, g, _state[i], p.Name);
        }
    }

    /// <summary>Updates one parameter from its gradient and its state.</summary>
    protected abstract void Update(Span<T> w, ReadOnlySpan<T> g, Tensor<T>[] state, string name);

    /// <summary>Creates an optimizer by name with the textbook's defaults for anything not given.</summary>
    public static Optimizer<T> Create(string kind, IReadOnlyList<Parameter<T>> parameters, double? lr = null, double weightDecay = 0) =>
        kind.ToLowerInvariant() switch
        {
            "sgd" => new Sgd<T>(parameters, lr ?? 0.01, weightDecay),
            "momentum" => new Momentum<T>(parameters, lr ?? 0.01, 0.9, weightDecay),
            "nesterov" => new Nesterov<T>(parameters, lr ?? 0.01, 0.9, weightDecay),
            "adagrad" => new AdaGrad<T>(parameters, lr ?? 0.01, weightDecay),
            "rmsprop" => new RmsProp<T>(parameters, lr ?? 0.01, 0.99, weightDecay),
            "adam" => new Adam<T>(parameters, lr ?? 0.001, 0.9, 0.999, weightDecay),
            "adamw" => new Adam<T>(parameters, lr ?? 0.001, 0.9, 0.999, weightDecay == 0 ? 0.01 : weightDecay, decoupled: true),
            _ => throw new InvalidInputException($"unknown optimizer '{kind}'; expected sgd, momentum, nesterov, adagrad, rmsprop, adam or adamw"),
        };
}

/// <summary>SGD: W ← W − lr·g.</summary>
public sealed class Sgd<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 0) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Kind => "sgd";

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Tensor<T>[] state, string name) =>
        TensorPrimitives.MultiplyAdd(g, T.CreateTruncating(-LearningRate), w, w);
}

/// <summary>Momentum: v ← m·v − lr·g; W ← W + v.</summary>
public sealed class Momentum<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double momentum = 0.9, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Kind => "momentum";

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Tensor<T>[] state, string name)
    {
        var v = state[0].Span;
        T m = T.CreateTruncating(momentum), lr = T.CreateTruncating(LearningRate);
        for (int i = 0; i < w.Length; i++)
        {
            v[i] = m * v[i] - lr * g[i];
            w[i] += v[i];
        }
    }
}

/// <summary>Nesterov momentum as the textbook writes it: v ← m·v − lr·g; W ← W + m²·v − (1 + m)·lr·g.</summary>
public sealed class Nesterov<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double momentum = 0.9, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Kind => "nesterov";

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Tensor<T>[] state, string name)
    {
        var v = state[0].Span;
        T m = T.CreateTruncating(momentum), lr = T.CreateTruncating(LearningRate);
        for (int i = 0; i < w.Length; i++)
        {
            v[i] = m * v[i] - lr * g[i];
            w[i] += m * m * v[i] - (T.One + m) * lr * g[i];
        }
    }
}

/// <summary>AdaGrad: h ← h + g²; W ← W − lr·g/(√h + 1e-7).</summary>
public sealed class AdaGrad<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Kind => "adagrad";

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Tensor<T>[] state, string name)
    {
        var h = state[0].Span;
        T lr = T.CreateTruncating(LearningRate), eps = T.CreateTruncating(1e-7);
        for (int i = 0; i < w.Length; i++)
        {
            h[i] += g[i] * g[i];
            w[i] -= lr * g[i] / (T.Sqrt(h[i]) + eps);
        }
    }
}

/// <summary>RMSProp: h ← ρ·h + (1 − ρ)·g²; W ← W − lr·g/(√h + 1e-7), ρ = 0.99.</summary>
public sealed class RmsProp<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double decay = 0.99, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Kind => "rmsprop";

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Tensor<T>[] state, string name)
    {
        var h = state[0].Span;
        T rho = T.CreateTruncating(decay), lr = T.CreateTruncating(LearningRate), eps = T.CreateTruncating(1e-7);
        for (int i = 0; i < w.Length; i++)
        {
            h[i] = rho * h[i] + (T.One - rho) * g[i] * g[i];
            w[i] -= lr * g[i] / (T.Sqrt(h[i]) + eps);
        }
    }
}

/// <summary>
/// Adam as the textbook writes it: m ← m + (1 − β₁)(g − m); v ← v + (1 − β₂)(g² − v);
/// W ← W − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m/(√v + 1e-7). With <c>decoupled</c> (AdamW), W ← W − lr·λ·W first.
/// </summary>
public sealed class Adam<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.001, double beta1 = 0.9, double beta2 = 0.999, double weightDecay = 0, bool decoupled = false)
    : Optimizer<T>(parameters, lr, weightDecay, 2) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Kind => decoupled ? "adamw" : "adam";

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Tensor<T>[] state, string name)
    {
        var m = state[0].Span;
        var v = state[1].Span;
        double t = Steps;
        T lrT = T.CreateTruncating(LearningRate * Math.Sqrt(1 - Math.Pow(beta2, t)) / (1 - Math.Pow(beta1, t)));
        T b1 = T.CreateTruncating(1 - beta1), b2 = T.CreateTruncating(1 - beta2), eps = T.CreateTruncating(1e-7);
        T decay = T.CreateTruncating(decoupled && name == "W" ? LearningRate * WeightDecay : 0);
        for (int i = 0; i < w.Length; i++)
        {
            w[i] -= decay * w[i];
            m[i] += b1 * (g[i] - m[i]);
            v[i] += b2 * (g[i] * g[i] - v[i]);
            w[i] -= lrT * m[i] / (T.Sqrt(v[i]) + eps);
        }
    }
}
