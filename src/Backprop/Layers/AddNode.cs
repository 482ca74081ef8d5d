using System.Numerics;

namespace Backprop.Layers;

/// <summary>
/// The book's addition node (§5.4, AddLayer): z = x + y element by element, two inputs of one shape. Its backward pass
/// passes dout on to both inputs unchanged: ∂L/∂x = ∂L/∂y = dout.
/// </summary>
public sealed class AddNode<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private int[]? _shape;

    /// <summary>z = x + y.</summary>
    public Tensor<T> Forward(Tensor<T> x, Tensor<T> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (!x.HasShape(y.Shape)) throw new ShapeMismatchException($"AddNode: x {x.ShapeString} and y {y.ShapeString} differ");
        _shape = x.Shape.ToArray();
        var z = Tensor<T>.Zeros(_shape);
        for (int i = 0; i < z.Length; i++) z.Span[i] = x.Span[i] + y.Span[i];
        return z;
    }

    /// <summary>(dout, dout): addition passes the gradient through to both inputs.</summary>
    public (Tensor<T> Dx, Tensor<T> Dy) Backward(Tensor<T> dout)
    {
        ArgumentNullException.ThrowIfNull(dout);
        var shape = _shape ?? throw new InvalidInputException("AddNode: Backward was called before Forward");
        if (!dout.HasShape(shape)) throw new ShapeMismatchException($"AddNode: dout {dout.ShapeString}, z {Tensor<T>.ShapeText(shape)}");
        return (dout.Clone(), dout.Clone());
    }
}
