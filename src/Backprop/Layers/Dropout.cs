using System.Numerics;

namespace Backprop.Layers;

/// <summary>
/// Inverted dropout: in training, each element is kept with probability 1 − p and scaled by 1/(1 − p), so the
/// expected output equals the input and inference is the identity. dx = dout·mask.
/// </summary>
[LayerKind("dropout")]
public sealed class Dropout<T> : Layer<T>, IStochasticLayer where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _mask, _y, _dx, _x;
    private bool _maskUsed;

    /// <summary>
    /// Creates the layer with drop probability <paramref name="p"/>, drawing masks from <paramref name="rng"/> (by default a
    /// generator of its own, forked from the process-wide one).
    /// </summary>
    public Dropout(double p, Rng? rng = null)
    {
        if (!(p >= 0 && p < 1)) throw new InvalidInputException($"Dropout: the drop probability must be in [0, 1), not {p}");
        P = p;
        Rng = rng ?? Rng.Fork();
        Hyperparameters = new Dictionary<string, object> { ["p"] = p };
    }

    /// <summary>The generator the masks are drawn from.</summary>
    public Rng Rng { get; }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Hyperparameters { get; }

    /// <summary>The drop probability.</summary>
    public double P { get; }

    /// <summary>When true, forward passes reuse the last mask (for gradient checks, which re-run the forward pass).</summary>
    public bool FreezeMask { get; set; }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        _x = x;
        _maskUsed = Training && P > 0;
        if (!_maskUsed) return x;
        var y = TensorBuffer.Ensure(ref _y, x.Shape);
        bool fresh = _mask is null || !_mask.HasShape(x.Shape);
        var mask = TensorBuffer.Ensure(ref _mask, x.Shape);
        if (fresh || !FreezeMask)
        {
            T scale = T.CreateTruncating(1 / (1 - P));
            var m = mask.Span;
            for (int i = 0; i < m.Length; i++) m[i] = Rng.NextDouble() >= P ? scale : T.Zero;
        }
        System.Numerics.Tensors.TensorPrimitives.Multiply(x.Span, mask.Span, y.Span);
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var x = RequireForward(_x);
        CheckDout(dout, x.Shape);
        if (!_maskUsed) return dout;
        var dx = TensorBuffer.Ensure(ref _dx, x.Shape);
        System.Numerics.Tensors.TensorPrimitives.Multiply(dout.Span, _mask!.Span, dx.Span);
        return dx;
    }
}
