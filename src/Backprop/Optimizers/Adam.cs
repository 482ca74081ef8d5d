using System.Numerics;
using System.Runtime.Intrinsics;
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
        int i = 0, end512 = Vector512End(w.Length);
        if (end512 > 0)
        {
            // The same operations as below, element by element, sixteen floats at a time: the same bits, in 0.07 ms
            // instead of 0.10 for SimpleConvNet's 440 000 parameters (cache-resident, Zen 5).
            Vector512<T> wlr = Vector512.Create(lrT), wb1 = Vector512.Create(b1), wb2 = Vector512.Create(b2), weps = Vector512.Create(eps),
                wdecay = Vector512.Create(decay);
            for (; i < end512; i += Vector512<T>.Count)
            {
                var wi = Load512(w, i);
                var gi = Load512(g, i);
                wi -= wdecay * wi;
                var mi = Load512(m, i);
                mi = Flush(mi + wb1 * (gi - mi));
                var vi = Load512(v, i);
                vi = Flush(vi + wb2 * (gi * gi - vi));
                Store512(mi, m, i);
                Store512(vi, v, i);
                Store512(wi - wlr * mi / (Vector512.Sqrt(vi) + weps), w, i);
            }
        }
        Vector<T> vlr = new(lrT), vb1 = new(b1), vb2 = new(b2), veps = new(eps), vdecay = new(decay);
        int end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count)   // end512 is a multiple of end's vectors, and at most end
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
