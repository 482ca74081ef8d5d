using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Layers;
using Backprop.Networks;

namespace Backprop.Optimizers;

/// <summary>SGD: W ← W − lr·g.</summary>
/// <remarks>
/// Without weight decay, <see cref="Step(Network{T})"/> fuses the update into the backward pass: a layer that offers
/// <see cref="ISgdFusable{T}"/> updates its parameters inside its gradient product (the fully connected layer reads and
/// writes W twice per step instead of four times); any other layer runs its backward pass, then W ← W − lr·dW. Each
/// layer's dx is computed before its own parameters change, so the result is that of backward-then-step.
/// </remarks>
public sealed class Sgd<T>(IReadOnlyList<Parameter<T>> parameters, double lr = 0.01, double weightDecay = 0)
    : Optimizer<T>(parameters, lr, weightDecay, 0), ILayerBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override void Step(Network<T> net)
    {
        if (WeightDecay != 0)
        {
            base.Step(net);
            return;
        }
        CheckOwns(net);
        Steps++;
        net.Backward(T.One, inputGradient: false, via: this);
    }

    Tensor<T>? ILayerBackward<T>.Backward(Layer<T> layer, Tensor<T> dout, bool needDx)
    {
        T lr = T.CreateTruncating(LearningRate);
        if (layer is ISgdFusable<T> fused) return fused.BackwardSgd(dout, lr, needDx);
        var dx = layer.Backward(dout, needDx);
        foreach (var p in layer.Parameters) TensorPrimitives.MultiplyAdd(p.Grad.Span, -lr, p.Value.Span, p.Value.Span);
        return dx;
    }

    /// <inheritdoc/>
    public override OptimizerKind Kind => OptimizerKind.Sgd;

    /// <inheritdoc/>
    public override OptimizerSettings Settings => new() { Kind = Kind, LearningRate = LearningRate, WeightDecay = WeightDecay };


    /// <inheritdoc/>
    protected override void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> s0, Span<T> s1, bool isWeight)
    {
        T lr = T.CreateTruncating(LearningRate);
        var vlr = new Vector<T>(lr);
        int i = 0, end = VectorEnd(w.Length);
        for (; i < end; i += Vector<T>.Count) Store(Load(w, i) - vlr * Load(g, i), w, i);
        for (; i < w.Length; i++) w[i] -= lr * g[i];
    }
}

/// <summary>SGD's registry entry.</summary>
internal sealed class SgdKind() : OptimizerKind("sgd", "W ← W − lr·g",
    "the textbook's SGD (common/optimizer.py); torch.optim.SGD(momentum=0), whose weight_decay is the same g + λ·W", 0.01, 0)
{
    public override Optimizer<T> Create<T>(IReadOnlyList<Parameter<T>> parameters, OptimizerSettings s) =>
        new Sgd<T>(parameters, s.LearningRate!.Value, s.WeightDecay!.Value);
}
