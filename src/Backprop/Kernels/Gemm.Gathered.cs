using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// A product whose A is gathered (AVX-512): C = A·B with A[i, k] = a[rowOffsets[i] + colOffsets[k]] and B row-major
// (K×N), the form of a convolution over only its real output pixels. Forward, i runs over the pixels (their cells in the
// zero-padded planes), k over the taps (their offsets from a pixel's cell) and B is Wᵀ (taps × filters): no column
// between rows or samples is computed, as the shifted form's in-place product does. The weight gradient swaps the two
// lists (i over taps, k over pixels) with B = doutᵀ (pixels × filters). Each tile broadcasts its rows' A values for one
// k from where they are and multiplies them with the vectors of B's row k: 6 rows × 4 vectors (up to 64 filters in
// float32), 8 × 2 or 8 × 1 (12 × 1 for 9 to 12 rows), with the last vector masked; every element of C is summed over k in
// order.
public static unsafe partial class Gemm
{
    /// <summary>
    /// C (M×N, row stride ldc) = A·B on one thread, A[i, k] = a[rowOffsets[i] + colOffsets[k]], B (K×N, row stride ldb).
    /// </summary>
    internal static void MultiplyGathered<T>(int M, int N, int K, T* a, long* rowOffsets, long* colOffsets, T* b, int ldb, T* c,
        int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        for (int j0 = 0; j0 < N; j0 += 4 * W)
        {
            int cols = Math.Min(4 * W, N - j0);
            T* bj = b + j0, cj = c + j0;
            if (cols > 2 * W)
                for (int i0 = 0; i0 < M; i0 += 6)
                    GatheredTile6x4(K, a, rowOffsets + i0, colOffsets, bj, ldb, cj + (long)i0 * ldc, ldc, Math.Min(6, M - i0), cols);
            else if (cols > W)
                for (int i0 = 0; i0 < M; i0 += 8)
                    GatheredTile8x2(K, a, rowOffsets + i0, colOffsets, bj, ldb, cj + (long)i0 * ldc, ldc, Math.Min(8, M - i0), cols);
            else if (M is > 8 and <= 12)
                GatheredTile12x1(K, a, rowOffsets, colOffsets, bj, ldb, cj, ldc, M, cols);   // 3×3 taps of one channel: one tile
            else
                for (int i0 = 0; i0 < M; i0 += 8)
                    GatheredTile8x1(K, a, rowOffsets + i0, colOffsets, bj, ldb, cj + (long)i0 * ldc, ldc, Math.Min(8, M - i0), cols);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GatheredTile6x4<T>(int K, T* a, long* rowOffsets, long* colOffsets, T* b, int ldb, T* c, int ldc, int rows,
        int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        // Rows past the tile's repeat its last row (their sums are dropped).
        T* p0 = a + rowOffsets[0];
        T* p1 = a + rowOffsets[Math.Min(1, rows - 1)];
        T* p2 = a + rowOffsets[Math.Min(2, rows - 1)];
        T* p3 = a + rowOffsets[Math.Min(3, rows - 1)];
        T* p4 = a + rowOffsets[Math.Min(4, rows - 1)];
        T* p5 = a + rowOffsets[Math.Min(5, rows - 1)];
        var m0 = Simd.FirstLanes<T>(Math.Min(cols, W));
        var m1 = Simd.FirstLanes<T>(Math.Clamp(cols - 1 * W, 0, W));
        var m2 = Simd.FirstLanes<T>(Math.Clamp(cols - 2 * W, 0, W));
        var m3 = Simd.FirstLanes<T>(Math.Clamp(cols - 3 * W, 0, W));
        Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default;
        Vector512<T> c12 = default, c13 = default, c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<T> c30 = default, c31 = default, c32 = default, c33 = default, c40 = default, c41 = default;
        Vector512<T> c42 = default, c43 = default, c50 = default, c51 = default, c52 = default, c53 = default;
        for (int k = 0; k < K; k++, b += ldb)
        {
            long o = colOffsets[k];
            var b0 = Simd.MaskLoad(b, m0);
            var b1 = Simd.MaskLoad(b + 1 * W, m1);
            var b2 = Simd.MaskLoad(b + 2 * W, m2);
            var b3 = Simd.MaskLoad(b + 3 * W, m3);
            var x0 = Vector512.Create(p0[o]);
            c00 = Simd.Fma(x0, b0, c00); c01 = Simd.Fma(x0, b1, c01); c02 = Simd.Fma(x0, b2, c02); c03 = Simd.Fma(x0, b3, c03);
            var x1 = Vector512.Create(p1[o]);
            c10 = Simd.Fma(x1, b0, c10); c11 = Simd.Fma(x1, b1, c11); c12 = Simd.Fma(x1, b2, c12); c13 = Simd.Fma(x1, b3, c13);
            var x2 = Vector512.Create(p2[o]);
            c20 = Simd.Fma(x2, b0, c20); c21 = Simd.Fma(x2, b1, c21); c22 = Simd.Fma(x2, b2, c22); c23 = Simd.Fma(x2, b3, c23);
            var x3 = Vector512.Create(p3[o]);
            c30 = Simd.Fma(x3, b0, c30); c31 = Simd.Fma(x3, b1, c31); c32 = Simd.Fma(x3, b2, c32); c33 = Simd.Fma(x3, b3, c33);
            var x4 = Vector512.Create(p4[o]);
            c40 = Simd.Fma(x4, b0, c40); c41 = Simd.Fma(x4, b1, c41); c42 = Simd.Fma(x4, b2, c42); c43 = Simd.Fma(x4, b3, c43);
            var x5 = Vector512.Create(p5[o]);
            c50 = Simd.Fma(x5, b0, c50); c51 = Simd.Fma(x5, b1, c51); c52 = Simd.Fma(x5, b2, c52); c53 = Simd.Fma(x5, b3, c53);
        }
        StoreFour(c, m0, m1, m2, m3, c00, c01, c02, c03, false);
        if (rows > 1) StoreFour(c + ldc, m0, m1, m2, m3, c10, c11, c12, c13, false);
        if (rows > 2) StoreFour(c + 2L * ldc, m0, m1, m2, m3, c20, c21, c22, c23, false);
        if (rows > 3) StoreFour(c + 3L * ldc, m0, m1, m2, m3, c30, c31, c32, c33, false);
        if (rows > 4) StoreFour(c + 4L * ldc, m0, m1, m2, m3, c40, c41, c42, c43, false);
        if (rows > 5) StoreFour(c + 5L * ldc, m0, m1, m2, m3, c50, c51, c52, c53, false);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GatheredTile8x2<T>(int K, T* a, long* rowOffsets, long* colOffsets, T* b, int ldb, T* c, int ldc, int rows,
        int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        // Rows past the tile's repeat its last row (their sums are dropped).
        T* p0 = a + rowOffsets[0];
        T* p1 = a + rowOffsets[Math.Min(1, rows - 1)];
        T* p2 = a + rowOffsets[Math.Min(2, rows - 1)];
        T* p3 = a + rowOffsets[Math.Min(3, rows - 1)];
        T* p4 = a + rowOffsets[Math.Min(4, rows - 1)];
        T* p5 = a + rowOffsets[Math.Min(5, rows - 1)];
        T* p6 = a + rowOffsets[Math.Min(6, rows - 1)];
        T* p7 = a + rowOffsets[Math.Min(7, rows - 1)];
        var m0 = Simd.FirstLanes<T>(Math.Min(cols, W));
        var m1 = Simd.FirstLanes<T>(Math.Clamp(cols - 1 * W, 0, W));
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int k = 0; k < K; k++, b += ldb)
        {
            long o = colOffsets[k];
            var b0 = Simd.MaskLoad(b, m0);
            var b1 = Simd.MaskLoad(b + 1 * W, m1);
            var x0 = Vector512.Create(p0[o]);
            c00 = Simd.Fma(x0, b0, c00); c01 = Simd.Fma(x0, b1, c01);
            var x1 = Vector512.Create(p1[o]);
            c10 = Simd.Fma(x1, b0, c10); c11 = Simd.Fma(x1, b1, c11);
            var x2 = Vector512.Create(p2[o]);
            c20 = Simd.Fma(x2, b0, c20); c21 = Simd.Fma(x2, b1, c21);
            var x3 = Vector512.Create(p3[o]);
            c30 = Simd.Fma(x3, b0, c30); c31 = Simd.Fma(x3, b1, c31);
            var x4 = Vector512.Create(p4[o]);
            c40 = Simd.Fma(x4, b0, c40); c41 = Simd.Fma(x4, b1, c41);
            var x5 = Vector512.Create(p5[o]);
            c50 = Simd.Fma(x5, b0, c50); c51 = Simd.Fma(x5, b1, c51);
            var x6 = Vector512.Create(p6[o]);
            c60 = Simd.Fma(x6, b0, c60); c61 = Simd.Fma(x6, b1, c61);
            var x7 = Vector512.Create(p7[o]);
            c70 = Simd.Fma(x7, b0, c70); c71 = Simd.Fma(x7, b1, c71);
        }
        StoreTwo(c, m0, m1, c00, c01, false);
        if (rows > 1) StoreTwo(c + ldc, m0, m1, c10, c11, false);
        if (rows > 2) StoreTwo(c + 2L * ldc, m0, m1, c20, c21, false);
        if (rows > 3) StoreTwo(c + 3L * ldc, m0, m1, c30, c31, false);
        if (rows > 4) StoreTwo(c + 4L * ldc, m0, m1, c40, c41, false);
        if (rows > 5) StoreTwo(c + 5L * ldc, m0, m1, c50, c51, false);
        if (rows > 6) StoreTwo(c + 6L * ldc, m0, m1, c60, c61, false);
        if (rows > 7) StoreTwo(c + 7L * ldc, m0, m1, c70, c71, false);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GatheredTile8x1<T>(int K, T* a, long* rowOffsets, long* colOffsets, T* b, int ldb, T* c, int ldc, int rows,
        int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        // Rows past the tile's repeat its last row (their sums are dropped).
        T* p0 = a + rowOffsets[0];
        T* p1 = a + rowOffsets[Math.Min(1, rows - 1)];
        T* p2 = a + rowOffsets[Math.Min(2, rows - 1)];
        T* p3 = a + rowOffsets[Math.Min(3, rows - 1)];
        T* p4 = a + rowOffsets[Math.Min(4, rows - 1)];
        T* p5 = a + rowOffsets[Math.Min(5, rows - 1)];
        T* p6 = a + rowOffsets[Math.Min(6, rows - 1)];
        T* p7 = a + rowOffsets[Math.Min(7, rows - 1)];
        var m0 = Simd.FirstLanes<T>(cols);
        Vector512<T> c00 = default, c10 = default, c20 = default, c30 = default, c40 = default, c50 = default;
        Vector512<T> c60 = default, c70 = default;
        for (int k = 0; k < K; k++, b += ldb)
        {
            long o = colOffsets[k];
            var b0 = Simd.MaskLoad(b, m0);
            var x0 = Vector512.Create(p0[o]);
            c00 = Simd.Fma(x0, b0, c00);
            var x1 = Vector512.Create(p1[o]);
            c10 = Simd.Fma(x1, b0, c10);
            var x2 = Vector512.Create(p2[o]);
            c20 = Simd.Fma(x2, b0, c20);
            var x3 = Vector512.Create(p3[o]);
            c30 = Simd.Fma(x3, b0, c30);
            var x4 = Vector512.Create(p4[o]);
            c40 = Simd.Fma(x4, b0, c40);
            var x5 = Vector512.Create(p5[o]);
            c50 = Simd.Fma(x5, b0, c50);
            var x6 = Vector512.Create(p6[o]);
            c60 = Simd.Fma(x6, b0, c60);
            var x7 = Vector512.Create(p7[o]);
            c70 = Simd.Fma(x7, b0, c70);
        }
        Simd.MaskStore(c, m0, c00);
        if (rows > 1) Simd.MaskStore(c + ldc, m0, c10);
        if (rows > 2) Simd.MaskStore(c + 2L * ldc, m0, c20);
        if (rows > 3) Simd.MaskStore(c + 3L * ldc, m0, c30);
        if (rows > 4) Simd.MaskStore(c + 4L * ldc, m0, c40);
        if (rows > 5) Simd.MaskStore(c + 5L * ldc, m0, c50);
        if (rows > 6) Simd.MaskStore(c + 6L * ldc, m0, c60);
        if (rows > 7) Simd.MaskStore(c + 7L * ldc, m0, c70);
    }


    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GatheredTile12x1<T>(int K, T* a, long* rowOffsets, long* colOffsets, T* b, int ldb, T* c, int ldc, int rows,
        int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        // Rows past the tile's repeat its last row (their sums are dropped).
        T* p0 = a + rowOffsets[0];
        T* p1 = a + rowOffsets[Math.Min(1, rows - 1)];
        T* p2 = a + rowOffsets[Math.Min(2, rows - 1)];
        T* p3 = a + rowOffsets[Math.Min(3, rows - 1)];
        T* p4 = a + rowOffsets[Math.Min(4, rows - 1)];
        T* p5 = a + rowOffsets[Math.Min(5, rows - 1)];
        T* p6 = a + rowOffsets[Math.Min(6, rows - 1)];
        T* p7 = a + rowOffsets[Math.Min(7, rows - 1)];
        T* p8 = a + rowOffsets[Math.Min(8, rows - 1)];
        T* p9 = a + rowOffsets[Math.Min(9, rows - 1)];
        T* p10 = a + rowOffsets[Math.Min(10, rows - 1)];
        T* p11 = a + rowOffsets[Math.Min(11, rows - 1)];
        var m0 = Simd.FirstLanes<T>(cols);
        Vector512<T> c00 = default, c10 = default, c20 = default, c30 = default, c40 = default, c50 = default;
        Vector512<T> c60 = default, c70 = default, c80 = default, c90 = default, c100 = default, c110 = default;
        for (int k = 0; k < K; k++, b += ldb)
        {
            long o = colOffsets[k];
            var b0 = Simd.MaskLoad(b, m0);
            var x0 = Vector512.Create(p0[o]);
            c00 = Simd.Fma(x0, b0, c00);
            var x1 = Vector512.Create(p1[o]);
            c10 = Simd.Fma(x1, b0, c10);
            var x2 = Vector512.Create(p2[o]);
            c20 = Simd.Fma(x2, b0, c20);
            var x3 = Vector512.Create(p3[o]);
            c30 = Simd.Fma(x3, b0, c30);
            var x4 = Vector512.Create(p4[o]);
            c40 = Simd.Fma(x4, b0, c40);
            var x5 = Vector512.Create(p5[o]);
            c50 = Simd.Fma(x5, b0, c50);
            var x6 = Vector512.Create(p6[o]);
            c60 = Simd.Fma(x6, b0, c60);
            var x7 = Vector512.Create(p7[o]);
            c70 = Simd.Fma(x7, b0, c70);
            var x8 = Vector512.Create(p8[o]);
            c80 = Simd.Fma(x8, b0, c80);
            var x9 = Vector512.Create(p9[o]);
            c90 = Simd.Fma(x9, b0, c90);
            var x10 = Vector512.Create(p10[o]);
            c100 = Simd.Fma(x10, b0, c100);
            var x11 = Vector512.Create(p11[o]);
            c110 = Simd.Fma(x11, b0, c110);
        }
        Simd.MaskStore(c, m0, c00);
        if (rows > 1) Simd.MaskStore(c + ldc, m0, c10);
        if (rows > 2) Simd.MaskStore(c + 2L * ldc, m0, c20);
        if (rows > 3) Simd.MaskStore(c + 3L * ldc, m0, c30);
        if (rows > 4) Simd.MaskStore(c + 4L * ldc, m0, c40);
        if (rows > 5) Simd.MaskStore(c + 5L * ldc, m0, c50);
        if (rows > 6) Simd.MaskStore(c + 6L * ldc, m0, c60);
        if (rows > 7) Simd.MaskStore(c + 7L * ldc, m0, c70);
        if (rows > 8) Simd.MaskStore(c + 8L * ldc, m0, c80);
        if (rows > 9) Simd.MaskStore(c + 9L * ldc, m0, c90);
        if (rows > 10) Simd.MaskStore(c + 10L * ldc, m0, c100);
        if (rows > 11) Simd.MaskStore(c + 11L * ldc, m0, c110);
    }

}
