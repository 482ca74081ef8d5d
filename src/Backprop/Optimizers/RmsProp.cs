using System.Numerics;
using Backprop.Layers;

namespace Backprop.Optimizers;

/// <summary>RMSProp: h ← ρ·h + (1 − ρ)·g²; W ← W − lr·g/(√h + 1e-7), ρ = 0.99.</summary>
public sealed class RmsProp<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double decay = 0.99, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override OptimizerKind Kind => OptimizerKind.RmsProp;

    /// <inheritdoc/>
    public override OptimizerSettings Settings => new()
    {
        Kind = Kind,
        LearningRate = LearningRate,
        WeightDecay = WeightDecay,
        Decay = decay
    };


    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> h, Span<T> s1, bool isWeight)
    {
        T rho = T.CreateTruncating(decay), lr = T.CreateTruncating(LearningRate), eps = T.CreateTruncating(1e-7);
        T rest = T.One - rho;
        Vector<T> vrho = new(rho), vrest = new(rest), vlr = new(lr), veps = new(eps);
        int i = 0, end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count)
        {
            var gi = Load(g, i);
            var hi = Flush(vrho * Load(h, i) + vrest * gi * gi);
            Store(hi, h, i);
            Store(Load(w, i) - vlr * gi / (Vector.SquareRoot(hi) + veps), w, i);
        }
        for (; i < w.Length; i++)
        {
            h[i] = Flush(rho * h[i] + rest * g[i] * g[i]);
            w[i] -= lr * g[i] / (T.Sqrt(h[i]) + eps);
        }
    }
}

/// <summary>RMSProp's registry entry.</summary>
internal sealed class RmsPropKind() : OptimizerKind("rmsprop", "h ← ρ·h + (1 − ρ)·g²; W ← W − lr·g/(√h + 1e-7)",
    "the textbook's RMSprop (common/optimizer.py, ε = 1e-7 added to √h)", 0.01, 0,
    new OptimizerHyperparameter("decay", 0.99, 0, 1, "the decay rate ρ"))
{
    public override Optimizer<T> Create<T>(IReadOnlyList<Parameter<T>> parameters, OptimizerSettings s) =>
        new RmsProp<T>(parameters, s.LearningRate!.Value, s.Decay!.Value, s.WeightDecay!.Value);
}
