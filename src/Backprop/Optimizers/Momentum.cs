using System.Numerics;
using Backprop.Layers;

namespace Backprop.Optimizers;

/// <summary>Momentum: v ← m·v − lr·g; W ← W + v.</summary>
public sealed class Momentum<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double momentum = 0.9, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override OptimizerKind Kind => OptimizerKind.Momentum;

    /// <inheritdoc/>
    public override OptimizerSettings Settings => new()
    {
        Kind = Kind,
        LearningRate = LearningRate,
        WeightDecay = WeightDecay,
        Momentum = momentum
    };


    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> v, Span<T> s1, bool isWeight)
    {
        T m = T.CreateTruncating(momentum), lr = T.CreateTruncating(LearningRate);
        Vector<T> vm = new(m), vlr = new(lr);
        int i = 0, end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count)
        {
            var vi = Flush(vm * Load(v, i) - vlr * Load(g, i));
            Store(vi, v, i);
            Store(Load(w, i) + vi, w, i);
        }
        for (; i < w.Length; i++)
        {
            v[i] = Flush(m * v[i] - lr * g[i]);
            w[i] += v[i];
        }
    }
}

/// <summary>Momentum's registry entry.</summary>
internal sealed class MomentumKind() : OptimizerKind("momentum", "v ← m·v − lr·g; W ← W + v",
    "the textbook's Momentum (common/optimizer.py); torch.optim.SGD(momentum=m, dampening=0) in the book's velocity v = −lr·buf " +
    "for a constant lr", 0.01, 0, new OptimizerHyperparameter("momentum", 0.9, 0, 1, "the momentum m"))
{
    public override Optimizer<T> Create<T>(IReadOnlyList<Parameter<T>> parameters, OptimizerSettings s) =>
        new Momentum<T>(parameters, s.LearningRate!.Value, s.Momentum!.Value, s.WeightDecay!.Value);
}
