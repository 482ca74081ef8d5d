using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>ReLU: y = max(x, 0); dx = dout where x &gt; 0, else 0 (f′(0) = 0).</summary>
[LayerKind("relu")]
public sealed class Relu<T> : ActivationLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    protected override void Apply(ReadOnlySpan<T> x, Span<T> y) => Elementwise.ReluForward(x, y);

    /// <inheritdoc/>
    protected override void Derive(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx) =>
        Elementwise.ReluBackward(x, dout, dx);
}
