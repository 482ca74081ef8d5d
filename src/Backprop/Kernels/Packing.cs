using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// The data movement of GEMM packing: interleaving rows into micro-panels (a transpose) and short padded copies.
/// </summary>
/// <remarks>
/// Packing a row-major operand whose rows run along k (A of y = x·W, or Wᵀ of dx = dout·Wᵀ) is a transpose of
/// blocks of rows. Element by element it costs a load and a store per value, about a fifth of a 100×784×256 product;
/// in 8×8 (float) or 4×4 (double) register transposes it costs a few shuffles per vector instead.
/// </remarks>
internal static unsafe class Packing
{
    /// <summary>panel[k·width + r] = src[r][k] for r &lt; count, zero for count ≤ r &lt; width, k &lt; kc.</summary>
    /// <param name="src">The rows: <paramref name="count"/> pointers to <paramref name="kc"/> contiguous values each.</param>
    /// <param name="count">The number of rows.</param>
    /// <param name="width">The panel's row length (at least <paramref name="count"/>).</param>
    /// <param name="kc">The values per row: the panel's number of rows.</param>
    /// <param name="panel">The destination, <paramref name="kc"/>·<paramref name="width"/> elements.</param>
    /// <param name="vector">false forces the element-by-element loop (the portable path, and its tests).</param>
    /// <param name="pad">false leaves columns count ≤ r &lt; width untouched (a slice of a wider transpose).</param>
    public static void Interleave<T>(T** src, int count, int width, int kc, T* panel, bool vector, bool pad = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int r = 0;
        if (vector && Avx.IsSupported)
        {
            if (typeof(T) == typeof(float))
            {
                for (; r + 8 <= count; r += 8) Transpose8((float**)src + r, width, kc, (float*)panel + r);
                if (r + 4 <= count) { Transpose4((float**)src + r, width, kc, (float*)panel + r); r += 4; }
            }
            else if (typeof(T) == typeof(double))
            {
                for (; r + 4 <= count; r += 4) Transpose4((double**)src + r, width, kc, (double*)panel + r);
            }
        }
        int end = pad ? width : count;
        if (r == end) return;
        for (int k = 0; k < kc; k++)
        {
            T* d = panel + (long)k * width;
            int i = r;
            for (; i < count; i++) d[i] = src[i][k];
            for (; i < end; i++) d[i] = T.Zero;
        }
    }

    // Rows src[0..8) → columns [0, 8) of panel rows k: 8×8 blocks transposed in registers (unpack, shuffle, lane swap).
    private static void Transpose8(float** src, int width, int kc, float* panel)
    {
        float* p0 = src[0], p1 = src[1], p2 = src[2], p3 = src[3], p4 = src[4], p5 = src[5], p6 = src[6], p7 = src[7];
        int k = 0;
        for (; k + 8 <= kc; k += 8)
        {
            var t0 = Avx.UnpackLow(Avx.LoadVector256(p0 + k), Avx.LoadVector256(p1 + k));    // a0 b0 a1 b1 | a4 b4 a5 b5
            var t1 = Avx.UnpackHigh(Avx.LoadVector256(p0 + k), Avx.LoadVector256(p1 + k));   // a2 b2 a3 b3 | a6 b6 a7 b7
            var t2 = Avx.UnpackLow(Avx.LoadVector256(p2 + k), Avx.LoadVector256(p3 + k));
            var t3 = Avx.UnpackHigh(Avx.LoadVector256(p2 + k), Avx.LoadVector256(p3 + k));
            var t4 = Avx.UnpackLow(Avx.LoadVector256(p4 + k), Avx.LoadVector256(p5 + k));
            var t5 = Avx.UnpackHigh(Avx.LoadVector256(p4 + k), Avx.LoadVector256(p5 + k));
            var t6 = Avx.UnpackLow(Avx.LoadVector256(p6 + k), Avx.LoadVector256(p7 + k));
            var t7 = Avx.UnpackHigh(Avx.LoadVector256(p6 + k), Avx.LoadVector256(p7 + k));
            var s0 = Avx.Shuffle(t0, t2, 0x44);   // a0 b0 c0 d0 | a4 b4 c4 d4
            var s1 = Avx.Shuffle(t0, t2, 0xEE);   // a1 b1 c1 d1 | a5 b5 c5 d5
            var s2 = Avx.Shuffle(t1, t3, 0x44);   // a2 … | a6 …
            var s3 = Avx.Shuffle(t1, t3, 0xEE);   // a3 … | a7 …
            var s4 = Avx.Shuffle(t4, t6, 0x44);   // e0 f0 g0 h0 | e4 f4 g4 h4
            var s5 = Avx.Shuffle(t4, t6, 0xEE);
            var s6 = Avx.Shuffle(t5, t7, 0x44);
            var s7 = Avx.Shuffle(t5, t7, 0xEE);
            float* d = panel + (long)k * width;
            Avx.Store(d, Avx.Permute2x128(s0, s4, 0x20));
            Avx.Store(d + width, Avx.Permute2x128(s1, s5, 0x20));
            Avx.Store(d + 2 * width, Avx.Permute2x128(s2, s6, 0x20));
            Avx.Store(d + 3 * width, Avx.Permute2x128(s3, s7, 0x20));
            Avx.Store(d + 4 * width, Avx.Permute2x128(s0, s4, 0x31));
            Avx.Store(d + 5 * width, Avx.Permute2x128(s1, s5, 0x31));
            Avx.Store(d + 6 * width, Avx.Permute2x128(s2, s6, 0x31));
            Avx.Store(d + 7 * width, Avx.Permute2x128(s3, s7, 0x31));
        }
        for (; k < kc; k++)
        {
            float* d = panel + (long)k * width;
            d[0] = p0[k]; d[1] = p1[k]; d[2] = p2[k]; d[3] = p3[k]; d[4] = p4[k]; d[5] = p5[k]; d[6] = p6[k]; d[7] = p7[k];
        }
    }

    private static void Transpose4(float** src, int width, int kc, float* panel)
    {
        float* p0 = src[0], p1 = src[1], p2 = src[2], p3 = src[3];
        int k = 0;
        for (; k + 4 <= kc; k += 4)
        {
            var t0 = Sse.UnpackLow(Sse.LoadVector128(p0 + k), Sse.LoadVector128(p1 + k));    // a0 b0 a1 b1
            var t1 = Sse.UnpackHigh(Sse.LoadVector128(p0 + k), Sse.LoadVector128(p1 + k));   // a2 b2 a3 b3
            var t2 = Sse.UnpackLow(Sse.LoadVector128(p2 + k), Sse.LoadVector128(p3 + k));    // c0 d0 c1 d1
            var t3 = Sse.UnpackHigh(Sse.LoadVector128(p2 + k), Sse.LoadVector128(p3 + k));   // c2 d2 c3 d3
            float* d = panel + (long)k * width;
            Sse.Store(d, Sse.MoveLowToHigh(t0, t2));              // a0 b0 c0 d0
            Sse.Store(d + width, Sse.MoveHighToLow(t2, t0));      // a1 b1 c1 d1
            Sse.Store(d + 2 * width, Sse.MoveLowToHigh(t1, t3));  // a2 b2 c2 d2
            Sse.Store(d + 3 * width, Sse.MoveHighToLow(t3, t1));  // a3 b3 c3 d3
        }
        for (; k < kc; k++)
        {
            float* d = panel + (long)k * width;
            d[0] = p0[k]; d[1] = p1[k]; d[2] = p2[k]; d[3] = p3[k];
        }
    }

    private static void Transpose4(double** src, int width, int kc, double* panel)
    {
        double* p0 = src[0], p1 = src[1], p2 = src[2], p3 = src[3];
        int k = 0;
        for (; k + 4 <= kc; k += 4)
        {
            var t0 = Avx.UnpackLow(Avx.LoadVector256(p0 + k), Avx.LoadVector256(p1 + k));    // a0 b0 | a2 b2
            var t1 = Avx.UnpackHigh(Avx.LoadVector256(p0 + k), Avx.LoadVector256(p1 + k));   // a1 b1 | a3 b3
            var t2 = Avx.UnpackLow(Avx.LoadVector256(p2 + k), Avx.LoadVector256(p3 + k));    // c0 d0 | c2 d2
            var t3 = Avx.UnpackHigh(Avx.LoadVector256(p2 + k), Avx.LoadVector256(p3 + k));   // c1 d1 | c3 d3
            double* d = panel + (long)k * width;
            Avx.Store(d, Avx.Permute2x128(t0, t2, 0x20));
            Avx.Store(d + width, Avx.Permute2x128(t1, t3, 0x20));
            Avx.Store(d + 2 * width, Avx.Permute2x128(t0, t2, 0x31));
            Avx.Store(d + 3 * width, Avx.Permute2x128(t1, t3, 0x31));
        }
        for (; k < kc; k++)
        {
            double* d = panel + (long)k * width;
            d[0] = p0[k]; d[1] = p1[k]; d[2] = p2[k]; d[3] = p3[k];
        }
    }

    /// <summary>
    /// Splits one row of an operand into micro-panel rows: panel p receives src[p·width, (p+1)·width) at
    /// dst + p·panelStride, the last one zero-padded to <paramref name="width"/> (at most two vectors; AVX-512).
    /// </summary>
    /// <remarks>
    /// The packing of B of y = x·W (and of Aᵀ of dW = xᵀ·dout) row by row: a call per panel row to
    /// <see cref="CopyPadded"/> cost 15–40 % of a 100×784×100 product; here each panel row is one or two vector moves
    /// with masks fixed per call.
    /// </remarks>
    public static void SplitRow<T>(T* src, int count, int width, T* dst, long panelStride) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        int j = 0;
        if (width == 2 * W)
        {
            for (; j + 2 * W <= count; j += 2 * W, dst += panelStride)
            {
                Vector512.Store(Vector512.Load(src + j), dst);
                Vector512.Store(Vector512.Load(src + j + W), dst + W);
            }
        }
        else if (width <= W)
        {
            var s0 = Simd.FirstLanes<T>(width);
            for (; j + width <= count; j += width, dst += panelStride) Simd.MaskStore(dst, s0, Simd.MaskLoad(src + j, s0));
        }
        else
        {
            var s1 = Simd.FirstLanes<T>(width - W);
            for (; j + width <= count; j += width, dst += panelStride)
            {
                Vector512.Store(Vector512.Load(src + j), dst);
                Simd.MaskStore(dst + W, s1, Simd.MaskLoad(src + j + W, s1));
            }
        }
        if (j < count)
        {
            // The last panel: the values left, then zeros up to the width.
            int rest = count - j;
            Simd.MaskStore(dst, Simd.FirstLanes<T>(Math.Min(width, W)), Simd.MaskLoad(src + j, Simd.FirstLanes<T>(Math.Min(rest, W))));
            if (width > W)
                Simd.MaskStore(dst + W, Simd.FirstLanes<T>(width - W), Simd.MaskLoad(src + j + W, Simd.FirstLanes<T>(Math.Max(rest - W,
                    0))));
        }
    }

    /// <summary>d[0..count) = s[0..count), d[count..width) = 0, for the short runs of a transposed operand's panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyPadded<T>(T* s, T* d, int count, int width, bool vector) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (vector)
        {
            if (Vector512.IsHardwareAccelerated)
                for (; i + Vector512<T>.Count <= count; i += Vector512<T>.Count) Vector512.Store(Vector512.Load(s + i), d + i);
            for (; i + Vector256<T>.Count <= count; i += Vector256<T>.Count) Vector256.Store(Vector256.Load(s + i), d + i);
            for (; i + Vector128<T>.Count <= count; i += Vector128<T>.Count) Vector128.Store(Vector128.Load(s + i), d + i);
        }
        for (; i < count; i++) d[i] = s[i];
        for (; i < width; i++) d[i] = T.Zero;
    }
}
