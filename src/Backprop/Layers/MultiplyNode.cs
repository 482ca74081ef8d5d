using System.Numerics;

namespace Backprop.Layers;

/// <summary>
/// The book's multiplication node (§5.4, MulLayer): z = x·y element by element, two inputs of one shape. Its backward pass
/// swaps the inputs: ∂L/∂x = dout·y and ∂L/∂y = dout·x. Scalars are tensors of one element.
/// </summary>
public sealed class MultiplyNode<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _x, _y;

    /// <summary>z = x·y; keeps x and y for the backward pass.</summary>
    public Tensor<T> Forward(Tensor<T> x, Tensor<T> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (!x.HasShape(y.Shape)) throw new ShapeMismatchException($"MultiplyNode: x {x.ShapeString} and y {y.ShapeString} differ");
        (_x, _y) = (x.Clone(), y.Clone());
        var z = Tensor<T>.Zeros(x.Shape.ToArray());
        for (int i = 0; i < z.Length; i++) z.Span[i] = x.Span[i] * y.Span[i];
        return z;
    }

    /// <summary>(dout·y, dout·x): each input's gradient is dout times the other input.</summary>
    public (Tensor<T> Dx, Tensor<T> Dy) Backward(Tensor<T> dout)
    {
        ArgumentNullException.ThrowIfNull(dout);
        var x = _x ?? throw new InvalidInputException("MultiplyNode: Backward was called before Forward");
        if (!dout.HasShape(x.Shape)) throw new ShapeMismatchException($"MultiplyNode: dout {dout.ShapeString}, z {x.ShapeString}");
        var dx = Tensor<T>.Zeros(x.Shape.ToArray());
        var dy = Tensor<T>.Zeros(x.Shape.ToArray());
        for (int i = 0; i < dx.Length; i++)
        {
            dx.Span[i] = dout.Span[i] * _y!.Span[i];
            dy.Span[i] = dout.Span[i] * x.Span[i];
        }
        return (dx, dy);
    }
}
