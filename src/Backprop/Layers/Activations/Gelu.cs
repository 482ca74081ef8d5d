using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>GELU as PyTorch defines it: exact y = x·Φ(x) (erf), or with approximate = "tanh" y = ½x(1 + tanh(√(2/π)(x + 0.044715x³))); dx =
/// dout·y′.</summary>
[LayerKind("gelu")]
public sealed class Gelu<T> : ActivationLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer: exact (erf) by default, the tanh approximation when <paramref name="tanhApproximation"/>.</summary>
    public Gelu(bool tanhApproximation = false)
    {
        Approximate = tanhApproximation;
        Hyperparameters = new Dictionary<string, object> { ["approximate"] = tanhApproximation ? "tanh" : "none" };
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Hyperparameters { get; }

    /// <summary>True for the tanh approximation, false for the exact erf form.</summary>
    public bool Approximate { get; }

    /// <inheritdoc/>
    protected override void Apply(ReadOnlySpan<T> x, Span<T> y)
    {
        if (Approximate) Elementwise.GeluTanhForward(x, y); else Elementwise.GeluForward(x, y);
    }

    /// <inheritdoc/>
    protected override void Derive(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx)
    {
        if (Approximate) Elementwise.GeluTanhBackward(x, dout, dx); else Elementwise.GeluBackward(x, dout, dx);
    }
}
