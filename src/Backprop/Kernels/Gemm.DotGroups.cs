using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

// Dot products of rows of C against a transposed B, a vector of columns at a time, summed across lanes by a shuffle tree.
internal static unsafe partial class Gemm
{
    // c[0..n) (=|+=) b_j·a (+ bias) for the n rows b_j = b + j·ldb of length K: the dot products of one row of C against a
    // transposed B, one vector of columns at a time. Each of the W rows of a group accumulates a vector over k (the last
    // chunk masked), then the W vectors are summed across lanes together by a tree of shuffles, which leaves the W dot
    // products in one vector (a fraction of the work of W separate horizontal sums). A last short group repeats its last
    // row; every column gets the same operations wherever its group starts, so column splits are bit-identical.
    private static void DotGroups<T>(T* a, T* b, int ldb, T* c, int n, int K, T* bias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        var tail = Simd.FirstLanes<T>(K - (K - 1) / W * W);   // lanes of the last chunk, 1..W of them
        int last = (K - 1) / W * W;
        T** rows = stackalloc T*[16];
        for (int j = 0; j < n; j += W)
        {
            int count = Math.Min(W, n - j);
            Vector512<T> sum;
            if (typeof(T) == typeof(float) && count == W)
                sum = DotGroup16Strided((float*)(b + (long)j * ldb), ldb, (float*)a, K, last, tail.AsSingle()).As<float, T>();
            else
            {
                for (int s = 0; s < W; s++) rows[s] = b + (long)(j + Math.Min(SlotColumn<T>(s), count - 1)) * ldb;
                sum = typeof(T) == typeof(float) ? DotGroup16((float**)rows, (float*)a, K, last, tail.AsSingle()).As<float, T>()
                                                 : DotGroup8((double**)rows, (double*)a, K, last, tail.AsDouble()).As<double, T>();
            }
            var mask = Simd.FirstLanes<T>(count);
            if (bias != null) sum += Simd.MaskLoad(bias + j, mask);
            if (accumulate) sum += Simd.MaskLoad(c + j, mask);
            Simd.MaskStore(c + j, mask, sum);
        }
    }

    // The column of a group fed into accumulator slot s: the shuffle tree leaves slot s's sum in lane 4·(s mod 4) + s / 4
    // (float, a 4×4 transpose of the index) or 2·(s mod 4) + s / 4 (double), so feeding that column puts every sum in its
    // own lane.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SlotColumn<T>(int s) => typeof(T) == typeof(float) ? 4 * (s % 4) + s / 4 : 2 * (s % 4) + s / 4;

    private static Vector512<float> DotGroup16(float** r, float* a, int K, int last, Vector512<float> tail)
    {
        Vector512<float> v0 = default, v1 = default, v2 = default, v3 = default, v4 = default, v5 = default, v6 = default, v7 = default;
        Vector512<float> v8 = default, v9 = default, v10 = default, v11 = default, v12 = default, v13 = default, v14 = default,
            v15 = default;
        float* r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4], r5 = r[5], r6 = r[6], r7 = r[7];
        float* r8 = r[8], r9 = r[9], r10 = r[10], r11 = r[11], r12 = r[12], r13 = r[13], r14 = r[14], r15 = r[15];
        for (int k = 0; k < last; k += 16)
        {
            var x = Vector512.Load(a + k);
            v0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r0 + k), v0); v1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r1 + k), v1);
            v2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r2 + k), v2); v3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r3 + k), v3);
            v4 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r4 + k), v4); v5 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r5 + k), v5);
            v6 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r6 + k), v6); v7 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r7 + k), v7);
            v8 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r8 + k), v8); v9 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r9 + k), v9);
            v10 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r10 + k), v10);
            v11 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r11 + k), v11);
            v12 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r12 + k), v12);
            v13 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r13 + k), v13);
            v14 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r14 + k), v14);
            v15 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r15 + k), v15);
        }
        {
            int k = last;
            var x = Avx512F.MaskLoad(a + k, tail, Vector512<float>.Zero);
            v0 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r0 + k, tail, Vector512<float>.Zero), v0);
            v1 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r1 + k, tail, Vector512<float>.Zero), v1);
            v2 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r2 + k, tail, Vector512<float>.Zero), v2);
            v3 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r3 + k, tail, Vector512<float>.Zero), v3);
            v4 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r4 + k, tail, Vector512<float>.Zero), v4);
            v5 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r5 + k, tail, Vector512<float>.Zero), v5);
            v6 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r6 + k, tail, Vector512<float>.Zero), v6);
            v7 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r7 + k, tail, Vector512<float>.Zero), v7);
            v8 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r8 + k, tail, Vector512<float>.Zero), v8);
            v9 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r9 + k, tail, Vector512<float>.Zero), v9);
            v10 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r10 + k, tail, Vector512<float>.Zero), v10);
            v11 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r11 + k, tail, Vector512<float>.Zero), v11);
            v12 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r12 + k, tail, Vector512<float>.Zero), v12);
            v13 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r13 + k, tail, Vector512<float>.Zero), v13);
            v14 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r14 + k, tail, Vector512<float>.Zero), v14);
            v15 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r15 + k, tail, Vector512<float>.Zero), v15);
        }
        return Reduce16(v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15);
    }

    // DotGroup16 for a full group of sixteen equally spaced rows (row c at b + c·ldb): four row pointers (columns q,
    // q + 4, q + 8, q + 12 for slot q·4 + m share pointer q, at offsets 0, 4, 8, 12 rows) advance with k, so the loop
    // keeps every address in registers (sixteen row pointers do not fit). Same slots, same sums as DotGroup16.
    private static Vector512<float> DotGroup16Strided(float* b, long ldb, float* a, int K, int last, Vector512<float> tail)
    {
        Vector512<float> v0 = default, v1 = default, v2 = default, v3 = default, v4 = default, v5 = default, v6 = default, v7 = default;
        Vector512<float> v8 = default, v9 = default, v10 = default, v11 = default, v12 = default, v13 = default, v14 = default,
            v15 = default;
        float* p0 = b, p1 = b + ldb, p2 = b + 2 * ldb, p3 = b + 3 * ldb;
        long o1 = 4 * ldb, o2 = 8 * ldb, o3 = 12 * ldb;
        int k = 0;
        for (; k < last; k += 16, p0 += 16, p1 += 16, p2 += 16, p3 += 16)
        {
            var x = Vector512.Load(a + k);
            v0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p0), v0); v1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p0 + o1), v1);
            v2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p0 + o2), v2);
            v3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p0 + o3), v3);
            v4 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p1), v4); v5 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p1 + o1), v5);
            v6 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p1 + o2), v6);
            v7 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p1 + o3), v7);
            v8 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p2), v8); v9 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p2 + o1), v9);
            v10 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p2 + o2), v10);
            v11 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p2 + o3), v11);
            v12 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p3), v12); v13 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p3 + o1), v13);
            v14 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p3 + o2), v14);
            v15 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p3 + o3), v15);
        }
        {
            var z = Vector512<float>.Zero;
            var x = Avx512F.MaskLoad(a + k, tail, z);
            v0 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p0, tail, z), v0);
            v1 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p0 + o1, tail, z), v1);
            v2 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p0 + o2, tail, z), v2);
            v3 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p0 + o3, tail, z), v3);
            v4 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p1, tail, z), v4);
            v5 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p1 + o1, tail, z), v5);
            v6 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p1 + o2, tail, z), v6);
            v7 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p1 + o3, tail, z), v7);
            v8 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p2, tail, z), v8);
            v9 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p2 + o1, tail, z), v9);
            v10 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p2 + o2, tail, z), v10);
            v11 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p2 + o3, tail, z), v11);
            v12 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p3, tail, z), v12);
            v13 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p3 + o1, tail, z), v13);
            v14 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p3 + o2, tail, z), v14);
            v15 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p3 + o3, tail, z), v15);
        }
        return Reduce16(v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15);
    }

    // The shuffle tree of the dot groups: pairs of 128-bit blocks [a0+a2, a1+a3, b0+b2, b1+b3], then [A, B, C, D] with
    // each block four partial sums of one vector, then a 4×4 transpose-add inside the blocks. Lane 4·(s mod 4) + s / 4
    // of the result is the sum of the lanes of v_s.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Reduce16(Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7, Vector512<float> v8, Vector512<float> v9,
        Vector512<float> v10, Vector512<float> v11, Vector512<float> v12, Vector512<float> v13, Vector512<float> v14, Vector512<float> v15)
    {
        var x0 = Half16(v0, v1); var x1 = Half16(v2, v3); var x2 = Half16(v4, v5); var x3 = Half16(v6, v7);
        var x4 = Half16(v8, v9); var x5 = Half16(v10, v11); var x6 = Half16(v12, v13); var x7 = Half16(v14, v15);
        var y0 = Quarter16(x0, x1); var y1 = Quarter16(x2, x3); var y2 = Quarter16(x4, x5); var y3 = Quarter16(x6, x7);
        var s01 = Avx512F.UnpackLow(y0, y1) + Avx512F.UnpackHigh(y0, y1);
        var s23 = Avx512F.UnpackLow(y2, y3) + Avx512F.UnpackHigh(y2, y3);
        return Avx512F.UnpackLow(s01.AsDouble(), s23.AsDouble()).AsSingle() + Avx512F.UnpackHigh(s01.AsDouble(), s23.AsDouble()).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Half16(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle4x128(a, b, 0x44) + Avx512F.Shuffle4x128(a, b, 0xEE);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Quarter16(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle4x128(a, b, 0x88) + Avx512F.Shuffle4x128(a, b, 0xDD);

    private static Vector512<double> DotGroup8(double** r, double* a, int K, int last, Vector512<double> tail)
    {
        Vector512<double> v0 = default, v1 = default, v2 = default, v3 = default, v4 = default, v5 = default, v6 = default, v7 = default;
        double* r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4], r5 = r[5], r6 = r[6], r7 = r[7];
        for (int k = 0; k < last; k += 8)
        {
            var x = Vector512.Load(a + k);
            v0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r0 + k), v0); v1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r1 + k), v1);
            v2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r2 + k), v2); v3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r3 + k), v3);
            v4 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r4 + k), v4); v5 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r5 + k), v5);
            v6 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r6 + k), v6); v7 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r7 + k), v7);
        }
        {
            int k = last;
            var x = Avx512F.MaskLoad(a + k, tail, Vector512<double>.Zero);
            v0 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r0 + k, tail, Vector512<double>.Zero), v0);
            v1 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r1 + k, tail, Vector512<double>.Zero), v1);
            v2 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r2 + k, tail, Vector512<double>.Zero), v2);
            v3 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r3 + k, tail, Vector512<double>.Zero), v3);
            v4 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r4 + k, tail, Vector512<double>.Zero), v4);
            v5 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r5 + k, tail, Vector512<double>.Zero), v5);
            v6 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r6 + k, tail, Vector512<double>.Zero), v6);
            v7 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r7 + k, tail, Vector512<double>.Zero), v7);
        }
        // [a0+a2, a1+a3, b0+b2, b1+b3] in 128-bit blocks of two, then [A, B, C, D] (two partials of one vector per
        // block), then the pairs inside the blocks.
        var x0 = Avx512F.Shuffle4x128(v0, v1, 0x44) + Avx512F.Shuffle4x128(v0, v1, 0xEE);
        var x1 = Avx512F.Shuffle4x128(v2, v3, 0x44) + Avx512F.Shuffle4x128(v2, v3, 0xEE);
        var x2 = Avx512F.Shuffle4x128(v4, v5, 0x44) + Avx512F.Shuffle4x128(v4, v5, 0xEE);
        var x3 = Avx512F.Shuffle4x128(v6, v7, 0x44) + Avx512F.Shuffle4x128(v6, v7, 0xEE);
        var y0 = Avx512F.Shuffle4x128(x0, x1, 0x88) + Avx512F.Shuffle4x128(x0, x1, 0xDD);
        var y1 = Avx512F.Shuffle4x128(x2, x3, 0x88) + Avx512F.Shuffle4x128(x2, x3, 0xDD);
        return Avx512F.UnpackLow(y0, y1) + Avx512F.UnpackHigh(y0, y1);
    }
}
