using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>Softplus as PyTorch defines it: y = x where beta·x &gt; threshold, else log(1 + e^(beta·x))/beta; dx = dout·σ(beta·x) (dout
/// past the threshold).</summary>
[LayerKind("softplus")]
public sealed class Softplus<T> : ActivationLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer (PyTorch defaults: beta 1, threshold 20).</summary>
    public Softplus(double beta = 1.0, double threshold = 20.0)
    {
        if (!(beta > 0)
            || !double.IsFinite(beta)) throw new InvalidInputException($"Softplus: beta must be a positive finite number, not {beta}");
        Beta = T.CreateChecked(beta);
        Threshold = T.CreateChecked(threshold);
        Hyperparameters = new Dictionary<string, object> { ["beta"] = beta, ["threshold"] = threshold };
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Hyperparameters { get; }

    /// <summary>The sharpness beta.</summary>
    public T Beta { get; }

    /// <summary>Where beta·x exceeds this, the layer is the identity.</summary>
    public T Threshold { get; }

    /// <inheritdoc/>
    protected override void Apply(ReadOnlySpan<T> x, Span<T> y) => Elementwise.SoftplusForward(x, Beta, Threshold, y);

    /// <inheritdoc/>
    protected override void Derive(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx) =>
        Elementwise.SoftplusBackward(x, Beta, Threshold, dout, dx);
}
