using System.Numerics;

namespace Backprop.Layers;

/// <summary>
/// Global average pooling, as ONNX's GlobalAveragePool and torch's AdaptiveAvgPool2d(1): each channel of an image
/// (N, C, H, W) averaged to one value, y (N, C, 1, 1) with y[n, c] = Σ_hw x[n, c, h, w]/(H·W); dx[n, c, h, w] =
/// dout[n, c]/(H·W).
/// </summary>
[LayerKind("global_average_pooling")]
public sealed class GlobalAveragePooling<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private int[]? _shape;
    private Tensor<T>? _y, _dx;

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4) throw new ShapeMismatchException($"{Name}: x must be images (N, C, H, W), not {x.ShapeString}");
        _shape = x.Shape.ToArray();
        int planes = _shape[0] * _shape[1], area = _shape[2] * _shape[3];
        var y = TensorBuffer.Ensure(ref _y, [_shape[0], _shape[1], 1, 1]);
        var xs = x.Span;
        var ys = y.Span;
        for (int p = 0; p < planes; p++)
        {
            double sum = 0;
            foreach (var v in xs.Slice(p * area, area)) sum += double.CreateTruncating(v);
            ys[p] = T.CreateTruncating(sum / area);
        }
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var shape = _shape ?? throw new InvalidInputException($"{Name}: Backward was called before Forward");
        CheckDout(dout, [shape[0], shape[1], 1, 1]);
        int planes = shape[0] * shape[1], area = shape[2] * shape[3];
        var dx = TensorBuffer.Ensure(ref _dx, shape);
        T scale = T.One / T.CreateTruncating(area);
        for (int p = 0; p < planes; p++) dx.Span.Slice(p * area, area).Fill(dout.Span[p] * scale);
        return dx;
    }
}
