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
// order. The tiles are generated (tools/gen_gathered_tiles.py, Gemm.GatheredTiles.Generated.cs); 16 float columns over a
// reduction of 16 keep all of B in registers instead (GatheredSquare16, below).
internal static unsafe partial class Gemm
{
    /// <summary>
    /// C (M×N, row stride ldc) = A·B on one thread, A[i, k] = a[rowOffsets[i] + colOffsets[k]], B (K×N, row stride ldb),
    /// plus the old C when <paramref name="accumulate"/>.
    /// </summary>
    internal static void MultiplyGathered<T>(int M, int N, int K, T* a, long* rowOffsets, long* colOffsets, T* b, int ldb, T* c,
        int ldc, bool accumulate = false) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        if (typeof(T) == typeof(float) && N == 16 && K == 16)
        {
            GatheredSquare16(M, (float*)a, rowOffsets, colOffsets, (float*)b, ldb, (float*)c, ldc, accumulate);
            return;
        }
        for (int j0 = 0; j0 < N; j0 += 4 * W)
        {
            int cols = Math.Min(4 * W, N - j0);
            T* bj = b + j0, cj = c + j0;
            if (cols > 2 * W)
                for (int i0 = 0; i0 < M; i0 += 6)
                    GatheredTile6x4(K, a, rowOffsets + i0, colOffsets, bj, ldb, cj + (long)i0 * ldc, ldc, Math.Min(6, M - i0), cols,
                        accumulate);
            else if (cols > W)
                for (int i0 = 0; i0 < M; i0 += 8)
                    GatheredTile8x2(K, a, rowOffsets + i0, colOffsets, bj, ldb, cj + (long)i0 * ldc, ldc, Math.Min(8, M - i0), cols,
                        accumulate);
            else if (M is > 8 and <= 12)
                GatheredTile12x1(K, a, rowOffsets, colOffsets, bj, ldb, cj, ldc, M, cols, accumulate);   // 3×3 taps of a channel
            else
                for (int i0 = 0; i0 < M; i0 += 8)
                    GatheredTile8x1(K, a, rowOffsets + i0, colOffsets, bj, ldb, cj + (long)i0 * ldc, ldc, Math.Min(8, M - i0), cols,
                        accumulate);
        }
    }

    // 16 float columns over a reduction of 16 (the Winograd form's products of a 16-channel, 16-filter layer): B's 16 rows
    // stay in registers for all of A's rows, four rows at a time, each summed over k in order as the tiles above sum it
    // (the same bits), where an 8×1 tile reloads a row of B for every k of every tile (those layers 0.90–0.94 of their time).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GatheredSquare16(int M, float* a, long* rowOffsets, long* colOffsets, float* b, int ldb, float* c, int ldc,
        bool accumulate)
    {
        var (b0, b1, b2, b3) = (Vector512.Load(b), Vector512.Load(b + ldb), Vector512.Load(b + 2 * ldb), Vector512.Load(b + 3 * ldb));
        var (b4, b5, b6, b7) = (Vector512.Load(b + 4 * ldb), Vector512.Load(b + 5 * ldb), Vector512.Load(b + 6 * ldb),
            Vector512.Load(b + 7 * ldb));
        var (b8, b9, b10, b11) = (Vector512.Load(b + 8 * ldb), Vector512.Load(b + 9 * ldb), Vector512.Load(b + 10 * ldb),
            Vector512.Load(b + 11 * ldb));
        var (b12, b13, b14, b15) = (Vector512.Load(b + 12 * ldb), Vector512.Load(b + 13 * ldb), Vector512.Load(b + 14 * ldb),
            Vector512.Load(b + 15 * ldb));
        long* o = colOffsets;
        for (int i = 0; i < M; i += 4)
        {
            // Rows past the last repeat it (their sums are dropped), as the tiles above do.
            int rows = Math.Min(4, M - i);
            float* p0 = a + rowOffsets[i], p1 = a + rowOffsets[i + Math.Min(1, rows - 1)];
            float* p2 = a + rowOffsets[i + Math.Min(2, rows - 1)], p3 = a + rowOffsets[i + Math.Min(3, rows - 1)];
            var s0 = Vector512.FusedMultiplyAdd(Vector512.Create(p0[o[0]]), b0, default);   // as the tiles start: from +0
            var s1 = Vector512.FusedMultiplyAdd(Vector512.Create(p1[o[0]]), b0, default);
            var s2 = Vector512.FusedMultiplyAdd(Vector512.Create(p2[o[0]]), b0, default);
            var s3 = Vector512.FusedMultiplyAdd(Vector512.Create(p3[o[0]]), b0, default);
            Step(p0, p1, p2, p3, o[1], b1, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[2], b2, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[3], b3, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[4], b4, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[5], b5, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[6], b6, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[7], b7, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[8], b8, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[9], b9, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[10], b10, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[11], b11, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[12], b12, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[13], b13, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[14], b14, ref s0, ref s1, ref s2, ref s3);
            Step(p0, p1, p2, p3, o[15], b15, ref s0, ref s1, ref s2, ref s3);
            Store16(c + (long)i * ldc, s0, accumulate);
            if (rows > 1) Store16(c + (long)(i + 1) * ldc, s1, accumulate);
            if (rows > 2) Store16(c + (long)(i + 2) * ldc, s2, accumulate);
            if (rows > 3) Store16(c + (long)(i + 3) * ldc, s3, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(float* p0, float* p1, float* p2, float* p3, long o, Vector512<float> bk, ref Vector512<float> s0,
        ref Vector512<float> s1, ref Vector512<float> s2, ref Vector512<float> s3)
    {
        s0 = Vector512.FusedMultiplyAdd(Vector512.Create(p0[o]), bk, s0);
        s1 = Vector512.FusedMultiplyAdd(Vector512.Create(p1[o]), bk, s1);
        s2 = Vector512.FusedMultiplyAdd(Vector512.Create(p2[o]), bk, s2);
        s3 = Vector512.FusedMultiplyAdd(Vector512.Create(p3[o]), bk, s3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store16(float* c, Vector512<float> s, bool accumulate) => (accumulate ? Vector512.Load(c) + s : s).Store(c);
}
