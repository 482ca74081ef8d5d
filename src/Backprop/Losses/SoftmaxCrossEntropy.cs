using System.Numerics;
using System.Numerics.Tensors;

namespace Backprop.Losses;

/// <summary>
/// Softmax followed by cross-entropy on logits x (B, C): L = −(1/B)·Σ_b Σ_c t·log softmax(x).
/// </summary>
/// <remarks>
/// t is either one-hot (or any probabilities), shape (B, C), or class indices, shape (B,). log softmax is computed
/// stably as x − max − log Σ exp(x − max), with no epsilon inside the log. dx = (softmax(x) − t)/B · dout.
/// A rank-1 x (C,) is a batch of one.
/// </remarks>
public sealed class SoftmaxCrossEntropy<T> : Loss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _x, _t, _y, _dx;
    private bool _indices;

    /// <inheritdoc/>
    public override string Kind => "softmax_cross_entropy";

    /// <summary>softmax(x) from the last forward pass, shape of x.</summary>
    public Tensor<T>? Softmax => _y;

    /// <inheritdoc/>
    public override bool Classifies => true;

    /// <inheritdoc/>
    public override Tensor<T>? Probabilities => _y;

    /// <summary>p = softmax(outputs), the logits' probabilities.</summary>
    public override void ProbabilitiesOf(ReadOnlySpan<T> outputs, Span<T> p) => Kernels.Elementwise.SoftmaxRow(outputs, p);

    /// <inheritdoc/>
    public override T Forward(Tensor<T> x, Tensor<T> t)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(t);
        if (x.Rank is < 1 or > 2)
            throw new ShapeMismatchException($"SoftmaxCrossEntropy: x has shape {x.ShapeString}, but must be logits (B, C) or (C,)");
        int B = x.Rank == 2 ? x.Dim(0) : 1, C = x.Dim(-1);
        if (C == 0) throw new ShapeMismatchException($"SoftmaxCrossEntropy: x has shape {x.ShapeString}, with no classes");
        _indices = !t.HasShape(x.Shape);
        if (_indices)
        {
            if (t.Rank != 1 || t.Dim(0) != B)
                throw new ShapeMismatchException($"SoftmaxCrossEntropy: t has shape {t.ShapeString}, but x has shape {x.ShapeString}, so " +
                    $"t must be one-hot {x.ShapeString} or class indices ({B},)");
            var ts = t.Span;
            for (int i = 0; i < B; i++)
            {
                T v = ts[i];
                if (!T.IsInteger(v) || v < T.Zero || v >= T.CreateTruncating(C))
                    throw new InvalidInputException($"SoftmaxCrossEntropy: t[{i}] = {v} is not a class index; indices must be integers " +
                        $"from 0 to {C - 1}");
            }
        }
        _x = x;
        _t = t;
        var y = TensorBuffer.Ensure(ref _y, x.Shape);
        T total = T.Zero;
        for (int i = 0; i < B; i++)
        {
            var xi = x.Span.Slice(i * C, C);
            var yi = y.Span.Slice(i * C, C);
            T lse = Kernels.Elementwise.SoftmaxRow<T>(xi, yi);           // log Σ exp(x)
            if (_indices)
                total += lse - xi[int.CreateTruncating(t.Span[i])];
            else
            {
                var ti = t.Span.Slice(i * C, C);
                total += lse * TensorPrimitives.Sum<T>(ti) - TensorPrimitives.Dot<T>(ti, xi);   // Σ t·(lse − x)
            }
        }
        return total / T.CreateTruncating(B);
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(T dout)
    {
        var x = RequireForward(_x);
        var t = _t!;
        int B = x.Rank == 2 ? x.Dim(0) : 1, C = x.Dim(-1);
        var dx = TensorBuffer.Ensure(ref _dx, x.Shape);
        T scale = dout / T.CreateTruncating(B);
        if (_indices)
        {
            TensorPrimitives.Multiply(_y!.Span, scale, dx.Span);
            for (int i = 0; i < B; i++) dx.Span[i * C + int.CreateTruncating(t.Span[i])] -= scale;
        }
        else
        {
            TensorPrimitives.Subtract(_y!.Span, t.Span, dx.Span);
            TensorPrimitives.Multiply(dx.Span, scale, dx.Span);
        }
        return dx;
    }
}
