using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>Tanh: y = tanh(x); dx = dout·(1 − y²).</summary>
[LayerKind("tanh")]
public sealed class Tanh<T> : ActivationLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    protected override void Apply(ReadOnlySpan<T> x, Span<T> y) => Elementwise.TanhForward(x, y);

    /// <inheritdoc/>
    protected override void Derive(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx) =>
        Elementwise.TanhBackward(y, dout, dx);
}
