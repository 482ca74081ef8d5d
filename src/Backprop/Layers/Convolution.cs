using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
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
/// </remarks>
public sealed partial class Convolution<T> : Layer<T>, IReluFusable<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private Tensor<T>? _x, _y, _dx, _dWParts;

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
        var (N, _, _, _, OH, OW) = Dims(x);
        _x = x;
        _yRelu = false;
        var y = TensorBuffer.Ensure(ref _y, [N, W.Dim(0), OH, OW]);
        _yDropped = _pool is { MasksAtOutputs: true };
        _pool?.BeginFused(y);
        if (IsWinograd(x.Dim(1), x.Dim(2), x.Dim(3))) TransformFilters();
        else if (!IsDirect(x.Dim(1), x.Dim(2), x.Dim(3)) && IsShifted(x.Dim(1), x.Dim(2), x.Dim(3)) && Gathers(W.Dim(0)))
            TransposeWeights();
        Chunks(forward: true, dout: null, y, needDx: false);
        return y;
    }

    // _relu: the pass under way also applies the ReLU that follows (forward) or its backward (dout masked by y > 0);
    // _yRelu: the last forward pass did, so y holds the ReLU's output. _pool: the pass under way also runs the pooling
    // layer after the ReLU, chunk by chunk (forward: pools each chunk's y; backward: dout is the pooling layer's, and each
    // chunk's dy is made from it in the chunk's scratch).
    private bool _relu, _yRelu;
    private PoolingLayer<T>? _pool;

    // The last forward pass ran a fused max pooling layer, which needs none of y for its backward pass (it masks dout by
    // its own outputs): y was pooled chunk by chunk in the scratch and never written out. Only the fused backward pass
    // can follow.
    private bool _yDropped;

    Tensor<T> IReluFusable<T>.ForwardRelu(Tensor<T> x, PoolingLayer<T>? pool)
    {
        (_relu, _pool) = (true, pool);
        try
        {
            var y = Forward(x);
            _yRelu = true;
            return y;
        }
        finally
        {
            (_relu, _pool) = (false, null);
        }
    }

    Tensor<T>? IReluFusable<T>.BackwardRelu(Tensor<T> dout, bool needDx, PoolingLayer<T>? pool)
    {
        if (!_yRelu || (_yDropped && pool is null))
            throw new InvalidOperationException("Convolution: BackwardRelu needs the ReLU's output from ForwardRelu");
        if (pool is not null && !ReferenceEquals(pool.Input, _y))
            throw new InvalidOperationException("Convolution: BackwardRelu with a pooling layer needs that layer's forward pass from " +
                "ForwardRelu");
        (_relu, _pool) = (true, pool);
        try
        {
            return Backward(dout, needDx);
        }
        finally
        {
            (_relu, _pool) = (false, null);
        }
    }

    /// <summary>dx (x's shape) from dout (N, FN, OH, OW); stores dW = dout·colᵀ and db = Σ dout.</summary>
    public override Tensor<T> Backward(Tensor<T> dout) => Backward(dout, needDx: true)!;

    /// <summary>Without <paramref name="needDx"/> (the first layer of a network), stores dW and db and skips dx: the
    /// product Wᵀ·dout and col2im.</summary>
    public override Tensor<T>? Backward(Tensor<T> dout, bool needDx)
    {
        var x = RequireForward(_x);
        var (N, _, _, _, OH, OW) = Dims(x);
        int FN = W.Dim(0), K = W.Length / FN;
        if (_pool is null) CheckDout(dout, [N, FN, OH, OW]);
        else _pool.CheckFusedDout(dout);
        bool winograd = IsWinograd(x.Dim(1), x.Dim(2), x.Dim(3));
        int groups = Groups(forward: false, ChunkPlan(x).Count), grads = winograd ? Kernels.Winograd.Positions * x.Dim(1) * FN : FN * K;
        TensorBuffer.Ensure(ref _dWParts, groups, grads + FN);              // each group's dW (or dU) and db
        var dx = needDx ? TensorBuffer.Ensure(ref _dx, x.Shape) : null;
        if (needDx && !winograd && IsShifted(x.Dim(1), x.Dim(2), x.Dim(3)) && ShiftedConvolution.HasAdjoint(W.Dim(2), W.Dim(3)))
            Turn(transposed: !IsDirect(x.Dim(1), x.Dim(2), x.Dim(3)) && Gathers(x.Dim(1)));
        Chunks(forward: false, dout, dx, needDx);
        // The groups' sums added in group order: the same on any number of threads.
        var parts = _dWParts!.Span;
        var dWs = winograd ? TensorBuffer.Ensure(ref _du, grads).Span : dW.Span;
        var dbs = db.Span;
        parts[..grads].CopyTo(dWs);
        parts.Slice(grads, FN).CopyTo(dbs);
        for (int c = 1; c < groups; c++)
        {
            var part = parts.Slice(c * (grads + FN), grads + FN);
            TensorPrimitives.Add(dWs, part[..grads], dWs);
            TensorPrimitives.Add(dbs, part.Slice(grads, FN), dbs);
        }
        if (winograd) Kernels.Winograd.FilterGradient<T>(dWs, FN, x.Dim(1), dW.Span);
        return dx;
    }

    private Tensor<T>? _turned, _zeros, _wt, _du;

    // The filters of dx's convolution: turned[c, f, i, j] = W[f, c, FH − 1 − i, FW − 1 − j], (C, FN·FH·FW), or its
    // transpose (FN·FH·FW, C) for the gathered product; and C zeros for its bias.
    private void Turn(bool transposed)
    {
        int FN = W.Dim(0), C = W.Dim(1), FH = W.Dim(2), FW = W.Dim(3), K = FN * FH * FW;
        var t = TensorBuffer.Ensure(ref _turned, [C, K]).Span;
        TensorBuffer.Ensure(ref _zeros, [C]).Span.Clear();
        ReadOnlySpan<T> w = W.Span;
        for (int f = 0; f < FN; f++)
            for (int c = 0; c < C; c++)
                for (int i = 0; i < FH; i++)
                    for (int j = 0; j < FW; j++)
                    {
                        int k = (f * FH + FH - 1 - i) * FW + FW - 1 - j;
                        t[transposed ? k * C + c : c * K + k] = w[((f * C + c) * FH + i) * FW + j];
                    }
    }

    // Wᵀ (C·FH·FW, FN): the gathered forward's B.
    private unsafe void TransposeWeights()
    {
        int FN = W.Dim(0), K = W.Length / FN;
        var wt = TensorBuffer.Ensure(ref _wt, [K, FN]);
        fixed (T* pw = W.Span, pt = wt.Span) Gemm.Transpose(pw, K, FN, K, pt, FN);
    }

    // The shifted form (no im2col) where it applies (stride 1, padding that rows can share, few dropped columns), made
    // again when the input's size or the chunk changes; else null, and the layer runs im2col.
    private ShiftedConvolution? Shifted(Tensor<T> x, int chunk)
    {
        int C = x.Dim(1), H = x.Dim(2), Wd = x.Dim(3), FH = W.Dim(2), FW = W.Dim(3);
        if (!IsShifted(C, H, Wd)) return null;
        if (_shifted is null || !_shifted.Matches(C, H, Wd, FH, FW, Pad, chunk))
            _shifted = new ShiftedConvolution(C, H, Wd, FH, FW, Pad, chunk);
        return _shifted;
    }

    private ShiftedConvolution? _shifted;

    /// <summary>null: the shifted form where it fits and pays; true: wherever it fits; false: never (tests compare the
    /// forms).</summary>
    internal bool? ForceShifted { get; set; }

    /// <summary>null: in the shifted form on AVX-512, products over the real pixels only (gathered) where they produce at
    /// least a vector of channels; true: wherever the shifted form runs on AVX-512; false: never (tests compare).</summary>
    internal bool? ForceGathered { get; set; }

    // Whether a shifted pass's product that produces this many channels per pixel (FN for y and dW, C for dx) is gathered.
    private bool Gathers(int channels) =>
        Gemm.RowStartsDirect && ForceGathered != false && (ForceGathered == true || channels >= MinGatheredChannels);

    // Below a vector of float32 channels, a gathered tile's lanes are mostly masked off (C = 1 for DeepConvNet's dx).
    private const int MinGatheredChannels = 16;

    /// <summary>Whether a pass on <paramref name="x"/> runs in the shifted form.</summary>
    internal bool RunsShifted(Tensor<T> x) => IsShifted(x.Dim(1), x.Dim(2), x.Dim(3));

    private bool IsShifted(int C, int H, int Wd)
    {
        int FH = W.Dim(2), FW = W.Dim(3);
        return IsDirect(C, H, Wd) || (ForceShifted != false && ShiftedConvolution.Fits(H, Wd, FH, FW, Stride, Pad)
            && (ForceShifted == true || ShiftedConvolution.Pays(C, H, Wd, FH, FW, Pad, Unsafe.SizeOf<T>())));
    }

    // The cells of one sample that a chunk holds: its extended output in the shifted form, else its OH·OW pixels.
    private int CellsPerSample(Tensor<T> x)
    {
        int H = x.Dim(2), Wd = x.Dim(3), FH = W.Dim(2), FW = W.Dim(3);
        return IsShifted(x.Dim(1), H, Wd)
            ? ShiftedConvolution.Cells(H, Wd, Pad)
            : Im2Col.OutputSize(H, FH, Stride, Pad) * Im2Col.OutputSize(Wd, FW, Stride, Pad);
    }

    // Samples per chunk, and chunks: a chunk's buffers in half of L2 (col, the product and dout; in the shifted form the
    // planes of x and of dout, dx's extended output and the masked dout), and at least two chunks where the batch allows
    // (so that threads can share them). Fixed by the shapes and the processor, never by the thread count.
    private (int Size, int Count) ChunkPlan(Tensor<T> x)
    {
        int N = x.Dim(0), C = x.Dim(1), FN = W.Dim(0), K = W.Length / FN;
        long values = IsShifted(C, x.Dim(2), x.Dim(3)) ? 2L * (C + FN) : K + 2L * FN;
        long perSample = IsWinograd(C, x.Dim(2), x.Dim(3))
            ? Winograd.ValuesPerSample(C, x.Dim(2), x.Dim(3), FN, Pad) * Unsafe.SizeOf<T>()
            : values * CellsPerSample(x) * Unsafe.SizeOf<T>();
        int fit = (int)Math.Max(1, Processor.Caches.L2 / 2 / perSample);
        int size = Math.Max(1, Math.Min(fit, (N + 1) / 2));
        return (size, (N + size - 1) / size);
    }

    // Chunks are split between threads in groups, each group's on one thread in order: one chunk per group, except for
    // the Winograd form's backward, whose chunks add their dU into one of at most MaxGroups sums (its chunks are small, and
    // a sum per chunk cost more than its products). A pure function of the chunks, never of the thread count.
    private int Groups(bool forward, int chunks) =>
        !forward && _x is not null && IsWinograd(_x.Dim(1), _x.Dim(2), _x.Dim(3)) ? Math.Min(chunks, MaxGroups) : chunks;

    private const int MaxGroups = 8;

    // Runs the forward or backward pass chunk by chunk of samples, the chunks split between threads. Each chunk's col
    // lives in its thread's scratch, in cache, from im2col to the product (backward builds it again rather than keep
    // K·N·OH·OW values for the whole batch); its products run on its own thread.
    private void Chunks(bool forward, Tensor<T>? dout, Tensor<T>? to, bool needDx)
    {
        int N = _x!.Dim(0);
        int cells = CellsPerSample(_x);
        var (size, chunks) = ChunkPlan(_x);
        var winograd = WinogradForm(_x, size);
        var shifted = winograd is null ? Shifted(_x, size) : null;
        long work = (long)N * cells * W.Length;
        int parts = work < 1 << 18 ? 1 : Math.Min(Math.Min(Parallelism.MaxThreads, WorkerPool.Shared.Capacity), Groups(forward, chunks));
        var job = _job ??= new ChunkJob(this);
        job.Set(forward, dout, to, needDx, size, chunks, Groups(forward, chunks), shifted, winograd,
            shifted is not null && IsDirect(_x.Dim(1), _x.Dim(2), _x.Dim(3)));
        try
        {
            WorkerPool.Shared.Run(job, parts);
        }
        finally
        {
            job.Set(forward, null, null, false, 0, 0, 0, null, null, false);
        }
    }

    private ChunkJob? _job;
    private readonly Scratch?[] _scratch = new Scratch?[WorkerPool.Shared.Capacity];   // one per part of a job

    // One thread's buffers for one chunk: col (K, S·P), the product or dout (FN, S·P), and Wᵀ·dout (K, S·P); for the
    // gathered products also doutᵀ (S·P, FN) and dWᵀ (K, FN).
    private sealed class Scratch
    {
        public T[] Col = [], Out = [], Dcol = [], PackA = [], Masked = [], PoolMasked = [], Y = [], DoutT = [], DwT = [];
        public long[] Rows = [];

        // At least n elements, kept between steps (the last chunk of a batch may be shorter: it uses a prefix).
        public static Span<T> Take(ref T[] buffer, long n)
        {
            if (buffer.Length < n) buffer = new T[n];
            return buffer.AsSpan(0, (int)n);
        }
    }

    private Scratch ScratchFor(int part) => _scratch[part] ??= new Scratch();

    private sealed class ChunkJob(Convolution<T> layer) : WorkerPool.IJob
    {
        private bool _forward, _needDx, _direct;
        private Tensor<T>? _dout, _to;
        private int _size, _chunks, _groups;
        private ShiftedConvolution? _shifted;
        private Winograd? _winograd;

        public void Set(bool forward, Tensor<T>? dout, Tensor<T>? to, bool needDx, int size, int chunks, int groups,
            ShiftedConvolution? shifted, Winograd? winograd, bool direct) =>
            (_forward, _dout, _to, _needDx, _size, _chunks, _groups, _shifted, _winograd, _direct) = (forward, dout, to, needDx, size,
                chunks, groups, shifted, winograd, direct);

        public void Execute(int part, int parts)
        {
            var (g0, g1) = WorkerPool.Part(_groups, 1, part, parts);
            if (g0 >= g1) return;
            var scratch = layer.ScratchFor(part);
            bool serial = Gemm.SerialOnThisThread;
            Gemm.SerialOnThisThread = parts > 1;
            try
            {
                int outSample = layer._y!.Length / layer._y.Dim(0), fn = layer._y.Dim(1);
                int pooledSample = layer._pool?.Output is { } pooled ? pooled.Length / pooled.Dim(0) : 0;
                for (int g = g0; g < g1; g++)
                {
                    // Groups are consecutive runs of chunks (WorkerPool.Part's split).
                    var (first, last) = WorkerPool.Part(_chunks, 1, g, _groups);
                    for (int c = first; c < last; c++)
                    {
                        int n0 = c * _size, n1 = Math.Min(n0 + _size, layer._x!.Dim(0));
                        var y = layer._y.Span.Slice(n0 * outSample, (n1 - n0) * outSample);
                        if (_forward)
                        {
                            // Where the pooling layer that follows is fused and needs no y for its backward pass (max
                            // pooling), the chunk's y stays in its scratch: written, pooled and dropped while in cache.
                            if (layer._yDropped) y = Scratch.Take(ref scratch.Y, y.Length);
                            // The direct form applies the ReLU that follows in its stores; the others right after, while the
                            // chunk's outputs are in cache.
                            if (_direct) layer.DirectForwardChunk(_shifted!, scratch, n0, n1, y, layer._relu);
                            else if (_winograd is not null) layer.ForwardChunk(_winograd, scratch, n0, n1, y);
                            else if (_shifted is not null) layer.ForwardChunk(_shifted, scratch, n0, n1, y);
                            else layer.ForwardChunk(scratch, n0, n1, y);
                            if (layer._relu && !_direct) Elementwise.ReluForward<T>(y, y);
                            layer._pool?.PoolPlanes(y, n0 * fn, n1 * fn);
                            continue;
                        }
                        var dx = _needDx ? _to : null;
                        // Without dx, the direct form's dW and db read dout and the ReLU's mask in one pass.
                        bool maskInPass = _direct && dx is null && layer._relu && layer._pool is null;
                        ReadOnlySpan<T> dout;
                        if (layer._pool is { } pool)
                        {
                            // The pooling layer's and the ReLU's backward passes for the chunk, into its scratch.
                            var dy = Scratch.Take(ref scratch.Masked, (n1 - n0) * outSample);
                            var masked = layer._relu ? Scratch.Take(ref scratch.PoolMasked, (n1 - n0) * pooledSample) : default;
                            pool.UnpoolPlanes(_dout!.Span, dy, n0 * fn, n1 * fn, layer._relu, masked);
                            dout = dy;
                        }
                        else dout = _dout!.Span.Slice(n0 * outSample, (n1 - n0) * outSample);
                        if (layer._relu && !maskInPass && layer._pool is null)
                        {
                            // dout is the ReLU's; y is its output, positive exactly where its input was.
                            var masked = Scratch.Take(ref scratch.Masked, dout.Length);
                            Elementwise.ReluBackward<T>(y, dout, masked);
                            dout = masked;
                        }
                        // A Winograd group's first chunk starts its dU and db, the others add to them.
                        if (_direct) layer.DirectBackwardChunk(_shifted!, scratch, c, n0, n1, dout, maskInPass ? y : default, dx);
                        else if (_winograd is not null) layer.BackwardChunk(_winograd, scratch, g, c > first, n0, n1, dout, dx);
                        else if (_shifted is not null) layer.BackwardChunk(_shifted, scratch, c, n0, n1, dout, dx);
                        else layer.BackwardChunk(scratch, c, n0, n1, dout, dx);
                    }
                }
            }
            finally
            {
                Gemm.SerialOnThisThread = serial;
            }
        }
    }

    // im2col of samples n0..n1 into the scratch's col (K, (n1 − n0)·P).
    private Span<T> Unfold(Scratch s, int n0, int n1, out int P)
    {
        var x = _x!;
        int C = x.Dim(1), H = x.Dim(2), Wd = x.Dim(3), FH = W.Dim(2), FW = W.Dim(3), K = C * FH * FW, count = n1 - n0;
        P = Im2Col.OutputSize(H, FH, Stride, Pad) * Im2Col.OutputSize(Wd, FW, Stride, Pad);
        var col = Scratch.Take(ref s.Col, (long)K * count * P + Gemm.RowStartsOverread<T>());
        Im2Col.Unfold<T>(x.Span.Slice(n0 * C * H * Wd, count * C * H * Wd), count, C, H, Wd, FH, FW, Stride, Pad, col);
        return col;
    }

    // o (FN, columns) = W·B, B's row k at b[rows[k]..] (Product).
    private void ProductInPlace(Scratch s, ReadOnlySpan<T> b, ReadOnlySpan<long> rows, int columns, Span<T> o) =>
        Product(s, W.Span, W.Dim(0), b, rows, columns, o);

    // o (M, columns) = a (M, rows.Length) · B, B's row k at b[rows[k]..]: in place on AVX-512 (a packed into the scratch),
    // else packed by MultiplyRows.
    private static unsafe void Product(Scratch s, ReadOnlySpan<T> a, int M, ReadOnlySpan<T> b, ReadOnlySpan<long> rows, int columns,
        Span<T> o)
    {
        int K = rows.Length;
        fixed (T* pa = a, pb = b, po = o)
        fixed (long* pr = rows)
        {
            if (!Gemm.RowStartsDirect)
            {
                Gemm.MultiplyRows(false, M, columns, K, pa, K, pb, pr, po, columns);
                return;
            }
            var packA = Scratch.Take(ref s.PackA, Gemm.RowStartsScratch(M, K));
            fixed (T* pk = packA) Gemm.MultiplyRowStarts(M, columns, K, pa, K, pb, pr, po, columns, pk);
        }
    }

    private void ForwardChunk(Scratch s, int n0, int n1, Span<T> ys)
    {
        int FN = W.Dim(0), K = W.Length / FN, count = n1 - n0;
        var col = Unfold(s, n0, n1, out int P);
        int cols = count * P;
        var o = Scratch.Take(ref s.Out, (long)FN * cols);
        if (Gemm.RowStartsDirect)
        {
            // The unpacked product reads col's rows in place (SimpleConvNet's 25-tap layer: packing B would copy all of
            // col for 30 multiply-adds per value).
            var rows = s.Rows.Length >= K ? s.Rows : s.Rows = new long[K];
            for (int k = 0; k < K; k++) rows[k] = (long)k * cols;
            ProductInPlace(s, col, rows.AsSpan(0, K), cols, o);
        }
        else Gemm.Multiply<T>(transA: false, transB: false, FN, cols, K, W.Span, K, col, cols, o, cols);
        var bs = b.Span;
        for (int n = 0; n < count; n++)                                       // (FN, S·P) + b → (S, FN, P)
            for (int f = 0; f < FN; f++)
                TensorPrimitives.Add(o.Slice(f * cols + n * P, P), bs[f], ys.Slice((n * FN + f) * P, P));
    }

    private void BackwardChunk(Scratch s, int chunk, int n0, int n1, ReadOnlySpan<T> ds, Tensor<T>? dx)
    {
        var x = _x!;
        int C = x.Dim(1), H = x.Dim(2), Wd = x.Dim(3), FN = W.Dim(0), FH = W.Dim(2), FW = W.Dim(3), K = C * FH * FW, count = n1 - n0;
        var col = Unfold(s, n0, n1, out int P);
        int cols = count * P;
        var dc = Scratch.Take(ref s.Out, (long)FN * cols);
        for (int n = 0; n < count; n++)                                       // (S, FN, P) → (FN, S·P)
            for (int f = 0; f < FN; f++) ds.Slice((n * FN + f) * P, P).CopyTo(dc.Slice(f * cols + n * P, P));
        var part = _dWParts!.Span.Slice(chunk * (FN * K + FN), FN * K + FN);
        Gemm.Multiply<T>(transA: false, transB: true, FN, K, cols, dc, cols, col, cols, part, K);
        for (int f = 0; f < FN; f++) part[FN * K + f] = TensorPrimitives.Sum<T>(dc.Slice(f * cols, cols));
        if (dx is null) return;
        var dcol = Scratch.Take(ref s.Dcol, (long)K * cols);
        Gemm.Multiply<T>(transA: true, transB: false, K, cols, FN, W.Span, K, dc, cols, dcol, cols);
        Im2Col.Fold<T>(dcol, count, C, H, Wd, FH, FW, Stride, Pad, dx.Span.Slice(n0 * C * H * Wd, count * C * H * Wd));
    }

    // The shifted form's planes of samples n0..n0 + count of x in the scratch's col (with the products' overread after them).
    private Span<T> Planes(ShiftedConvolution g, Scratch s, int n0, int count)
    {
        int sample = g.C * g.H * g.W;
        var planes = Scratch.Take(ref s.Col, g.C * g.PlaneLength + Gemm.RowStartsOverread<T>());
        g.Pack<T>(_x!.Span.Slice(n0 * sample, count * sample), count, planes);
        return planes;
    }

    // The shifted form's forward: the chunk's planes, y_ext = W·col over shifted rows, its real columns + b into y.
    private void ForwardChunk(ShiftedConvolution g, Scratch s, int n0, int n1, Span<T> ys)
    {
        int FN = W.Dim(0), count = n1 - n0, columns = g.Columns(count);
        var planes = Planes(g, s, n0, count);
        int P = g.OH * g.OW;
        if (Gathers(FN))
        {
            // (S·P, FN) over the real pixels only, then (S, FN, P) + b.
            var t = Scratch.Take(ref s.Out, (long)count * P * FN);
            Gathered(planes, g.Pixels, g.Offsets, count * P, _wt!.Span, FN, t);
            FromPixelRows(t, count, P, FN, b.Span, ys);
            return;
        }
        var o = Scratch.Take(ref s.Out, (long)FN * columns);
        ProductInPlace(s, planes, g.Offsets, columns, o);
        g.Extract<T>(o, columns, count, b.Span, ys);
    }

    // c (M, N) = A·b, A[i, k] = a[rows[i] + columns[k]] for i < M and k < columns.Length, b (columns.Length, N).
    private static unsafe void Gathered(ReadOnlySpan<T> a, ReadOnlySpan<long> rows, ReadOnlySpan<long> columns, int M,
        ReadOnlySpan<T> b, int N, Span<T> c)
    {
        fixed (T* pa = a, pb = b, pc = c)
        fixed (long* pr = rows, pk = columns)
            Gemm.MultiplyGathered(M, N, columns.Length, pa, pr, pk, pb, N, pc, N);
    }

    // y[s, f, p] = t[s·P + p, f] (+ bias[f]): per sample, a (P, F) block transposed.
    private static unsafe void FromPixelRows(ReadOnlySpan<T> t, int samples, int P, int F, ReadOnlySpan<T> bias, Span<T> y)
    {
        fixed (T* pt = t, py = y)
            for (int n = 0; n < samples; n++) Gemm.Transpose(pt + (long)n * P * F, F, P, F, py + (long)n * F * P, P);
        if (bias.IsEmpty) return;
        for (int n = 0; n < samples; n++)
            for (int f = 0; f < F; f++)
            {
                var row = y.Slice((n * F + f) * P, P);
                TensorPrimitives.Add(row, bias[f], row);
            }
    }

    // The shifted form's backward: dout spread over the extended columns (zero in the dropped ones), dW = dout·colᵀ over
    // shifted rows, db = Σ dout, and dx either as the convolution of dout's planes with the turned filters (square
    // filters: dout's extended form is those planes) or as col2im(Wᵀ·dout), a sum of shifted rows.
    private unsafe void BackwardChunk(ShiftedConvolution g, Scratch s, int chunk, int n0, int n1, ReadOnlySpan<T> dout, Tensor<T>? dx)
    {
        int FN = W.Dim(0), K = W.Length / FN, count = n1 - n0, sample = g.C * g.H * g.W, columns = g.Columns(count);
        var planes = Planes(g, s, n0, count);
        var adjoint = g.Adjoint(FN);
        var part = _dWParts!.Span.Slice(chunk * (FN * K + FN), FN * K + FN);
        bool gatherW = Gathers(FN), gatherDx = dx is not null && adjoint is not null && Gathers(g.C);
        if (gatherW) GatheredWeightGradient(g, s, count, dout, planes, part);
        if (gatherW && (dx is null || gatherDx))
        {
            if (dx is not null) GatheredInputGradient(g, adjoint!, s, count, dout, dx.Span.Slice(n0 * sample, count * sample));
            return;
        }
        Span<T> dc;
        int origin = 0, ldd = columns;
        if (adjoint is not null)
        {
            // dout's planes: the extended dout starts at their origin, row stride R, with zeros in every dropped column.
            dc = Scratch.Take(ref s.Out, FN * adjoint.PlaneLength + Gemm.RowStartsOverread<T>());
            adjoint.Pack(dout, count, dc);
            (origin, ldd) = (adjoint.Origin, (int)adjoint.PlaneLength);
        }
        else
        {
            dc = Scratch.Take(ref s.Out, (long)FN * columns);
            g.Spread<T>(dout, count, FN, dc);
        }
        if (!gatherW)
        {
            fixed (T* pd = dc, pp = planes, pdw = part)
            fixed (long* offsets = g.Offsets)
                Gemm.MultiplyRows(true, FN, K, columns, pd + origin, ldd, pp, offsets, pdw, K);
            for (int f = 0; f < FN; f++) part[FN * K + f] = TensorPrimitives.Sum<T>(dc.Slice(f * ldd + origin, columns));
        }
        if (dx is null) return;
        if (gatherDx)
        {
            GatheredInputGradient(g, adjoint!, s, count, dout, dx.Span.Slice(n0 * sample, count * sample), dc);
            return;
        }
        if (adjoint is not null)
        {
            int dxColumns = adjoint.Columns(count);
            var o = Scratch.Take(ref s.Dcol, (long)g.C * dxColumns);
            Product(s, _turned!.Span, g.C, dc, adjoint.Offsets, dxColumns, o);
            adjoint.Extract<T>(o, dxColumns, count, _zeros!.Span, dx.Span.Slice(n0 * sample, count * sample));
            return;
        }
        var dcol = Scratch.Take(ref s.Dcol, (long)K * columns);
        Gemm.Multiply<T>(transA: true, transB: false, K, columns, FN, W.Span, K, dc, columns, dcol, columns);
        g.Fold<T>(dcol, count, planes, dx.Span.Slice(n0 * sample, count * sample));
    }

    // dx over its real pixels only: dout's planes (packed here unless given) gathered with the turned filters (FN·FH·FW,
    // C), then (S·H·W, C) → (S, C, H, W).
    private void GatheredInputGradient(ShiftedConvolution g, ShiftedConvolution adjoint, Scratch s, int count, ReadOnlySpan<T> dout,
        Span<T> dx, Span<T> planes = default)
    {
        int FN = W.Dim(0), HW = g.H * g.W;
        if (planes.IsEmpty)
        {
            planes = Scratch.Take(ref s.Out, FN * adjoint.PlaneLength + Gemm.RowStartsOverread<T>());
            adjoint.Pack(dout, count, planes);
        }
        var t = Scratch.Take(ref s.Dcol, (long)count * HW * g.C);
        Gathered(planes, adjoint.Pixels, adjoint.Offsets, count * HW, _turned!.Span, g.C, t);
        FromPixelRows(t, count, HW, g.C, default, dx);
    }

    // dWᵀ (taps, FN) = Σ over the real pixels of x's taps · doutᵀ (pixels, FN), gathered from the planes; then dW and
    // db = Σ dout into the chunk's part.
    private unsafe void GatheredWeightGradient(ShiftedConvolution g, Scratch s, int count, ReadOnlySpan<T> dout,
        ReadOnlySpan<T> planes, Span<T> part)
    {
        int FN = W.Dim(0), K = W.Length / FN, P = g.OH * g.OW;
        var dt = Scratch.Take(ref s.DoutT, (long)count * P * FN);
        var dwt = Scratch.Take(ref s.DwT, (long)K * FN);
        fixed (T* pd = dout, pt = dt)
            for (int n = 0; n < count; n++) Gemm.Transpose(pd + (long)n * FN * P, P, FN, P, pt + (long)n * P * FN, FN);
        Gathered(planes, g.Offsets, g.Pixels.AsSpan(0, count * P), K, dt, FN, dwt);
        fixed (T* pw = dwt, pp = part) Gemm.Transpose(pw, FN, K, FN, pp, K);
        BiasGradient(dout, count, FN, P, part.Slice(FN * K, FN), accumulate: false);
    }

    // db[f] = Σ over the chunk's samples of Σ dout[n, f, ·], dout (count, FN, P); with accumulate, added to db's old values.
    private static void BiasGradient(ReadOnlySpan<T> dout, int count, int FN, int P, Span<T> db, bool accumulate)
    {
        for (int f = 0; f < FN; f++)
        {
            T sum = accumulate ? db[f] : T.Zero;
            for (int n = 0; n < count; n++) sum += TensorPrimitives.Sum(dout.Slice((n * FN + f) * P, P));
            db[f] = sum;
        }
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
