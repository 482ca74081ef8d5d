using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// im2col and col2im in the layout the convolution's products want: every FH×FW window of x (N, C, H, W), with zero
/// padding, as a column of col (C·FH·FW, N·OH·OW). Row k = (c·FH + i)·FW + j (the order of a filter (C, FH, FW)
/// flattened), column (n·OH + oh)·OW + ow. This is the transpose of the textbook's col (N·OH·OW, C·FH·FW): with it,
/// y = W·col is one product with the filters as its few rows and the pixels of the batch as its many columns, and
/// each row of col holds runs of OW consecutive pixels of one input row (a copy when stride is 1).
/// </summary>
internal static class Im2Col
{
    /// <summary>The output size along one axis: (size + 2·pad − filter)/stride + 1, floored.</summary>
    /// <exception cref="ShapeMismatchException">No window fits, or the padded size is beyond any array.</exception>
    public static int OutputSize(int size, int filter, int stride, int pad)
    {
        long padded = size + 2L * pad;   // in long: pad may be up to int.MaxValue
        if (size < 0 || filter < 1 || stride < 1 || pad < 0 || filter > padded || padded > Array.MaxLength)
            throw new ShapeMismatchException($"Im2Col: no window of {filter} at stride {stride} fits a size of {size} padded by {pad}");
        return (int)((padded - filter) / stride + 1);
    }

    /// <summary>
    /// col[(c·FH + i)·FW + j, (n·OH + oh)·OW + ow] = x[n, c, oh·stride − pad + i, ow·stride − pad + j] (0 outside x), for
    /// the samples n0 ≤ n &lt; n1 only (the others' columns are left as they are), so that samples can be split between
    /// threads.
    /// </summary>
    public static unsafe void Unfold<T>(ReadOnlySpan<T> x, int N, int C, int H, int W, int FH, int FW, int stride, int pad,
        Span<T> col, int n0 = 0, int n1 = -1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int OH = OutputSize(H, FH, stride, pad), OW = OutputSize(W, FW, stride, pad), P = Pixels(OH, OW);
        long cols = (long)N * P;
        Check(x.Length, col.Length, N, C, H, W, FH, FW, cols, ref n1, n0);
        if (stride == 1 && Avx512F.IsSupported)
        {
            // Each input plane is copied once into a zero-padded plane; then every run of OW pixels (24 in SimpleConvNet)
            // is a plain copy from it, whole vectors and one masked tail, with no bounds to test.
            int w = Vector512<T>.Count, Hp = H + 2 * pad, Wp = W + 2 * pad, vectors = (OW + w - 1) / w;
            var keep = Simd.FirstLanes<T>(OW - (vectors - 1) * w);
            var padded = PaddedPlane<T>.Get((long)Hp * Wp + w);
            fixed (T* px = x, pc = col, pp = padded)
                for (int n = n0; n < n1; n++)
                    for (int c = 0; c < C; c++)
                    {
                        new Span<T>(pp, Hp * Wp).Clear();
                        for (int h = 0; h < H; h++)
                            new ReadOnlySpan<T>(px + ((long)(n * C + c) * H + h) * W, W).CopyTo(new Span<T>(pp + (h + pad) * Wp + pad, W));
                        for (int i = 0; i < FH; i++)
                            for (int j = 0; j < FW; j++)
                            {
                                T* dst = pc + ((c * FH + i) * FW + j) * cols + (long)n * P;
                                T* src = pp + i * Wp + j;
                                for (int oh = 0; oh < OH; oh++, dst += OW, src += Wp)
                                {
                                    int v = 0;
                                    for (; v < (vectors - 1) * w; v += w) Vector512.Store(Vector512.Load(src + v), dst + v);
                                    Simd.MaskStore(dst + v, keep, Simd.MaskLoad(src + v, keep));
                                }
                            }
                    }
            return;
        }
        for (int c = 0; c < C; c++)
            for (int i = 0; i < FH; i++)
                for (int j = 0; j < FW; j++)
                {
                    var row = col.Slice((int)(((c * FH + i) * FW + j) * cols), (int)cols);
                    var (lo, hi) = Inside(W, OW, stride, pad, j);   // the ow whose pixel lies inside the row
                    for (int n = n0; n < n1; n++)
                        for (int oh = 0; oh < OH; oh++)
                        {
                            var dst = row.Slice(n * P + oh * OW, OW);
                            int h = oh * stride - pad + i;
                            if ((uint)h >= (uint)H || lo >= hi)
                            {
                                dst.Clear();
                                continue;
                            }
                            dst[..lo].Clear();
                            dst[hi..].Clear();
                            var src = x.Slice(((n * C + c) * H + h) * W);
                            int w0 = lo * stride - pad + j;
                            if (stride == 1) src.Slice(w0, hi - lo).CopyTo(dst[lo..hi]);
                            else
                                for (int ow = lo, w = w0; ow < hi; ow++, w += stride) dst[ow] = src[w];
                        }
                }
    }

    /// <summary>
    /// The adjoint of <see cref="Unfold{T}"/>: for the samples n0 ≤ n &lt; n1, dx[n] = 0, then every col entry of theirs
    /// added onto the pixel it came from.
    /// </summary>
    public static unsafe void Fold<T>(ReadOnlySpan<T> col, int N, int C, int H, int W, int FH, int FW, int stride, int pad, Span<T> dx,
        int n0 = 0, int n1 = -1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int OH = OutputSize(H, FH, stride, pad), OW = OutputSize(W, FW, stride, pad), P = Pixels(OH, OW);
        long cols = (long)N * P;
        Check(dx.Length, col.Length, N, C, H, W, FH, FW, cols, ref n1, n0);
        dx.Slice(n0 * C * H * W, (n1 - n0) * C * H * W).Clear();
        int vectors = (W + Vector512<T>.Count - 1) / Vector512<T>.Count;
        if (stride == 1 && Avx512F.IsSupported && vectors * FW <= 256)
        {
            // Each pixel gathers its contributions, (i, j) in the loop below's order and from the same zero, so the sums
            // round the same; a vector of pixels of a row at a time, each written once (no store feeds a later load).
            int w = Vector512<T>.Count;
            var take = stackalloc Vector512<T>[vectors * FW];   // lanes of vector v whose ow = w + pad − j lies in [0, OW)
            for (int j = 0; j < FW; j++)
                for (int v = 0; v < vectors; v++)
                    take[j * vectors + v] = Lanes<T>(Math.Max(0, j - pad) - v * w, Math.Min(W, j - pad + OW) - v * w);
            fixed (T* pc = col, pd = dx)
                for (int n = n0; n < n1; n++)
                    for (int c = 0; c < C; c++)
                        for (int h = 0; h < H; h++)
                        {
                            T* dst = pd + ((long)(n * C + c) * H + h) * W;
                            for (int v = 0; v < vectors; v++)
                            {
                                var acc = Vector512<T>.Zero;
                                for (int i = 0; i < FH; i++)
                                {
                                    int oh = h + pad - i;
                                    if ((uint)oh >= (uint)OH) continue;
                                    for (int j = 0; j < FW; j++)
                                    {
                                        // col[(c, i, j), (n, oh, ow)] with ow = w + pad − j for the lanes' pixels w
                                        T* src = pc + ((c * FH + i) * FW + j) * cols + (long)n * P + (long)oh * OW + pad - j + v * w;
                                        acc += Simd.MaskLoad(src, take[j * vectors + v]);
                                    }
                                }
                                Simd.MaskStore(dst + v * w, Simd.FirstLanes<T>(Math.Min(w, W - v * w)), acc);
                            }
                        }
            return;
        }
        for (int n = n0; n < n1; n++)
            for (int c = 0; c < C; c++)
                for (int i = 0; i < FH; i++)
                    for (int j = 0; j < FW; j++)
                    {
                        var row = col.Slice((int)(((c * FH + i) * FW + j) * cols) + n * P, P);
                        var (lo, hi) = Inside(W, OW, stride, pad, j);
                        if (lo >= hi) continue;
                        for (int oh = 0; oh < OH; oh++)
                        {
                            int h = oh * stride - pad + i;
                            if ((uint)h >= (uint)H) continue;
                            var dst = dx.Slice(((n * C + c) * H + h) * W);
                            var src = row.Slice(oh * OW);
                            int w0 = lo * stride - pad + j;
                            if (stride == 1) System.Numerics.Tensors.TensorPrimitives.Add(dst.Slice(w0, hi - lo), src[lo..hi],
                                dst.Slice(w0, hi - lo));
                            else
                                for (int ow = lo, w = w0; ow < hi; ow++, w += stride) dst[w] += src[ow];
                        }
                    }
    }

    // One zero-padded input plane per thread, kept between calls (no allocation in a training step).
    private static class PaddedPlane<T>
    {
        [ThreadStatic] private static T[]? t_plane;

        public static T[] Get(long n)
        {
            if (t_plane is null || t_plane.Length < n) t_plane = new T[n];
            return t_plane;
        }
    }

    // The lanes l with from ≤ l < to.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Lanes<T>(int from, int to) where T : unmanaged, IFloatingPointIeee754<T> =>
        Simd.FirstLanes<T>(Math.Clamp(to, 0, Vector512<T>.Count)) & ~Simd.FirstLanes<T>(Math.Clamp(from, 0, Vector512<T>.Count));

    // The range [lo, hi) of ow whose column w = ow·stride − pad + j lies in [0, W).
    private static (int Lo, int Hi) Inside(int W, int OW, int stride, int pad, int j)
    {
        // In long: pad − j + stride − 1 wraps in int for a stride near int.MaxValue.
        int lo = (int)Math.Min(OW, Math.Max(0L, ((long)pad - j + stride - 1) / stride));
        long last = (long)W - 1 + pad - j;
        int hi = last < 0 ? 0 : (int)Math.Min(OW, last / stride + 1);
        return (lo, Math.Max(lo, hi));
    }

    private static int Pixels(int OH, int OW) => (long)OH * OW <= Array.MaxLength ? OH * OW
        : throw new ShapeMismatchException($"Im2Col: {OH}×{OW} output pixels are beyond any array");

    private static void Check(int xLength, int colLength, int N, int C, int H, int W, int FH, int FW, long cols, ref int n1, int n0)
    {
        if (n1 < 0) n1 = N;
        if (n0 < 0 || n1 > N || n0 > n1) throw new ArgumentOutOfRangeException(nameof(n0), "Im2Col: sample range outside the batch");
        if (xLength < (long)N * C * H * W || colLength < (long)C * FH * FW * cols) throw new ArgumentException("Im2Col: span too small");
    }
}
