using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>ELU: y = x for x &gt; 0, else alpha·(eˣ − 1); dx = dout for x &gt; 0, else dout·alpha·eˣ.</summary>
[LayerKind("elu")]
public sealed class Elu<T> : ActivationLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer (alpha defaults to 1).</summary>
    public Elu(double alpha = 1.0)
    {
        Alpha = T.CreateChecked(alpha);
        Hyperparameters = new Dictionary<string, object> { ["alpha"] = alpha };
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Hyperparameters { get; }

    /// <summary>The saturation value −alpha for x → −∞.</summary>
    public T Alpha { get; }

    /// <inheritdoc/>
    protected override void Apply(ReadOnlySpan<T> x, Span<T> y) => Elementwise.EluForward(x, Alpha, y);

    /// <inheritdoc/>
    protected override void Derive(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx) =>
        Elementwise.EluBackward(x, y, Alpha, dout, dx);
}
