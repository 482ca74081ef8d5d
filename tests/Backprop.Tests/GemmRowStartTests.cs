using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Tests;

[Collection("Global kernel settings")]
public class GemmRowStartTests
{
    // B given by where each row starts, the rows overlapping (a convolution's shifted views of one plane): packed and long
    // dot-product shapes, both orientations, every path, against the naive product of the B those rows spell out.
    [Theory]
    [InlineData(13, 70, 37)]
    [InlineData(16, 144, 784)]
    [InlineData(64, 395, 576)]
    [InlineData(1, 1, 1)]
    [InlineData(9, 49, 601)]   // past a row block, a column tile and two reduction blocks of the unpacked path
    [InlineData(40, 90, 300)]  // with transB, Cᵀ in place: 12×2W tiles, the last ones partial
    [InlineData(70, 91, 300)]  // 6×4W tiles, partial
    public void Products_over_row_starts_match_naive_loops(int M, int N, int K)
    {
        foreach (var path in new[] { GemmPath.Scalar, GemmPath.Vector256, GemmPath.Vector512 })
        {
            if (path > Gemm.BestPath) continue;
            Gemm.Path = path;
            try
            {
                foreach (bool transB in new[] { false, true })
                {
                    RowStarts<double>(M, N, K, transB, 1e-12);
                    RowStarts<float>(M, N, K, transB, 1e-5);
                }
            }
            finally
            {
                Gemm.Path = GemmPath.Auto;
            }
        }
    }

    private static unsafe void RowStarts<T>(int M, int N, int K, bool transB, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(M + N + K);
        int rows = transB ? N : K, length = transB ? K : N;
        var offsets = new long[rows];
        for (int r = 0; r < rows; r++) offsets[r] = r * 3L + r % 5;           // rows overlap and step unevenly
        var buffer = new T[offsets.Max() + length + Gemm.RowStartsOverread<T>()];
        for (int i = 0; i < buffer.Length; i++) buffer[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        var a = new T[M * K];
        for (int i = 0; i < a.Length; i++) a[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        var opB = new double[K * N];                                          // op(B)[k, j]
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++) opB[k * N + j] = double.CreateTruncating(transB ? buffer[offsets[j] + k] : buffer[offsets[k] + j]);
        var ad = a.Select(double.CreateTruncating).ToArray();
        var expected = Naive.MatMul(ad, opB, M, K, N);
        var c = new T[M * N];
        var scale = Naive.AbsMatMul(ad, opB, M, K, N);
        fixed (T* pa = a, pb = buffer, pc = c)
        fixed (long* po = offsets)
            Gemm.MultiplyRows(transB, M, N, K, pa, K, pb, po, pc, N);
        TestUtil.Close(expected, c.Select(double.CreateTruncating).ToArray(), tol * 10, scale,
            what: $"C ({typeof(T).Name}, transB {transB}, {Gemm.Path})");
        if (transB || !Gemm.RowStartsDirect) return;
        // The unpacked path (AVX-512): B read in place, only A packed.
        var packA = new T[Gemm.RowStartsScratch(M, K)];
        Array.Clear(c);
        fixed (T* pa = a, pb = buffer, pc = c, pp = packA)
        fixed (long* po = offsets)
            Gemm.MultiplyRowStarts(M, N, K, pa, K, pb, po, pc, N, pp);
        TestUtil.Close(expected, c.Select(double.CreateTruncating).ToArray(), tol * 10, scale, what: $"C ({typeof(T).Name}, unpacked)");
    }

    // M, N, K: one element; 6×4W tiles with the last rows and lanes partial (N = 4W + 1 takes a second column block);
    // 8×2W and 8×W tiles; a prime reduction; 16 float columns over 16 (B in registers, rows four at a time, the last group
    // of 1, 2 or 3 rows).
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(23, 16, 16)]
    [InlineData(4, 16, 16)]
    [InlineData(6, 16, 16)]
    [InlineData(1, 16, 16)]
    [InlineData(13, 65, 37)]
    [InlineData(23, 30, 25)]
    [InlineData(17, 16, 101)]
    [InlineData(9, 3, 7)]
    [InlineData(64, 64, 576)]
    public unsafe void Gathered_products_match_naive_loops(int M, int N, int K)
    {
        if (!Gemm.RowStartsDirect) return;   // AVX-512 only
        foreach (bool accumulate in new[] { false, true })
        {
            Check<double>(1e-12, accumulate);
            Check<float>(1e-5, accumulate);
        }

        // With accumulate, C starts at 7 and the product is added to it.
        void Check<T>(double tol, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rng = new Random(M * 7 + N + K);
            // A[i, k] = a[rowOffsets[i] + colOffsets[k]]: rows and columns that step unevenly and overlap.
            var rowOffsets = Enumerable.Range(0, M).Select(i => i * 5L + i % 3).ToArray();
            var colOffsets = Enumerable.Range(0, K).Select(k => k * 2L + k % 7).ToArray();
            var buffer = new T[rowOffsets.Max() + colOffsets.Max() + 1];
            for (int i = 0; i < buffer.Length; i++) buffer[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
            var b = new T[K * N];
            for (int i = 0; i < b.Length; i++) b[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
            var ad = new double[M * K];
            for (int i = 0; i < M; i++)
                for (int k = 0; k < K; k++) ad[i * K + k] = double.CreateTruncating(buffer[rowOffsets[i] + colOffsets[k]]);
            var bd = b.Select(double.CreateTruncating).ToArray();
            var expected = Naive.MatMul(ad, bd, M, K, N);
            if (accumulate) expected = expected.Select(e => e + 7).ToArray();
            var scale = Naive.AbsMatMul(ad, bd, M, K, N);
            int ldc = N + 3;                                                   // C's rows apart: nothing written between them
            var c = Enumerable.Repeat(T.CreateTruncating(7), M * ldc).ToArray();
            fixed (T* pa = buffer, pb = b, pc = c)
            fixed (long* pr = rowOffsets, pk = colOffsets)
                Gemm.MultiplyGathered(M, N, K, pa, pr, pk, pb, N, pc, ldc, accumulate);
            var got = new double[M * N];
            for (int i = 0; i < M; i++)
                for (int j = 0; j < ldc; j++)
                    if (j < N) got[i * N + j] = double.CreateTruncating(c[i * ldc + j]);
                    else Assert.Equal(T.CreateTruncating(7), c[i * ldc + j]);
            TestUtil.Close(expected, got, tol * 10, scale, what: $"gathered C ({typeof(T).Name})");
        }
    }
}
