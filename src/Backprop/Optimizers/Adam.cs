using System.Numerics;
using Backprop.Layers;

namespace Backprop.Optimizers;

/// <summary>
/// Adam as the textbook writes it: m ← m + (1 − β₁)(g − m); v ← v + (1 − β₂)(g² − v);
/// W ← W − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m/(√v + 1e-7). With <c>decoupled</c> (AdamW), W ← W − lr·λ·W first.
/// </summary>
/// <remarks>Momentum-like state (m, v here; v of Momentum and Nesterov; h of RMSProp) is flushed to zero below the
/// smallest normal number, as a processor's flush-to-zero mode would.</remarks>
public sealed class Adam<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.001, double beta1 = 0.9, double beta2 = 0.999,
    double weightDecay = 0, bool decoupled = false)
    : Optimizer<T>(parameters, lr, weightDecay, 2) where T : unmanaged, IFloatingPointIeee754<T>
{
    private T _lrT;

    /// <inheritdoc/>
    public override OptimizerKind Kind => decoupled ? OptimizerKind.AdamW : OptimizerKind.Adam;

    /// <inheritdoc/>
    public override OptimizerSettings Settings => new()
    {
        Kind = Kind,
        LearningRate = LearningRate,
        WeightDecay = WeightDecay,
        Beta1 = beta1,
        Beta2 = beta2
    };


    /// <inheritdoc/>
    protected override void BeginStep()
    {
        double t = Steps;
        _lrT = T.CreateTruncating(LearningRate * Math.Sqrt(1 - Math.Pow(beta2, t)) / (1 - Math.Pow(beta1, t)));
    }

    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> m, Span<T> v, bool isWeight)
    {
        T lrT = _lrT, b1 = T.CreateTruncating(1 - beta1), b2 = T.CreateTruncating(1 - beta2), eps = T.CreateTruncating(1e-7);
        T decay = T.CreateTruncating(decoupled && isWeight ? LearningRate * WeightDecay : 0);
        Vector<T> vlr = new(lrT), vb1 = new(b1), vb2 = new(b2), veps = new(eps), vdecay = new(decay);
        int i = 0, end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count)
        {
            var wi = Load(w, i);
            var gi = Load(g, i);
            wi -= vdecay * wi;
            var mi = Load(m, i);
            mi = Flush(mi + vb1 * (gi - mi));
            var vi = Load(v, i);
            vi = Flush(vi + vb2 * (gi * gi - vi));
            Store(mi, m, i);
            Store(vi, v, i);
            Store(wi - vlr * mi / (Vector.SquareRoot(vi) + veps), w, i);
        }
        for (; i < w.Length; i++)
        {
            w[i] -= decay * w[i];
            m[i] = Flush(m[i] + b1 * (g[i] - m[i]));
            v[i] = Flush(v[i] + b2 * (g[i] * g[i] - v[i]));
            w[i] -= lrT * m[i] / (T.Sqrt(v[i]) + eps);
        }
    }
}
