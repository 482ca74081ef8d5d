using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>Leaky ReLU: y = x for x &gt; 0, else alpha·x; dx = dout·(x &gt; 0 ? 1 : alpha), so f′(0) = alpha.</summary>
[LayerKind("leaky_relu")]
public sealed class LeakyRelu<T> : ActivationLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer; the textbook default slope is 0.01.</summary>
    public LeakyRelu(double alpha = 0.01)
    {
        Alpha = T.CreateChecked(alpha);
        Hyperparameters = new Dictionary<string, object> { ["alpha"] = alpha };
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Hyperparameters { get; }

    /// <summary>The slope for x ≤ 0.</summary>
    public T Alpha { get; }

    /// <inheritdoc/>
    protected override void Apply(ReadOnlySpan<T> x, Span<T> y) => Elementwise.LeakyReluForward(x, Alpha, y);

    /// <inheritdoc/>
    protected override void Derive(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx) =>
        Elementwise.LeakyReluBackward(x, Alpha, dout, dx);
}
