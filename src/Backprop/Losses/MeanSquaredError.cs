using System.Numerics;
using System.Numerics.Tensors;

namespace Backprop.Losses;

/// <summary>
/// Mean squared error as the textbook defines it: L = ½·Σ(y − t)²/B, B the batch size (axis 0), all other axes summed;
/// dx = (y − t)/B · dout.
/// </summary>
public sealed class MeanSquaredError<T> : Loss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _y, _diff, _dx;

    /// <inheritdoc/>
    public override string Kind => "mse";

    /// <inheritdoc/>
    public override T Forward(Tensor<T> x, Tensor<T> t)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(t);
        if (x.Rank < 1) throw new ShapeMismatchException($"MeanSquaredError: x has shape {x.ShapeString}, but must have a batch axis");
        if (!t.HasShape(x.Shape))
            throw new ShapeMismatchException($"MeanSquaredError: t has shape {t.ShapeString}, but x has shape {x.ShapeString}; they must " +
                $"match");
        _y = x;
        var diff = TensorBuffer.Ensure(ref _diff, x.Shape);
        TensorPrimitives.Subtract(x.Span, t.Span, diff.Span);
        T half = T.One / (T.One + T.One);
        return half * TensorPrimitives.SumOfSquares<T>(diff.Span) / T.CreateTruncating(Math.Max(1, x.Dim(0)));
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(T dout)
    {
        var x = RequireForward(_y);
        var dx = TensorBuffer.Ensure(ref _dx, x.Shape);
        TensorPrimitives.Multiply(_diff!.Span, dout / T.CreateTruncating(Math.Max(1, x.Dim(0))), dx.Span);
        return dx;
    }
}
