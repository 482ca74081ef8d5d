using System.Numerics;
using Backprop.Layers;

namespace Backprop.Optimizers;

/// <summary>
/// Nesterov momentum as the textbook's corrected <c>common/optimizer.py</c> writes it: W ← W + m²·v − (1 + m)·lr·g with
/// the velocity before the step, then v ← m·v − lr·g. It is <c>torch.optim.SGD(nesterov=True)</c> in the book's velocity
/// (v = −lr·buf).
/// </summary>
public sealed class Nesterov<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double momentum = 0.9, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override OptimizerKind Kind => OptimizerKind.Nesterov;

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
        T mm = m * m, step = (T.One + m) * lr;
        Vector<T> vm = new(m), vlr = new(lr), vmm = new(mm), vstep = new(step);
        int i = 0, end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count)
        {
            var gi = Load(g, i);
            var vi = Load(v, i);
            Store(Load(w, i) + vmm * vi - vstep * gi, w, i);
            Store(Flush(vm * vi - vlr * gi), v, i);
        }
        for (; i < w.Length; i++)
        {
            w[i] = w[i] + mm * v[i] - step * g[i];
            v[i] = Flush(m * v[i] - lr * g[i]);
        }
    }
}

/// <summary>Nesterov's registry entry.</summary>
internal sealed class NesterovKind() : OptimizerKind("nesterov", "W ← W + m²·v − (1 + m)·lr·g; v ← m·v − lr·g",
    "the textbook's corrected Nesterov (common/optimizer.py); torch.optim.SGD(momentum=m, nesterov=True) in the book's velocity",
    0.01, 0, new OptimizerHyperparameter("momentum", 0.9, 0, 1, "the momentum m"))
{
    public override Optimizer<T> Create<T>(IReadOnlyList<Parameter<T>> parameters, OptimizerSettings s) =>
        new Nesterov<T>(parameters, s.LearningRate!.Value, s.Momentum!.Value, s.WeightDecay!.Value);
}
