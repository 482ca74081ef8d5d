using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>
/// Max pooling (ch. 7): y[n, c, oh, ow] = the largest x in the pool_h×pool_w window at (oh·stride − pad, ow·stride − pad).
/// Padded cells are −∞ and never win (as PyTorch and ONNX, not the textbook's zeros); ties go to the first maximum in
/// row-major order of the window, and only it receives the gradient. OH = (H + 2·pad − pool_h)/stride + 1 (floor).
/// </summary>
[LayerKind("max_pooling")]
public sealed partial class MaxPooling<T>(int poolH, int poolW, int stride = 2, int pad = 0) : PoolingLayer<T>(poolH, poolW, stride, pad)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private int[] _argmax = [];

    /// <inheritdoc/>
    internal override bool MasksAtOutputs => true;

    /// <inheritdoc/>
    private protected override unsafe void Pool(ReadOnlySpan<T> x, Span<T> y, int N, int C, int H, int W, int OH, int OW, int nc0, int nc1)
    {
        // The kernels index x by whole planes (and keep those indices): x's pointer moved back to where plane 0 would be.
        int x0 = nc0 * H * W;
        if (Pairs)
        {
            fixed (T* px = x, py = y)
            fixed (byte* pw = _winners)
                MaxPoolPairs.Pool((float*)px - x0, (float*)py, pw, nc0, nc1, H, W, OH, OW);
            return;
        }
        if (Pad == 0 && typeof(T) == typeof(float) && MaxPoolGathered.Available)
        {
            fixed (T* px = x, py = y)
            fixed (int* pa = _argmax, po = Offsets(OH, OW, W))
                MaxPoolGathered.Pool((float*)px - x0, (float*)py, pa, nc0, nc1, H, W, OH, OW, PoolH, PoolW, po);
            return;
        }
        if (Pad == 0)
        {
            // Every window lies inside x: no bounds to test. Row-major order, the first maximum kept (strict >).
            fixed (T* x1 = x, py = y)
            fixed (int* pa = _argmax)
            {
                T* px = x1 - x0;
                for (int nc = nc0; nc < nc1; nc++)
                    for (int oh = 0; oh < OH; oh++)
                    {
                        int o = (nc * OH + oh) * OW, row = (nc * H + oh * Stride) * W;
                        for (int ow = 0; ow < OW; ow++, o++)
                        {
                            int at = row + ow * Stride, first = at;
                            T best = px[at];
                            for (int i = 0; i < PoolH; i++)
                            {
                                int r = first + i * W;
                                for (int j = 0; j < PoolW; j++)
                                    if (px[r + j] > best) { best = px[r + j]; at = r + j; }
                            }
                            py[o] = best;
                            pa[o] = at;
                        }
                    }
            }
            return;
        }
        for (int nc = nc0; nc < nc1; nc++)
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
                            if (at < 0 || x[idx - x0] > best) { best = x[idx - x0]; at = idx; }   // the first maximum wins ties
                        }
                    }
                    int o = (nc * OH + oh) * OW + ow;
                    y[o] = best;
                    _argmax[o] = at;
                }
    }

    private int[] _offsets = [];
    private (int OH, int OW, int W) _offsetsFor;

    // The offset of each window's first cell in its plane, padded to whole vectors by repeating the last.
    private int[] Offsets(int OH, int OW, int W)
    {
        if (_offsetsFor == (OH, OW, W) && _offsets.Length > 0) return _offsets;
        int P = OH * OW;
        var offsets = new int[(P + 7) / 8 * 8];
        for (int o = 0; o < offsets.Length; o++)
        {
            int q = Math.Min(o, P - 1);
            offsets[o] = q / OW * Stride * W + q % OW * Stride;
        }
        (_offsets, _offsetsFor) = (offsets, (OH, OW, W));
        return offsets;
    }

    /// <inheritdoc/>
    private protected override unsafe void Unpool(ReadOnlySpan<T> dout, Span<T> dx, int N, int C, int H, int W, int OH, int OW, int nc0,
        int nc1)
    {
        if (Pairs)
        {
            // The kernel indexes whole tensors by plane: the spans' pointers moved back to where plane 0 would be.
            fixed (T* pd = dout, px = dx)
            fixed (byte* pw = _winners)
                MaxPoolPairs.Unpool((float*)pd - (long)nc0 * OH * OW, (float*)px - (long)nc0 * H * W, pw, nc0, nc1, H, W, OH, OW);
            return;
        }
        dx.Clear();
        int o0 = nc0 * OH * OW, x0 = nc0 * H * W;
        for (int o = o0; o < nc1 * OH * OW; o++) dx[_argmax[o] - x0] += dout[o - o0];
    }

    /// <inheritdoc/>
    private protected override void Prepare(int outputs)
    {
        if (Pairs)
        {
            if (_winners.Length != outputs + 16) _winners = new byte[outputs + 16];   // a whole vector read past the last row
            return;
        }
        if (_argmax.Length != outputs) _argmax = new int[outputs];
    }
}

/// <summary>
/// Average pooling: y = the mean of the pool_h×pool_w window, padded cells counted as zeros (the divisor is always
/// pool_h·pool_w, ONNX's count_include_pad); dx spreads dout/(pool_h·pool_w) over the window's cells inside x.
/// </summary>
[LayerKind("average_pooling")]
public sealed class AveragePooling<T>(int poolH, int poolW, int stride = 2, int pad = 0) : PoolingLayer<T>(poolH, poolW, stride, pad)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    private protected override void Pool(ReadOnlySpan<T> x, Span<T> y, int N, int C, int H, int W, int OH, int OW, int nc0, int nc1)
    {
        T inv = T.One / T.CreateTruncating(PoolH * PoolW);
        int x0 = nc0 * H * W;
        for (int nc = nc0; nc < nc1; nc++)
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
                            if ((uint)w < (uint)W) s += x[(nc * H + h) * W + w - x0];
                        }
                    }
                    y[(nc * OH + oh) * OW + ow] = s * inv;
                }
    }

    /// <inheritdoc/>
    private protected override void Unpool(ReadOnlySpan<T> dout, Span<T> dx, int N, int C, int H, int W, int OH, int OW, int nc0, int nc1)
    {
        dx.Clear();
        T inv = T.One / T.CreateTruncating(PoolH * PoolW);
        for (int nc = 0; nc < nc1 - nc0; nc++)
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
    private protected PoolingLayer(int poolH, int poolW, int stride, int pad)
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
        Prepare(y.Length);
        Run(forward: true, x, y, N, C, H, W, OH, OW);
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var x = RequireForward(_x);
        var (N, C, H, W, OH, OW) = Dims(x);
        CheckDout(dout, [N, C, OH, OW]);
        var dx = TensorBuffer.Ensure(ref _dx, x.Shape);
        Run(forward: false, dout, dx, N, C, H, W, OH, OW);
        return dx;
    }

    // Fusion (Sequential): a convolution followed by a ReLU and this layer pools each chunk of its output as soon as the
    // chunk is computed, while it is in cache, and runs this layer's backward pass chunk by chunk inside its own, so that
    // this layer's dx (as large as the convolution's output) is never written out and read back. The layer's state after
    // a fused forward pass is that of its own forward pass, so its own backward pass still works (an SGD step that updates
    // as it goes runs the layers apart).

    /// <summary>Starts a forward pass on x whose planes are then pooled a range at a time by <see cref="PoolPlanes"/>;
    /// returns y, computed as those calls go.</summary>
    internal Tensor<T> BeginFused(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (N, C, _, _, OH, OW) = Dims(x);
        _x = x;
        var y = TensorBuffer.Ensure(ref _y, [N, C, OH, OW]);
        Prepare(y.Length);
        return y;
    }

    /// <summary>The output of the last forward pass.</summary>
    internal Tensor<T>? Output => _y;

    /// <summary>The input of the last forward pass.</summary>
    internal Tensor<T>? Input => _x;

    /// <summary>y for the planes nc0 ≤ n·C + c &lt; nc1 of the input given to <see cref="BeginFused"/>, whose values
    /// <paramref name="x"/> holds (from plane nc0's first cell; the input tensor itself need not).</summary>
    internal void PoolPlanes(ReadOnlySpan<T> x, int nc0, int nc1)
    {
        var (N, C, H, W, OH, OW) = Dims(_x!);
        Pool(x, _y!.Span, N, C, H, W, OH, OW, nc0, nc1);
    }

    /// <summary>Throws unless dout has the shape of the last forward pass's y.</summary>
    internal void CheckFusedDout(Tensor<T> dout)
    {
        var (N, C, _, _, OH, OW) = Dims(RequireForward(_x));
        CheckDout(dout, [N, C, OH, OW]);
    }

    /// <summary>
    /// dx of the planes nc0..nc1 into <paramref name="dx"/> (which starts at plane nc0) from the whole
    /// <paramref name="dout"/>; with <paramref name="relu"/>, through the ReLU before this layer as well: masked where the
    /// ReLU's output, this layer's input, is positive. <paramref name="masked"/> holds the planes' outputs (max pooling
    /// masks dout there instead of dx).
    /// </summary>
    internal void UnpoolPlanes(ReadOnlySpan<T> dout, Span<T> dx, int nc0, int nc1, bool relu, Span<T> masked)
    {
        var (N, C, H, W, OH, OW) = Dims(_x!);
        int outputs = OH * OW, cells = H * W;
        var d = dout.Slice(nc0 * outputs, (nc1 - nc0) * outputs);
        bool early = relu && MasksAtOutputs;
        if (early)
        {
            Elementwise.ReluBackward<T>(_y!.Span.Slice(nc0 * outputs, d.Length), d, masked[..d.Length]);
            d = masked[..d.Length];
        }
        Unpool(d, dx, N, C, H, W, OH, OW, nc0, nc1);
        if (relu && !early) Elementwise.ReluBackward<T>(_x!.Span.Slice(nc0 * cells, dx.Length), dx, dx);
    }

    /// <summary>
    /// Whether masking dout where y &gt; 0 masks dx where x &gt; 0 (x a ReLU's output): true for max pooling, where only
    /// a window's winner receives its gradient and y is the winner's x. The mask then reads y, a quarter of x for 2×2
    /// windows.
    /// </summary>
    internal virtual bool MasksAtOutputs => false;

    /// <summary>y from x, for the planes (n, c) with nc0 ≤ n·C + c &lt; nc1: <paramref name="x"/> starts at plane nc0's
    /// first cell, <paramref name="y"/> is the whole output.</summary>
    private protected abstract void Pool(ReadOnlySpan<T> x, Span<T> y, int N, int C, int H, int W, int OH, int OW, int nc0, int nc1);

    /// <summary>dx from dout for the planes nc0 ≤ n·C + c &lt; nc1: <paramref name="dout"/> and <paramref name="dx"/> start at
    /// plane nc0 (its first output and its first input cell), and the planes' cells of dx are all overwritten.</summary>
    private protected abstract void Unpool(ReadOnlySpan<T> dout, Span<T> dx, int N, int C, int H, int W, int OH, int OW, int nc0, int nc1);

    /// <summary>Called before a forward pass with the number of outputs, to size what the layer keeps for backward.</summary>
    private protected virtual void Prepare(int outputs) { }

    // Planes are independent: split them between threads (the same work on each plane wherever it runs).
    private void Run(bool forward, Tensor<T> from, Tensor<T> to, int N, int C, int H, int W, int OH, int OW)
    {
        int parts = to.Length + from.Length < 1 << 16 ? 1 : Math.Min(Math.Min(Parallelism.MaxThreads, WorkerPool.Shared.Capacity), N * C);
        var job = _job ??= new PlaneJob(this);
        job.Set(forward, from, to, [N, C, H, W, OH, OW]);
        if (parts <= 1) job.Execute(0, 1);
        else WorkerPool.Shared.Run(job, parts);
        job.Set(forward, null, null, job.Dims);
    }

    private PlaneJob? _job;

    private sealed class PlaneJob(PoolingLayer<T> layer) : WorkerPool.IJob
    {
        private bool _forward;
        private Tensor<T>? _from, _to;
        public int[] Dims = new int[6];

        public void Set(bool forward, Tensor<T>? from, Tensor<T>? to, ReadOnlySpan<int> dims)
        {
            (_forward, _from, _to) = (forward, from, to);
            dims.CopyTo(Dims);
        }

        public void Execute(int part, int parts)
        {
            var d = Dims;
            var (lo, hi) = WorkerPool.Part(d[0] * d[1], 1, part, parts);
            if (lo >= hi) return;
            if (_forward) layer.Pool(_from!.Span[(lo * d[2] * d[3])..], _to!.Span, d[0], d[1], d[2], d[3], d[4], d[5], lo, hi);
            else
            {
                int inPlane = d[2] * d[3], outPlane = d[4] * d[5];
                layer.Unpool(_from!.Span[(lo * outPlane)..], _to!.Span.Slice(lo * inPlane, (hi - lo) * inPlane), d[0], d[1], d[2], d[3],
                    d[4], d[5], lo, hi);
            }
        }
    }

    private (int N, int C, int H, int W, int OH, int OW) Dims(Tensor<T> x)
    {
        if (x.Rank != 4) throw new ShapeMismatchException($"{Name}: x has shape {x.ShapeString}, but must be images (N, C, H, W)");
        int H = x.Dim(2), W = x.Dim(3);
        long Hp = H + 2L * Pad, Wp = W + 2L * Pad;   // in long: pad may be up to int.MaxValue − 1
        if (PoolH > Hp || PoolW > Wp)
            throw new ShapeMismatchException($"{Name}: the window {PoolH}×{PoolW} is larger than the padded input " +
                $"{Hp}×{Wp} (x {x.ShapeString}, pad {Pad})");
        long OH = (Hp - PoolH) / Stride + 1, OW = (Wp - PoolW) / Stride + 1;
        // The kernels index windows as oh·stride − pad + i in int: the padded plane must fit, and y must.
        if (!Tensor<T>.FitsInArray(Hp, Wp) || !Tensor<T>.FitsInArray(x.Dim(0), x.Dim(1), OH, OW))
            throw new ShapeMismatchException($"{Name}: x {x.ShapeString} padded by {Pad} is too large: a padded plane {Hp}×{Wp} and " +
                $"y ({x.Dim(0)}, {x.Dim(1)}, {OH}, {OW}) must each hold at most {Array.MaxLength} elements");
        return (x.Dim(0), x.Dim(1), H, W, (int)OH, (int)OW);
    }
}
