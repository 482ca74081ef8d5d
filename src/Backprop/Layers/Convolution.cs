using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>
/// The convolution layer of the textbook (ch. 7): y = x ⋆ W + b, the cross-correlation of x (N, C, H, W) with FN filters
/// W (FN, C, FH, FW), plus b (FN,), as <c>torch.nn.functional.conv2d</c>; zero padding <see cref="Pad"/>, step
/// <see cref="Stride"/>. y has shape (N, FN, OH, OW) with OH = (H + 2·pad − FH)/stride + 1 (floor), the same for OW.
/// </summary>
/// <remarks>
/// As the textbook computes it, im2col, one product and col2im, with col transposed to (C·FH·FW, N·OH·OW) so that the
/// products are short and wide (the filters as rows, every pixel of the batch as columns): y = W·col + b; backward
/// dW = dout·colᵀ (a long reduction over the batch's pixels), db = Σ dout over N, OH and OW, and dx = col2im(Wᵀ·dout),
/// which adds every window's gradient back onto the pixels it came from. The steps around the products (im2col, the
/// reordering between (FN, N·P) and (N, FN, P), col2im) are split between threads by samples.
/// Stride-1 layers with padding that rows can share and few dropped columns (all six of DeepConvNet's) skip im2col:
/// col's rows are shifted views of zero-padded planes (<see cref="ShiftedConvolution"/>), and on AVX-512 the forward
/// product reads them in place without packing: 15–30 % faster per layer than im2col. With square filters their dx is
/// itself such a convolution, of dout's zero-padded planes with the filters turned by 180°, so it needs neither Wᵀ·dout
/// (K rows per pixel) nor col2im.
/// 3×3 stride-1 layers whose channels and filters fill whole vectors (DeepConvNet's five after the first) take
/// Winograd's F(2×2, 3×3) instead on AVX-512 (<see cref="Kernels.Winograd"/>): 16 products of (tiles, C)·(C, FN) per chunk
/// with 2.25 times fewer multiply-adds than the direct form, for forward, dW and dx alike.
/// Which form runs, and how the batch is cut into chunks, is one <see cref="ConvolutionPlan"/>, chosen once per pass; each
/// form is one object in a file of its own (Convolution.Im2Col.cs, .Shifted.cs, .Direct.cs, .Winograd.cs).
/// </remarks>
[LayerKind("convolution")]
public sealed partial class Convolution<T> : Layer<T>, IReluFusable<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private Tensor<T>? _x, _y, _dx, _dWParts, _dWSum;
    private ConvolutionPlan _plan;

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

    /// <summary>null: the plan chooses the form; a form: that form wherever it fits, else im2col (tests compare the forms).</summary>
    internal ConvolutionForm? ForceForm { get; set; }

    /// <summary>How a pass on <paramref name="x"/> runs.</summary>
    internal ConvolutionPlan PlanFor(Tensor<T> x)
    {
        var (N, C, H, Wd, _, _) = Dims(x);
        return ConvolutionPlan.Choose<T>(N, C, H, Wd, W.Dim(0), W.Dim(2), W.Dim(3), Stride, Pad, ForceForm);
    }

    /// <summary>y = x ⋆ W + b, shape (N, FN, OH, OW).</summary>
    public override Tensor<T> Forward(Tensor<T> x) => Forward(x, epilogue: null);

    // The forward passes run so far: a fused backward pass checks that its epilogue ran with the last one.
    private long _passes;

    Tensor<T> IReluFusable<T>.ForwardFused(Tensor<T> x, Epilogue<T> epilogue) =>
        Forward(x, epilogue ?? throw new ArgumentNullException(nameof(epilogue)));

    // The forward pass, with the epilogue the network's fusion plan handed over (the ReLU, and the pooling layer after
    // it, run on each chunk's outputs while they are in cache) or none.
    private Tensor<T> Forward(Tensor<T> x, Epilogue<T>? epilogue)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (N, _, _, _, OH, OW) = Dims(x);
        _x = x;
        _plan = PlanFor(x);
        var y = TensorBuffer.Ensure(ref _y, [N, W.Dim(0), OH, OW]);
        epilogue?.Begin(y, ++_passes);
        var form = FormOf(_plan.Form);
        form.Begin(x, _plan);
        form.PrepareForward(_plan);
        Chunks(form, epilogue, forward: true, dout: null, y, needDx: false);
        return y;
    }

    Tensor<T>? IReluFusable<T>.BackwardFused(Tensor<T> dout, bool needDx, Epilogue<T> epilogue)
    {
        ArgumentNullException.ThrowIfNull(epilogue);
        ArgumentNullException.ThrowIfNull(dout);
        epilogue.CheckBackward(_passes, _y!, dout, "Convolution");
        return Backward(dout, needDx, epilogue);
    }

    /// <summary>dx (x's shape) from dout (N, FN, OH, OW); stores dW = dout·colᵀ and db = Σ dout.</summary>
    public override Tensor<T> Backward(Tensor<T> dout) => Backward(dout, needDx: true)!;

    /// <summary>Without <paramref name="needDx"/> (the first layer of a network), stores dW and db and skips dx: the
    /// product Wᵀ·dout and col2im.</summary>
    public override Tensor<T>? Backward(Tensor<T> dout, bool needDx) => Backward(dout, needDx, epilogue: null);

    private Tensor<T>? Backward(Tensor<T> dout, bool needDx, Epilogue<T>? epilogue)
    {
        var x = RequireForward(_x);
        var (N, _, _, _, OH, OW) = Dims(x);
        int FN = W.Dim(0);
        if (epilogue is null) CheckDout(dout, [N, FN, OH, OW]);
        var form = FormOf(_plan.Form);
        int groups = _plan.BackwardGroups, grads = form.GradientLength;
        TensorBuffer.Ensure(ref _dWParts, groups, grads + FN);              // each group's dW (or the form's) and db
        var dx = needDx ? TensorBuffer.Ensure(ref _dx, x.Shape) : null;
        form.Begin(x, _plan);
        if (needDx) form.PrepareInputGradient(_plan);
        Chunks(form, epilogue, forward: false, dout, dx, needDx);
        // The groups' sums added in group order: the same on any number of threads.
        var parts = _dWParts!.Span;
        var dWs = form.SumsOwnGradient ? TensorBuffer.Ensure(ref _dWSum, grads).Span : dW.Span;
        var dbs = db.Span;
        parts[..grads].CopyTo(dWs);
        parts.Slice(grads, FN).CopyTo(dbs);
        for (int c = 1; c < groups; c++)
        {
            var part = parts.Slice(c * (grads + FN), grads + FN);
            TensorPrimitives.Add(dWs, part[..grads], dWs);
            TensorPrimitives.Add(dbs, part.Slice(grads, FN), dbs);
        }
        if (form.SumsOwnGradient) form.WeightGradient(dWs, dW.Span);
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
        long Hp = H + 2L * Pad, Wp = Wd + 2L * Pad;   // in long: pad may be up to int.MaxValue
        if (FH > Hp || FW > Wp)
            throw new ShapeMismatchException($"Convolution: the filter {FH}×{FW} is larger than the padded input " +
                $"{Hp}×{Wp} (x {x.ShapeString}, pad {Pad})");
        long OH = (Hp - FH) / Stride + 1, OW = (Wp - FW) / Stride + 1;
        // Every size the forms compute in int is at most one of these: a padded sample, one sample's columns
        // (C·FH·FW, OH·OW), and y.
        if (!Tensor<T>.FitsInArray(C, Hp, Wp) || !Tensor<T>.FitsInArray(C, FH, FW, OH, OW)
            || !Tensor<T>.FitsInArray(N, W.Dim(0), OH, OW))
            throw new ShapeMismatchException($"Convolution: x {x.ShapeString} padded by {Pad} with filters {W.ShapeString} at stride " +
                $"{Stride} is too large: a padded sample ({C}, {Hp}, {Wp}), one sample's columns ({(long)C * FH * FW}, {OH}·{OW}) and " +
                $"y ({N}, {W.Dim(0)}, {OH}, {OW}) must each hold at most {Array.MaxLength} elements");
        return (N, C, H, Wd, (int)OH, (int)OW);
    }
}
