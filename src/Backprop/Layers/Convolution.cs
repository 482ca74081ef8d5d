using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>
/// The convolution layer of the textbook (ch. 7): y = x ⋆ W + b, the cross-correlation of x (N, C, H, W) with FN filters
/// W (FN, C, FH, FW), plus b (FN,), as <c>torch.nn.functional.conv2d</c>; zero padding <see cref="Pad"/>, step
/// <see cref="Stride"/>. y has shape (N, FN, OH, OW) with OH = (H + 2·pad − FH)/stride + 1 (floor), the same for OW.
/// </summary>
/// <remarks>
/// As the textbook computes it: im2col unrolls every window into a row of col (N·OH·OW, C·FH·FW), then one product
/// y = col·Wᵀ + b. Backward: dW = doutᵀ·col, db = Σ dout over N, OH and OW, and dx = col2im(dout·W), which adds every
/// window's gradient back onto the pixels it came from.
/// </remarks>
public sealed class Convolution<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private Tensor<T>? _x, _col, _out, _y, _doutCol, _dcol, _dx;

    /// <summary>Builds the layer from W (FN, C, FH, FW) and b (FN,), used as given; stride ≥ 1, pad ≥ 0.</summary>
    public Convolution(Tensor<T> W, Tensor<T> b, int stride = 1, int pad = 0)
    {
        ArgumentNullException.ThrowIfNull(W);
        ArgumentNullException.ThrowIfNull(b);
        if (W.Rank != 4) throw new ShapeMismatchException($"Convolution: W must be filters (FN, C, FH, FW), but has shape {W.ShapeString}");
        if (b.Rank != 1 || b.Dim(0) != W.Dim(0))
            throw new ShapeMismatchException($"Convolution: b has shape {b.ShapeString}, but W has shape {W.ShapeString}, so b must have " +
                $"shape ({W.Dim(0)},)");
        if (stride < 1) throw new InvalidInputException($"Convolution: stride must be at least 1, not {stride}");
        if (pad < 0) throw new InvalidInputException($"Convolution: pad must be 0 or more, not {pad}");
        this.W = W;
        this.b = b;
        Stride = stride;
        Pad = pad;
        dW = Tensor<T>.Zeros(W.Shape.ToArray());
        db = Tensor<T>.Zeros(W.Dim(0));
        _parameters = [new("W", W, dW, ParameterRole.Weight), new("b", b, db, ParameterRole.Bias)];
        Hyperparameters = new Dictionary<string, object>
        {
            ["filters"] = W.Dim(0),
            ["channels"] = W.Dim(1),
            ["kernel_h"] = W.Dim(2),
            ["kernel_w"] = W.Dim(3),
            ["stride"] = stride,
            ["pad"] = pad,
        };
    }

    /// <summary>
    /// <paramref name="filters"/> filters of <paramref name="channels"/>×<paramref name="kernelH"/>×<paramref name="kernelW"/>,
    /// He-initialized over the fan-in C·FH·FW from <paramref name="rng"/> (default <see cref="Rng.Fork"/>), b = 0.
    /// </summary>
    public Convolution(int filters, int channels, int kernelH, int kernelW, int stride = 1, int pad = 0,
        Initialization init = Initialization.He,
        Rng? rng = null, double normalStd = 0.01)
        : this(Sized(filters, channels, kernelH, kernelW), Tensor<T>.Zeros(Math.Max(filters, 0)), stride, pad)
    {
        Initializer.Fill(W, init, rng ?? Rng.Fork(), normalStd, fanIn: channels * kernelH * kernelW);
    }

    private static Tensor<T> Sized(int fn, int c, int fh, int fw)
    {
        if (fn < 1 || c < 1 || fh < 1 || fw < 1)
            throw new InvalidInputException($"Convolution: filters, channels and the kernel sizes must be at least 1, " +
                $"not {fn}, {c}, {fh}×{fw}");
        return Tensor<T>.Zeros(fn, c, fh, fw);
    }

    /// <inheritdoc/>
    public override string Kind => "convolution";

#pragma warning disable IDE1006 // the textbook's names
    /// <summary>The filters, (FN, C, FH, FW).</summary>
    public Tensor<T> W { get; }
    /// <summary>The bias, one per filter.</summary>
    public Tensor<T> b { get; }
    /// <summary>∂L/∂W from the last backward pass.</summary>
    public Tensor<T> dW { get; }
    /// <summary>∂L/∂b from the last backward pass.</summary>
    public Tensor<T> db { get; }
#pragma warning restore IDE1006

    /// <summary>The step between windows.</summary>
    public int Stride { get; }

    /// <summary>The zeros added on every side of the input.</summary>
    public int Pad { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Hyperparameters { get; }

    /// <summary>y = x ⋆ W + b, shape (N, FN, OH, OW).</summary>
    public override Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (N, C, H, Wd, OH, OW) = Dims(x);
        int FN = W.Dim(0), K = C * W.Dim(2) * W.Dim(3), rows = N * OH * OW;
        _x = x;
        var col = TensorBuffer.Ensure(ref _col, rows, K);                    // (N·OH·OW, C·FH·FW)
        Im2Col.Unfold(x.Span, N, C, H, Wd, W.Dim(2), W.Dim(3), Stride, Pad, col.Span);
        var o = TensorBuffer.Ensure(ref _out, rows, FN);                     // (N·OH·OW, FN)
        Gemm.Multiply<T>(transA: false, transB: true, rows, FN, K, col.Span, K, W.Span, K, o.Span, FN, b.Span);
        var y = TensorBuffer.Ensure(ref _y, [N, FN, OH, OW]);
        // (N, OH·OW, FN) → (N, FN, OH·OW)
        var os = o.Span;
        var ys = y.Span;
        int P = OH * OW;
        for (int n = 0; n < N; n++)
            for (int p = 0; p < P; p++)
                for (int f = 0; f < FN; f++) ys[(n * FN + f) * P + p] = os[(n * P + p) * FN + f];
        return y;
    }

    /// <summary>dx (x's shape) from dout (N, FN, OH, OW); stores dW = doutᵀ·col and db = Σ dout.</summary>
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var x = RequireForward(_x);
        var (N, C, H, Wd, OH, OW) = Dims(x);
        int FN = W.Dim(0), K = C * W.Dim(2) * W.Dim(3), P = OH * OW, rows = N * P;
        CheckDout(dout, [N, FN, OH, OW]);
        var dc = TensorBuffer.Ensure(ref _doutCol, rows, FN);                // (N·OH·OW, FN)
        var ds = dout.Span;
        var dcs = dc.Span;
        for (int n = 0; n < N; n++)
            for (int f = 0; f < FN; f++)
                for (int p = 0; p < P; p++) dcs[(n * P + p) * FN + f] = ds[(n * FN + f) * P + p];
        Gemm.Multiply<T>(transA: true, transB: false, FN, K, rows, dc.Span, FN, _col!.Span, K, dW.Span, K);
        Gemm.ColumnSums(dc.Span, rows, FN, db.Span);
        var dcol = TensorBuffer.Ensure(ref _dcol, rows, K);
        Gemm.Multiply<T>(transA: false, transB: false, rows, K, FN, dc.Span, FN, W.Span, K, dcol.Span, K);
        var dx = TensorBuffer.Ensure(ref _dx, x.Shape);
        Im2Col.Fold(dcol.Span, N, C, H, Wd, W.Dim(2), W.Dim(3), Stride, Pad, dx.Span);
        return dx;
    }

    private (int N, int C, int H, int W, int OH, int OW) Dims(Tensor<T> x)
    {
        if (x.Rank != 4) throw new ShapeMismatchException($"Convolution: x has shape {x.ShapeString}, but must be images (N, C, H, W)");
        int N = x.Dim(0), C = x.Dim(1), H = x.Dim(2), Wd = x.Dim(3), FH = W.Dim(2), FW = W.Dim(3);
        if (C != W.Dim(1))
            throw new ShapeMismatchException($"Convolution: x has shape {x.ShapeString} with {C} channels, but W has " +
                $"shape {W.ShapeString} " +
                $"and expects {W.Dim(1)}");
        if (FH > H + 2 * Pad || FW > Wd + 2 * Pad)
            throw new ShapeMismatchException($"Convolution: the filter {FH}×{FW} is larger than the padded input " +
                $"{H + 2 * Pad}×{Wd + 2 * Pad} (x {x.ShapeString}, pad {Pad})");
        return (N, C, H, Wd, (H + 2 * Pad - FH) / Stride + 1, (Wd + 2 * Pad - FW) / Stride + 1);
    }
}
