using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>Sigmoid: y = 1/(1 + e^(−x)); dx = dout·y·(1 − y).</summary>
[LayerKind("sigmoid")]
public sealed class Sigmoid<T> : ActivationLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    protected override void Apply(ReadOnlySpan<T> x, Span<T> y) => Elementwise.SigmoidForward(x, y);

    /// <inheritdoc/>
    protected override void Derive(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx) =>
        Elementwise.SigmoidBackward(y, dout, dx);
}
