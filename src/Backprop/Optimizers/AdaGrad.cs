using System.Numerics;
using Backprop.Layers;

namespace Backprop.Optimizers;

/// <summary>AdaGrad: h ← h + g²; W ← W − lr·g/(√h + 1e-7).</summary>
public sealed class AdaGrad<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override OptimizerKind Kind => OptimizerKind.AdaGrad;

    /// <inheritdoc/>
    public override OptimizerSettings Settings => new() { Kind = Kind, LearningRate = LearningRate, WeightDecay = WeightDecay };


    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> h, Span<T> s1, bool isWeight)
    {
        T lr = T.CreateTruncating(LearningRate), eps = T.CreateTruncating(1e-7);
        Vector<T> vlr = new(lr), veps = new(eps);
        int i = 0, end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count)
        {
            var gi = Load(g, i);
            var hi = Load(h, i) + gi * gi;
            Store(hi, h, i);
            Store(Load(w, i) - vlr * gi / (Vector.SquareRoot(hi) + veps), w, i);
        }
        for (; i < w.Length; i++)
        {
            h[i] += g[i] * g[i];
            w[i] -= lr * g[i] / (T.Sqrt(h[i]) + eps);
        }
    }
}

/// <summary>AdaGrad's registry entry.</summary>
internal sealed class AdaGradKind() : OptimizerKind("adagrad", "h ← h + g²; W ← W − lr·g/(√h + 1e-7)",
    "the textbook's AdaGrad (common/optimizer.py, ε = 1e-7 added to √h)", 0.01, 0)
{
    public override Optimizer<T> Create<T>(IReadOnlyList<Parameter<T>> parameters, OptimizerSettings s) =>
        new AdaGrad<T>(parameters, s.LearningRate!.Value, s.WeightDecay!.Value);
}
