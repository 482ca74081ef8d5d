using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// Convolutions with few taps C·FH·FW (DeepConvNet's first layer: one channel, 3×3), computed straight from the shifted
/// form's planes (<see cref="ShiftedConvolution"/>) with vectors along each output row and every weight broadcast.
/// </summary>
/// <remarks>
/// With nine taps a product does nine multiply-adds per output and the layer is bound by writing y and reading dout, not
/// by arithmetic: this form writes y in place in (N, FN, OH, OW) with the bias and the ReLU applied, and reads dout (and
/// y for the ReLU's mask) once for dW and db, where the products needed a transposed copy of each. Output (s, oh, ow) of
/// tap k reads planes[offsets[k] + (s·V + oh)·R + ow], so a vector of outputs along a row reads a vector of each tap.
/// Every load and store is masked: all lanes, except on a row's last vector, whose lanes past OW read and write nothing
/// (a masked access with all lanes ran as fast as a plain one here, and the loop needs no branch). dx is the forward pass of
/// dx's convolution (<see cref="ShiftedConvolution.Adjoint"/>), whose taps are FN·FH·FW.
/// </remarks>
internal static unsafe class DirectConvolution
{
    /// <summary>The most taps C·FH·FW of this form: dW keeps one accumulator per tap in registers.</summary>
    public const int MaxTaps = 9;

    /// <summary>Whether the form runs here: it needs 512-bit vectors (masked loads and stores).</summary>
    public static bool Available => Vector512.IsHardwareAccelerated;

    /// <summary>
    /// y[s, f, oh, ow] = b[f] + Σ_k w[f, k]·planes[offsets[k] + (s·V + oh)·R + ow] for the geometry's OH×OW outputs
    /// (max(·, 0) with <paramref name="relu"/>), w (filters, taps), y (samples, filters, OH, OW). Any number of taps.
    /// </summary>
    public static void Forward<T>(ShiftedConvolution g, T* planes, int samples, T* w, T* b, int filters, T* y, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int K = g.Offsets.Length, L = Vector512<T>.Count, OW = g.OW;
        long P = (long)g.OH * OW;
        fixed (long* offsets = g.Offsets)
            for (int s = 0; s < samples; s++)
                for (int oh = 0; oh < g.OH; oh++)
                {
                    T* row = planes + (long)(s * g.V + oh) * g.R;
                    T* yrow = y + s * filters * P + (long)oh * OW;
                    for (int ow = 0; ow < OW; ow += L)
                    {
                        var mask = OW - ow < L ? Simd.FirstLanes<T>(OW - ow) : Vector512<T>.AllBitsSet;
                        int f = 0;
                        for (; f + 8 <= filters; f += 8)
                            EightFilters(row + ow, offsets, K, w + (long)f * K, b + f, yrow + f * P + ow, P, mask, relu);
                        for (; f < filters; f++)
                        {
                            var a = Vector512.Create(b[f]);
                            T* wf = w + (long)f * K, x = row + ow;
                            for (int k = 0; k < K; k++) a = Simd.Fma(Vector512.Create(wf[k]), Simd.MaskLoad(x + offsets[k], mask), a);
                            Store(yrow + f * P + ow, a, mask, relu);
                        }
                    }
                }
    }

    // Eight filters' outputs for one vector of a row: each tap's vector loaded once for all eight.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EightFilters<T>(T* x, long* offsets, int K, T* w, T* b, T* y, long P, Vector512<T> mask, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> a0 = Vector512.Create(b[0]), a1 = Vector512.Create(b[1]), a2 = Vector512.Create(b[2]),
            a3 = Vector512.Create(b[3]), a4 = Vector512.Create(b[4]), a5 = Vector512.Create(b[5]),
            a6 = Vector512.Create(b[6]), a7 = Vector512.Create(b[7]);
        for (int k = 0; k < K; k++)
        {
            var v = Simd.MaskLoad(x + offsets[k], mask);
            a0 = Simd.Fma(Vector512.Create(w[k]), v, a0);
            a1 = Simd.Fma(Vector512.Create(w[K + k]), v, a1);
            a2 = Simd.Fma(Vector512.Create(w[2 * K + k]), v, a2);
            a3 = Simd.Fma(Vector512.Create(w[3 * K + k]), v, a3);
            a4 = Simd.Fma(Vector512.Create(w[4 * K + k]), v, a4);
            a5 = Simd.Fma(Vector512.Create(w[5 * K + k]), v, a5);
            a6 = Simd.Fma(Vector512.Create(w[6 * K + k]), v, a6);
            a7 = Simd.Fma(Vector512.Create(w[7 * K + k]), v, a7);
        }
        Store(y, a0, mask, relu);
        Store(y + P, a1, mask, relu);
        Store(y + 2 * P, a2, mask, relu);
        Store(y + 3 * P, a3, mask, relu);
        Store(y + 4 * P, a4, mask, relu);
        Store(y + 5 * P, a5, mask, relu);
        Store(y + 6 * P, a6, mask, relu);
        Store(y + 7 * P, a7, mask, relu);
    }

    /// <summary>
    /// dW[f, k] = Σ_{s, oh, ow} d[s, f, oh, ow]·planes[offsets[k] + (s·V + oh)·R + ow] and db[f] = Σ d[s, f, ·] into
    /// <paramref name="dw"/> (filters, taps) and <paramref name="db"/>, where d is dout (samples, filters, OH, OW), or with
    /// <paramref name="y"/> the ReLU's backward of it: dout where y &gt; 0, else 0. At most <see cref="MaxTaps"/> taps.
    /// </summary>
    public static void WeightGradient<T>(ShiftedConvolution g, T* planes, int samples, T* dout, T* y, int filters, T* dw, T* db)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int K = g.Offsets.Length, L = Vector512<T>.Count, OW = g.OW;
        if (K > MaxTaps) throw new ArgumentOutOfRangeException(nameof(g), $"DirectConvolution: {K} taps, at most {MaxTaps}");
        long P = (long)g.OH * OW;
        // The taps' offsets, the ones past K pointing at tap 0: their sums are computed and dropped.
        long* o = stackalloc long[MaxTaps];
        for (int k = 0; k < MaxTaps; k++) o[k] = g.Offsets[k < K ? k : 0];
        for (int f = 0; f < filters; f += 2)
        {
            // Two filters at a time, each tap's vector loaded once for both (an odd last filter is paired with itself).
            int f2 = Math.Min(f + 1, filters - 1);
            Vector512<T> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default,
                a7 = default, a8 = default, c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
                c6 = default, c7 = default, c8 = default, sa = default, sc = default;
            for (int s = 0; s < samples; s++)
            {
                long plane = (s * (long)filters + f) * P, plane2 = (s * (long)filters + f2) * P;
                for (int oh = 0; oh < g.OH; oh++)
                {
                    T* row = planes + (long)(s * g.V + oh) * g.R;
                    long at = plane + (long)oh * OW, at2 = plane2 + (long)oh * OW;
                    for (int ow = 0; ow < OW; ow += L)
                    {
                        var mask = OW - ow < L ? Simd.FirstLanes<T>(OW - ow) : Vector512<T>.AllBitsSet;
                        var d = Simd.MaskLoad(dout + at + ow, mask);
                        var e = Simd.MaskLoad(dout + at2 + ow, mask);
                        if (y is not null)
                        {
                            d = ReluBackwardOp<T>.Invoke(Simd.MaskLoad(y + at + ow, mask), d);
                            e = ReluBackwardOp<T>.Invoke(Simd.MaskLoad(y + at2 + ow, mask), e);
                        }
                        sa += d;
                        sc += e;
                        T* x = row + ow;
                        var v = Simd.MaskLoad(x + o[0], mask);
                        (a0, c0) = (Simd.Fma(d, v, a0), Simd.Fma(e, v, c0));
                        v = Simd.MaskLoad(x + o[1], mask);
                        (a1, c1) = (Simd.Fma(d, v, a1), Simd.Fma(e, v, c1));
                        v = Simd.MaskLoad(x + o[2], mask);
                        (a2, c2) = (Simd.Fma(d, v, a2), Simd.Fma(e, v, c2));
                        v = Simd.MaskLoad(x + o[3], mask);
                        (a3, c3) = (Simd.Fma(d, v, a3), Simd.Fma(e, v, c3));
                        v = Simd.MaskLoad(x + o[4], mask);
                        (a4, c4) = (Simd.Fma(d, v, a4), Simd.Fma(e, v, c4));
                        v = Simd.MaskLoad(x + o[5], mask);
                        (a5, c5) = (Simd.Fma(d, v, a5), Simd.Fma(e, v, c5));
                        v = Simd.MaskLoad(x + o[6], mask);
                        (a6, c6) = (Simd.Fma(d, v, a6), Simd.Fma(e, v, c6));
                        v = Simd.MaskLoad(x + o[7], mask);
                        (a7, c7) = (Simd.Fma(d, v, a7), Simd.Fma(e, v, c7));
                        v = Simd.MaskLoad(x + o[8], mask);
                        (a8, c8) = (Simd.Fma(d, v, a8), Simd.Fma(e, v, c8));
                    }
                }
            }
            Sums(dw + (long)f2 * K, K, c0, c1, c2, c3, c4, c5, c6, c7, c8);
            Sums(dw + (long)f * K, K, a0, a1, a2, a3, a4, a5, a6, a7, a8);
            db[f2] = Vector512.Sum(sc);
            db[f] = Vector512.Sum(sa);
        }
    }

    // dw[k] = the sum of tap k's lanes, for the first K taps.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sums<T>(T* dw, int K, Vector512<T> a0, Vector512<T> a1, Vector512<T> a2, Vector512<T> a3, Vector512<T> a4,
        Vector512<T> a5, Vector512<T> a6, Vector512<T> a7, Vector512<T> a8) where T : unmanaged, IFloatingPointIeee754<T>
    {
        dw[0] = Vector512.Sum(a0);
        if (K > 1) dw[1] = Vector512.Sum(a1);
        if (K > 2) dw[2] = Vector512.Sum(a2);
        if (K > 3) dw[3] = Vector512.Sum(a3);
        if (K > 4) dw[4] = Vector512.Sum(a4);
        if (K > 5) dw[5] = Vector512.Sum(a5);
        if (K > 6) dw[6] = Vector512.Sum(a6);
        if (K > 7) dw[7] = Vector512.Sum(a7);
        if (K > 8) dw[8] = Vector512.Sum(a8);
    }

    // A row's vector, masked past the row's end (a mask of all lanes elsewhere: the same speed as a plain store).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* p, Vector512<T> v, Vector512<T> mask, bool relu)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (relu) v = ReluForwardOp<T>.Invoke(v, default);
        Simd.MaskStore(p, mask, v);
    }
}
