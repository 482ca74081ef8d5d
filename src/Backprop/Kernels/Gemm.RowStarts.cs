using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

// A product whose B is given by row starts, without packing B (AVX-512): C = A·B with B's row k at b + bRows[k], the form
// of a convolution's forward pass over shifted views of its input planes (ShiftedConvolution). Packing B would copy
// all of col for only FN multiply-adds per value (16 to 64 filters); here each 8×3W tile of C reads its B rows straight
// from the planes, which a chunk keeps in L2, and keeps its 24 accumulators over the whole reduction. Eight rows divide
// 16, 32 and 64 filters, so no row of a tile is wasted.
internal static unsafe partial class Gemm
{
    private const int RowStartsMR = 8;

    // Taps per block of the reduction: a tile's B lines for one block (about 4 lines for every 3 taps of one filter row)
    // stay in L1 for all its blocks of rows. 288 is 32 channels of 3×3 taps; 144 and 576 measured within noise of it.
    private const int RowStartsBlock = 288;

    /// <summary>Whether <see cref="MultiplyRowStarts{T}"/> runs on this processor and path.</summary>
    internal static bool RowStartsDirect => EffectivePath == GemmPath.Vector512 && Avx512F.IsSupported;

    /// <summary>The scratch <see cref="MultiplyRowStarts{T}"/> needs for A: all of it, packed in blocks of 8 rows.</summary>
    internal static int RowStartsScratch(int M, int K) => RoundUp(M, RowStartsMR) * K;

    /// <summary>
    /// The values past a row's N that <see cref="MultiplyRowStarts{T}"/> may read (and drop): B's buffer needs this many
    /// more after its last row start + N.
    /// </summary>
    internal static int RowStartsOverread<T>() => 3 * Vector512<T>.Count;

    /// <summary>
    /// C (M×N, row stride ldc) = A (M×K, row stride lda) · B, B's row k at b + bRows[k], on one thread, packing only A
    /// (into <paramref name="packA"/>, <see cref="RowStartsScratch"/> values). Each element of C is summed over k in order.
    /// </summary>
    internal static void MultiplyRowStarts<T>(int M, int N, int K, T* a, int lda, T* b, long* bRows, T* c, int ldc, T* packA)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = 3 * Vector512<T>.Count;
        T** src = stackalloc T*[RowStartsMR];
        for (int i0 = 0; i0 < M; i0 += RowStartsMR)
        {
            int rows = Math.Min(RowStartsMR, M - i0);
            for (int r = 0; r < rows; r++) src[r] = a + (long)(i0 + r) * lda;
            Packing.Interleave(src, rows, RowStartsMR, K, packA + (long)i0 * K, vector: true);
        }
        // Column tiles outside, row blocks inside: a tile's B rows stay in L1 for every block of rows, while the packed A
        // streams in order.
        int kb = RowStartsBlock;
        for (int j0 = 0; j0 < N; j0 += w)
            for (int k0 = 0; k0 < K; k0 += kb)
                for (int i0 = 0; i0 < M; i0 += RowStartsMR)
                    RowStartsTile(Math.Min(kb, K - k0), packA + (long)i0 * K + (long)k0 * RowStartsMR, b + j0, bRows + k0,
                        c + (long)i0 * ldc + j0, ldc, Math.Min(RowStartsMR, M - i0), Math.Min(w, N - j0), k0 > 0);
    }

    // C[r, j] (r < rows ≤ 8, j < cols ≤ 3W) = Σ_k a[k·8 + r]·b[bRows[k] + j]; columns past cols are computed and dropped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowStartsTile<T>(int K, T* a, T* b, long* bRows, T* c, int ldc, int rows, int cols, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector512<T> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        Vector512<T> c40 = default, c41 = default, c42 = default, c50 = default, c51 = default, c52 = default;
        Vector512<T> c60 = default, c61 = default, c62 = default, c70 = default, c71 = default, c72 = default;
        for (int k = 0; k < K; k++, a += RowStartsMR)
        {
            T* bk = b + bRows[k];
            var b0 = Vector512.Load(bk);
            var b1 = Vector512.Load(bk + W);
            var b2 = Vector512.Load(bk + 2 * W);
            var a0 = Vector512.Create(a[0]);
            c00 = Simd.Fma(a0, b0, c00); c01 = Simd.Fma(a0, b1, c01); c02 = Simd.Fma(a0, b2, c02);
            var a1 = Vector512.Create(a[1]);
            c10 = Simd.Fma(a1, b0, c10); c11 = Simd.Fma(a1, b1, c11); c12 = Simd.Fma(a1, b2, c12);
            var a2 = Vector512.Create(a[2]);
            c20 = Simd.Fma(a2, b0, c20); c21 = Simd.Fma(a2, b1, c21); c22 = Simd.Fma(a2, b2, c22);
            var a3 = Vector512.Create(a[3]);
            c30 = Simd.Fma(a3, b0, c30); c31 = Simd.Fma(a3, b1, c31); c32 = Simd.Fma(a3, b2, c32);
            var a4 = Vector512.Create(a[4]);
            c40 = Simd.Fma(a4, b0, c40); c41 = Simd.Fma(a4, b1, c41); c42 = Simd.Fma(a4, b2, c42);
            var a5 = Vector512.Create(a[5]);
            c50 = Simd.Fma(a5, b0, c50); c51 = Simd.Fma(a5, b1, c51); c52 = Simd.Fma(a5, b2, c52);
            var a6 = Vector512.Create(a[6]);
            c60 = Simd.Fma(a6, b0, c60); c61 = Simd.Fma(a6, b1, c61); c62 = Simd.Fma(a6, b2, c62);
            var a7 = Vector512.Create(a[7]);
            c70 = Simd.Fma(a7, b0, c70); c71 = Simd.Fma(a7, b1, c71); c72 = Simd.Fma(a7, b2, c72);
        }
        var m0 = Simd.FirstLanes<T>(Math.Min(cols, W));
        var m1 = Simd.FirstLanes<T>(Math.Clamp(cols - W, 0, W));
        var m2 = Simd.FirstLanes<T>(Math.Clamp(cols - 2 * W, 0, W));
        StoreRow(c, m0, m1, m2, c00, c01, c02, accumulate);
        if (rows > 1) StoreRow(c + ldc, m0, m1, m2, c10, c11, c12, accumulate);
        if (rows > 2) StoreRow(c + 2L * ldc, m0, m1, m2, c20, c21, c22, accumulate);
        if (rows > 3) StoreRow(c + 3L * ldc, m0, m1, m2, c30, c31, c32, accumulate);
        if (rows > 4) StoreRow(c + 4L * ldc, m0, m1, m2, c40, c41, c42, accumulate);
        if (rows > 5) StoreRow(c + 5L * ldc, m0, m1, m2, c50, c51, c52, accumulate);
        if (rows > 6) StoreRow(c + 6L * ldc, m0, m1, m2, c60, c61, c62, accumulate);
        if (rows > 7) StoreRow(c + 7L * ldc, m0, m1, m2, c70, c71, c72, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T>(T* c, Vector512<T> m0, Vector512<T> m1, Vector512<T> m2, Vector512<T> v0, Vector512<T> v1,
        Vector512<T> v2, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        Put(c, m0, v0, accumulate);
        Put(c + W, m1, v1, accumulate);
        Put(c + 2 * W, m2, v2, accumulate);
    }

    // The lanes of v under mask stored at c, added to what is there when accumulating (a tile's later reduction blocks).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(T* c, Vector512<T> mask, Vector512<T> v, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (accumulate) v += Simd.MaskLoad(c, mask);
        Simd.MaskStore(c, mask, v);
    }
}

// The weight gradient over row starts, without packing (AVX-512): C = A·B with A's row r at a + aRows[r], contiguous
// along the reduction, and B row-major (K×N). For a convolution, A is col (its taps over the extended pixels, shifted
// rows of the planes), B is doutᵀ (pixels × filters) and C = dWᵀ. Each 12×2W tile of C broadcasts its twelve A values
// for one k straight from the twelve rows instead of transposing col into packed panels.
internal static unsafe partial class Gemm
{
    private const int ColumnStartsMR = 12;

    /// <summary>
    /// C (M×N, row stride ldc) = A·B, A's row r (K values) at a + aRows[r], B (K×N, row stride ldb), on one thread.
    /// Each element of C is summed over k in order.
    /// </summary>
    internal static void MultiplyColumnStarts<T>(int M, int N, int K, T* a, long* aRows, T* b, int ldb, T* c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = 2 * Vector512<T>.Count;
        // The reduction in blocks whose rows of B fill half of L1: every tile of a block reads them from there.
        int kb = (int)Math.Max(16, Processor.Caches.L1 / 2 / ((long)N * sizeof(T)));
        for (int k0 = 0; k0 < K; k0 += kb)
        {
            int kl = Math.Min(kb, K - k0);
            T* bk = b + (long)k0 * ldb, ak = a + k0;
            if (N >= 2 * w)
            {
                // Four vectors of columns (64 filters in float32): six rows, so that ten loads feed 24 multiply-adds.
                for (int i0 = 0; i0 < M; i0 += 6)
                    for (int j0 = 0; j0 < N; j0 += 2 * w)
                        ColumnStartsTile6(kl, ak, aRows + i0, bk + j0, ldb, c + (long)i0 * ldc + j0, ldc, Math.Min(6, M - i0),
                            Math.Min(2 * w, N - j0), k0 > 0);
                continue;
            }
            for (int i0 = 0; i0 < M; i0 += ColumnStartsMR)
                for (int j0 = 0; j0 < N; j0 += w)
                    ColumnStartsTile(kl, ak, aRows + i0, bk + j0, ldb, c + (long)i0 * ldc + j0, ldc, Math.Min(ColumnStartsMR, M - i0),
                        Math.Min(w, N - j0), k0 > 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ColumnStartsTile<T>(int K, T* a, long* aRows, T* b, int ldb, T* c, int ldc, int rows, int cols, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        // Rows past the tile's repeat its last row (their sums are dropped).
        T* p0 = a + aRows[0], p1 = a + aRows[Math.Min(1, rows - 1)], p2 = a + aRows[Math.Min(2, rows - 1)];
        T* p3 = a + aRows[Math.Min(3, rows - 1)], p4 = a + aRows[Math.Min(4, rows - 1)], p5 = a + aRows[Math.Min(5, rows - 1)];
        T* p6 = a + aRows[Math.Min(6, rows - 1)], p7 = a + aRows[Math.Min(7, rows - 1)], p8 = a + aRows[Math.Min(8, rows - 1)];
        T* p9 = a + aRows[Math.Min(9, rows - 1)], p10 = a + aRows[Math.Min(10, rows - 1)], p11 = a + aRows[Math.Min(11, rows - 1)];
        var m0 = Simd.FirstLanes<T>(Math.Min(cols, W));
        var m1 = Simd.FirstLanes<T>(Math.Clamp(cols - W, 0, W));
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<T> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (int k = 0; k < K; k++, b += ldb)
        {
            var b0 = Simd.MaskLoad(b, m0);
            var b1 = Simd.MaskLoad(b + W, m1);
            var x = Vector512.Create(p0[k]); c00 = Simd.Fma(x, b0, c00); c01 = Simd.Fma(x, b1, c01);
            x = Vector512.Create(p1[k]); c10 = Simd.Fma(x, b0, c10); c11 = Simd.Fma(x, b1, c11);
            x = Vector512.Create(p2[k]); c20 = Simd.Fma(x, b0, c20); c21 = Simd.Fma(x, b1, c21);
            x = Vector512.Create(p3[k]); c30 = Simd.Fma(x, b0, c30); c31 = Simd.Fma(x, b1, c31);
            x = Vector512.Create(p4[k]); c40 = Simd.Fma(x, b0, c40); c41 = Simd.Fma(x, b1, c41);
            x = Vector512.Create(p5[k]); c50 = Simd.Fma(x, b0, c50); c51 = Simd.Fma(x, b1, c51);
            x = Vector512.Create(p6[k]); c60 = Simd.Fma(x, b0, c60); c61 = Simd.Fma(x, b1, c61);
            x = Vector512.Create(p7[k]); c70 = Simd.Fma(x, b0, c70); c71 = Simd.Fma(x, b1, c71);
            x = Vector512.Create(p8[k]); c80 = Simd.Fma(x, b0, c80); c81 = Simd.Fma(x, b1, c81);
            x = Vector512.Create(p9[k]); c90 = Simd.Fma(x, b0, c90); c91 = Simd.Fma(x, b1, c91);
            x = Vector512.Create(p10[k]); ca0 = Simd.Fma(x, b0, ca0); ca1 = Simd.Fma(x, b1, ca1);
            x = Vector512.Create(p11[k]); cb0 = Simd.Fma(x, b0, cb0); cb1 = Simd.Fma(x, b1, cb1);
        }
        StoreTwo(c, m0, m1, c00, c01, accumulate);
        if (rows > 1) StoreTwo(c + ldc, m0, m1, c10, c11, accumulate);
        if (rows > 2) StoreTwo(c + 2L * ldc, m0, m1, c20, c21, accumulate);
        if (rows > 3) StoreTwo(c + 3L * ldc, m0, m1, c30, c31, accumulate);
        if (rows > 4) StoreTwo(c + 4L * ldc, m0, m1, c40, c41, accumulate);
        if (rows > 5) StoreTwo(c + 5L * ldc, m0, m1, c50, c51, accumulate);
        if (rows > 6) StoreTwo(c + 6L * ldc, m0, m1, c60, c61, accumulate);
        if (rows > 7) StoreTwo(c + 7L * ldc, m0, m1, c70, c71, accumulate);
        if (rows > 8) StoreTwo(c + 8L * ldc, m0, m1, c80, c81, accumulate);
        if (rows > 9) StoreTwo(c + 9L * ldc, m0, m1, c90, c91, accumulate);
        if (rows > 10) StoreTwo(c + 10L * ldc, m0, m1, ca0, ca1, accumulate);
        if (rows > 11) StoreTwo(c + 11L * ldc, m0, m1, cb0, cb1, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ColumnStartsTile6<T>(int K, T* a, long* aRows, T* b, int ldb, T* c, int ldc, int rows, int cols, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        T* p0 = a + aRows[0], p1 = a + aRows[Math.Min(1, rows - 1)], p2 = a + aRows[Math.Min(2, rows - 1)];
        T* p3 = a + aRows[Math.Min(3, rows - 1)], p4 = a + aRows[Math.Min(4, rows - 1)], p5 = a + aRows[Math.Min(5, rows - 1)];
        var m0 = Simd.FirstLanes<T>(Math.Min(cols, W));
        var m1 = Simd.FirstLanes<T>(Math.Clamp(cols - W, 0, W));
        var m2 = Simd.FirstLanes<T>(Math.Clamp(cols - 2 * W, 0, W));
        var m3 = Simd.FirstLanes<T>(Math.Clamp(cols - 3 * W, 0, W));
        Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default;
        Vector512<T> c13 = default, c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default;
        Vector512<T> c32 = default, c33 = default, c40 = default, c41 = default, c42 = default, c43 = default, c50 = default;
        Vector512<T> c51 = default, c52 = default, c53 = default;
        for (int k = 0; k < K; k++, b += ldb)
        {
            var b0 = Simd.MaskLoad(b, m0);
            var b1 = Simd.MaskLoad(b + W, m1);
            var b2 = Simd.MaskLoad(b + 2 * W, m2);
            var b3 = Simd.MaskLoad(b + 3 * W, m3);
            var x = Vector512.Create(p0[k]);
            c00 = Simd.Fma(x, b0, c00); c01 = Simd.Fma(x, b1, c01); c02 = Simd.Fma(x, b2, c02); c03 = Simd.Fma(x, b3, c03);
            x = Vector512.Create(p1[k]);
            c10 = Simd.Fma(x, b0, c10); c11 = Simd.Fma(x, b1, c11); c12 = Simd.Fma(x, b2, c12); c13 = Simd.Fma(x, b3, c13);
            x = Vector512.Create(p2[k]);
            c20 = Simd.Fma(x, b0, c20); c21 = Simd.Fma(x, b1, c21); c22 = Simd.Fma(x, b2, c22); c23 = Simd.Fma(x, b3, c23);
            x = Vector512.Create(p3[k]);
            c30 = Simd.Fma(x, b0, c30); c31 = Simd.Fma(x, b1, c31); c32 = Simd.Fma(x, b2, c32); c33 = Simd.Fma(x, b3, c33);
            x = Vector512.Create(p4[k]);
            c40 = Simd.Fma(x, b0, c40); c41 = Simd.Fma(x, b1, c41); c42 = Simd.Fma(x, b2, c42); c43 = Simd.Fma(x, b3, c43);
            x = Vector512.Create(p5[k]);
            c50 = Simd.Fma(x, b0, c50); c51 = Simd.Fma(x, b1, c51); c52 = Simd.Fma(x, b2, c52); c53 = Simd.Fma(x, b3, c53);
        }
        StoreFour(c, m0, m1, m2, m3, c00, c01, c02, c03, accumulate);
        if (rows > 1) StoreFour(c + ldc, m0, m1, m2, m3, c10, c11, c12, c13, accumulate);
        if (rows > 2) StoreFour(c + 2L * ldc, m0, m1, m2, m3, c20, c21, c22, c23, accumulate);
        if (rows > 3) StoreFour(c + 3L * ldc, m0, m1, m2, m3, c30, c31, c32, c33, accumulate);
        if (rows > 4) StoreFour(c + 4L * ldc, m0, m1, m2, m3, c40, c41, c42, c43, accumulate);
        if (rows > 5) StoreFour(c + 5L * ldc, m0, m1, m2, m3, c50, c51, c52, c53, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreFour<T>(T* c, Vector512<T> m0, Vector512<T> m1, Vector512<T> m2, Vector512<T> m3, Vector512<T> v0,
        Vector512<T> v1, Vector512<T> v2, Vector512<T> v3, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        Put(c, m0, v0, accumulate);
        Put(c + W, m1, v1, accumulate);
        Put(c + 2 * W, m2, v2, accumulate);
        Put(c + 3 * W, m3, v3, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTwo<T>(T* c, Vector512<T> m0, Vector512<T> m1, Vector512<T> v0, Vector512<T> v1, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Put(c, m0, v0, accumulate);
        Put(c + Vector512<T>.Count, m1, v1, accumulate);
    }
}
