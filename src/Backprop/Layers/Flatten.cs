using System.Numerics;

namespace Backprop.Layers;

/// <summary>
/// Flattens each sample: x (N, …) → y (N, D) with D the sample's values, as torch.nn.Flatten and ONNX's Flatten(axis 1);
/// dx is dout in x's shape. Nothing is copied: y is a view of x, dx a view of dout.
/// </summary>
[LayerKind("flatten")]
public sealed class Flatten<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private int[]? _shape;

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 1) throw new ShapeMismatchException($"{Name}: x must have a batch dimension, not {x.ShapeString}");
        _shape = x.Shape.ToArray();
        return x.Reshape(x.Dim(0), x.Length / Math.Max(1, x.Dim(0)));
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var shape = _shape ?? throw new InvalidInputException($"{Name}: Backward was called before Forward");
        CheckDout(dout, [shape[0], shape.Skip(1).Aggregate(1, (a, d) => a * d)]);
        return dout.Reshape(shape);
    }
}
