using System.Numerics;

namespace Backprop.Layers;

/// <summary>
/// Max pooling (ch. 7): y[n, c, oh, ow] = the largest x in the pool_h×pool_w window at (oh·stride − pad, ow·stride − pad).
/// Padded cells are −∞ and never win (as PyTorch and ONNX, not the textbook's zeros); ties go to the first maximum in
/// row-major order of the window, and only it receives the gradient. OH = (H + 2·pad − pool_h)/stride + 1 (floor).
/// </summary>
public sealed class MaxPooling<T>(int poolH, int poolW, int stride = 2, int pad = 0) : PoolingLayer<T>(poolH, poolW, stride, pad)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private int[] _argmax = [];

    /// <inheritdoc/>
    public override string Kind => "max_pooling";

    /// <inheritdoc/>
    protected override void Pool(ReadOnlySpan<T> x, Span<T> y, int N, int C, int H, int W, int OH, int OW)
    {
        if (_argmax.Length != y.Length) _argmax = new int[y.Length];
        for (int nc = 0; nc < N * C; nc++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++)
                {
                    T best = T.NegativeInfinity;
                    int at = -1;
                    for (int i = 0; i < PoolH; i++)
                    {
                        int h = oh * Stride - Pad + i;
                        if ((uint)h >= (uint)H) continue;
                        for (int j = 0; j < PoolW; j++)
                        {
                            int w = ow * Stride - Pad + j;
                            if ((uint)w >= (uint)W) continue;
                            int idx = (nc * H + h) * W + w;
                            if (at < 0 || x[idx] > best) { best = x[idx]; at = idx; }   // the first maximum wins ties
                        }
                    }
                    int o = (nc * OH + oh) * OW + ow;
                    y[o] = best;
                    _argmax[o] = at;
                }
    }

    /// <inheritdoc/>
    protected override void Unpool(ReadOnlySpan<T> dout, Span<T> dx, int N, int C, int H, int W, int OH, int OW)
    {
        dx.Clear();
        for (int o = 0; o < dout.Length; o++) dx[_argmax[o]] += dout[o];
    }
}

/// <summary>
/// Average pooling: y = the mean of the pool_h×pool_w window, padded cells counted as zeros (the divisor is always
/// pool_h·pool_w, ONNX's count_include_pad); dx spreads dout/(pool_h·pool_w) over the window's cells inside x.
/// </summary>
public sealed class AveragePooling<T>(int poolH, int poolW, int stride = 2, int pad = 0) : PoolingLayer<T>(poolH, poolW, stride, pad)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Kind => "average_pooling";

    /// <inheritdoc/>
    protected override void Pool(ReadOnlySpan<T> x, Span<T> y, int N, int C, int H, int W, int OH, int OW)
    {
        T inv = T.One / T.CreateTruncating(PoolH * PoolW);
        for (int nc = 0; nc < N * C; nc++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++)
                {
                    T s = T.Zero;
                    for (int i = 0; i < PoolH; i++)
                    {
                        int h = oh * Stride - Pad + i;
                        if ((uint)h >= (uint)H) continue;
                        for (int j = 0; j < PoolW; j++)
                        {
                            int w = ow * Stride - Pad + j;
                            if ((uint)w < (uint)W) s += x[(nc * H + h) * W + w];
                        }
                    }
                    y[(nc * OH + oh) * OW + ow] = s * inv;
                }
    }

    /// <inheritdoc/>
    protected override void Unpool(ReadOnlySpan<T> dout, Span<T> dx, int N, int C, int H, int W, int OH, int OW)
    {
        dx.Clear();
        T inv = T.One / T.CreateTruncating(PoolH * PoolW);
        for (int nc = 0; nc < N * C; nc++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++)
                {
                    T g = dout[(nc * OH + oh) * OW + ow] * inv;
                    for (int i = 0; i < PoolH; i++)
                    {
                        int h = oh * Stride - Pad + i;
                        if ((uint)h >= (uint)H) continue;
                        for (int j = 0; j < PoolW; j++)
                        {
                            int w = ow * Stride - Pad + j;
                            if ((uint)w < (uint)W) dx[(nc * H + h) * W + w] += g;
                        }
                    }
                }
    }
}

/// <summary>What max and average pooling share: the window parameters, the shape checks and the buffers.</summary>
public abstract class PoolingLayer<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _x, _y, _dx;

    /// <summary>Checks the window: sizes and stride at least 1, 0 ≤ pad below both sizes (so no window is all padding).</summary>
    protected PoolingLayer(int poolH, int poolW, int stride, int pad)
    {
        if (poolH < 1
            || poolW < 1) throw new InvalidInputException($"{GetType().Name.Split('`')[0]}: pool_h and pool_w must be at least 1, " +
            $"not {poolH} and {poolW}");
        if (stride < 1) throw new InvalidInputException($"{GetType().Name.Split('`')[0]}: stride must be at least 1, not {stride}");
        if (pad < 0 || pad >= poolH || pad >= poolW)
            throw new InvalidInputException($"{GetType().Name.Split('`')[0]}: pad must be at least 0 and below pool_h and pool_w " +
                $"(a window of padding only has no value), not {pad}");
        PoolH = poolH;
        PoolW = poolW;
        Stride = stride;
        Pad = pad;
        Hyperparameters = new Dictionary<string, object> { ["pool_h"] = poolH, ["pool_w"] = poolW, ["stride"] = stride, ["pad"] = pad };
    }

    /// <summary>The window's height.</summary>
    public int PoolH { get; }
    /// <summary>The window's width.</summary>
    public int PoolW { get; }
    /// <summary>The step between windows.</summary>
    public int Stride { get; }
    /// <summary>The padding on every side.</summary>
    public int Pad { get; }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Hyperparameters { get; }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (N, C, H, W, OH, OW) = Dims(x);
        _x = x;
        var y = TensorBuffer.Ensure(ref _y, [N, C, OH, OW]);
        Pool(x.Span, y.Span, N, C, H, W, OH, OW);
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var x = RequireForward(_x);
        var (N, C, H, W, OH, OW) = Dims(x);
        CheckDout(dout, [N, C, OH, OW]);
        var dx = TensorBuffer.Ensure(ref _dx, x.Shape);
        Unpool(dout.Span, dx.Span, N, C, H, W, OH, OW);
        return dx;
    }

    /// <summary>y from x.</summary>
    protected abstract void Pool(ReadOnlySpan<T> x, Span<T> y, int N, int C, int H, int W, int OH, int OW);

    /// <summary>dx from dout (dx is overwritten).</summary>
    protected abstract void Unpool(ReadOnlySpan<T> dout, Span<T> dx, int N, int C, int H, int W, int OH, int OW);

    private (int N, int C, int H, int W, int OH, int OW) Dims(Tensor<T> x)
    {
        if (x.Rank != 4) throw new ShapeMismatchException($"{Name}: x has shape {x.ShapeString}, but must be images (N, C, H, W)");
        int H = x.Dim(2), W = x.Dim(3);
        if (PoolH > H + 2 * Pad || PoolW > W + 2 * Pad)
            throw new ShapeMismatchException($"{Name}: the window {PoolH}×{PoolW} is larger than the padded input " +
                $"{H + 2 * Pad}×{W + 2 * Pad} (x {x.ShapeString}, pad {Pad})");
        return (x.Dim(0), x.Dim(1), H, W, (H + 2 * Pad - PoolH) / Stride + 1, (W + 2 * Pad - PoolW) / Stride + 1);
    }
}
