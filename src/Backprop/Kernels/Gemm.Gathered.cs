using System.Numerics;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// A product whose A is gathered (AVX-512): C = A·B with A[i, k] = a[rowOffsets[i] + colOffsets[k]] and B row-major
// (K×N), the form of a convolution over only its real output pixels. Forward, i runs over the pixels (their cells in the
// zero-padded planes), k over the taps (their offsets from a pixel's cell) and B is Wᵀ (taps × filters): no column
// between rows or samples is computed, as the shifted form's in-place product does. The weight gradient swaps the two
// lists (i over taps, k over pixels) with B = doutᵀ (pixels × filters). Each tile broadcasts its rows' A values for one
// k from where they are and multiplies them with the vectors of B's row k: 6 rows × 4 vectors (up to 64 filters in
// float32), 8 × 2 or 8 × 1 (12 × 1 for 9 to 12 rows), with the last vector masked; every element of C is summed over k in
// order. The tiles are generated (tools/gen_gathered_tiles.py, Gemm.GatheredTiles.Generated.cs).
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
}
