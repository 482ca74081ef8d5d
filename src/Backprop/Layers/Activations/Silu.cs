using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>SiLU (swish): y = x·σ(x); dx = dout·σ(x)·(1 + x·(1 − σ(x))).</summary>
[LayerKind("silu")]
public sealed class Silu<T> : ActivationLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    protected override void Apply(ReadOnlySpan<T> x, Span<T> y) => Elementwise.SiluForward(x, y);

    /// <inheritdoc/>
    protected override void Derive(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx) =>
        Elementwise.SiluBackward(x, dout, dx);
}
