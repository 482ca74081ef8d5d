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
public static unsafe partial class Gemm
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
        if (accumulate)
        {
            v0 += Simd.MaskLoad(c, m0);
            v1 += Simd.MaskLoad(c + W, m1);
            v2 += Simd.MaskLoad(c + 2 * W, m2);
        }
        Simd.MaskStore(c, m0, v0);
        Simd.MaskStore(c + W, m1, v1);
        Simd.MaskStore(c + 2 * W, m2, v2);
    }
}
