using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// Few rows, few columns, a long reduction against a transposed B: the weight gradient of a convolution, dW = dout·colᵀ
// summed over every pixel of the batch (30×25 outputs from 57 600 terms in SimpleConvNet). Packing would touch each
// element of A and B for only a few multiply-adds, so this path does not pack: 4×4 blocks of C each keep sixteen vector
// accumulators over k, reading four rows of A and four of B (eight loads for sixteen FMAs), or 5×5 blocks 25 (ten
// loads), whichever covers C with less padding (LongDotSide), and K is cut into blocks that keep those rows in L2 for
// every block of C. A short block repeats its last row or column, so every element of C gets the same operations
// wherever its block starts: splits of rows or columns in multiples of the block's side are bit-identical.
internal static unsafe partial class Gemm
{
    // Where packing costs more than it saves (measured on SimpleConvNet's and DeepConvNet's weight gradients): a few
    // thousand outputs from a few hundred terms, or up to 64×256 outputs from a couple of thousand (AVX-512 only); K at
    // least four times M and N, so that a product with a short reduction (a layer's dx) keeps the packed path.
    private static bool IsLongDot<T>(GemmPath path, bool transA, bool transB, int M, int N, int K) where T : unmanaged =>
        path == GemmPath.Vector512 && !transA && transB && System.Runtime.Intrinsics.X86.Avx512F.IsSupported
        && K >= 4L * Math.Max(M, N)
        && ((K >= 256 && (long)M * N <= 2560) || (K >= 2048 && Math.Min(M, N) <= 64 && (long)M * N <= 64L * 256));

    // The side of C's blocks: 5×5 (25 accumulators, ten loads for 25 FMAs) where it covers C with less padding than 4×4
    // blocks, else 4×4. SimpleConvNet's 30×25 takes thirty 5×5 blocks (none padded) instead of
    // 56 4×4 blocks over 32×28: its weight gradient ran 12 % faster (K of 2304, in L2) to 29 % (4608) on a Zen 5.
    // DeepConvNet's 16×144 keeps 4×4 (5×5 would pad 16 rows to 20).
    internal static int LongDotSide(int M, int N)
    {
        long four = (long)((M + 3) / 4) * ((N + 3) / 4) * 16, five = (long)((M + 4) / 5) * ((N + 4) / 5) * 25;
        return five < four ? 5 : 4;
    }

    // The k-block: the rows of A and B in half of L2, in whole vectors.
    private static int LongDotBlock<T>(int M, int N) where T : unmanaged
    {
        int w = Vector512<T>.Count;
        long rows = M + N;
        long kb = Processor.Caches.L2 / 2 / (rows * Unsafe.SizeOf<T>());
        return (int)Math.Clamp(kb / w * w, 16L * w, 1L << 16);
    }

    // Rows m0..m1 and columns n0..n1 of C (row stride ldc) = A·Bᵀ (+ bias[j]) (+ old C), A rows of lda, B rows of ldb (or
    // B's row r at b + bRows[r], where bRows is given).
    private static void LongDot<T>(int m0, int m1, int n0, int n1, int M, int N, int K, T* a, int lda, T* b, int ldb, T* c, int ldc,
        T* bias, bool accumulate, long* bRows = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count, kb = LongDotBlock<T>(M, N), side = LongDotSide(M, N);
        T* partial = stackalloc T[25];
        for (int k0 = 0; k0 < K; k0 += kb)
        {
            int kl = Math.Min(kb, K - k0);
            for (int i = m0; i < m1; i += side)
                for (int j = n0; j < n1; j += side)
                {
                    // Rows past the end repeat the last one; their sums are dropped.
                    T* a0 = A(i, k0);
                    if (side == 5)
                        Block5x5(a0, A(i + 1, k0), A(i + 2, k0), A(i + 3, k0), A(i + 4, k0), Row(j, k0), Row(j + 1, k0), Row(j + 2, k0),
                            Row(j + 3, k0), Row(j + 4, k0), kl, w, partial);
                    else
                        Block4x4(a0, A(i + 1, k0), A(i + 2, k0), A(i + 3, k0), Row(j, k0), Row(j + 1, k0), Row(j + 2, k0),
                            Row(j + 3, k0), kl, w, partial);
                    for (int r = 0; r < side && i + r < m1; r++)
                        for (int s = 0; s < side && j + s < n1; s++)
                        {
                            T* cij = c + (long)(i + r) * ldc + j + s;
                            T sum = partial[r * side + s];
                            *cij = k0 == 0 ? (accumulate ? *cij + sum : sum) : *cij + sum;
                        }
                }
        }
        if (bias != null)
            for (int i = m0; i < m1; i++)
                for (int j = n0; j < n1; j++) c[(long)i * ldc + j] += bias[j];

        // A's row r and B's row r (the last one past m1 or n1) from k0 of the current block.
        T* A(int r, int k0) => a + (long)Math.Min(r, m1 - 1) * lda + k0;
        T* Row(int r, int k0) => b + (bRows == null ? (long)Math.Min(r, n1 - 1) * ldb : bRows[Math.Min(r, n1 - 1)]) + k0;
    }

    private sealed class LongDotJob<T> : WorkerPool.IJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly LongDotJob<T> Instance = new();
        public bool SplitRows, Accumulate;
        public int M, N, K, Lda, Ldb, Ldc;
        public T* A, B, C, Bias;

        public void Execute(int part, int parts)
        {
            var (lo, hi) = WorkerPool.Part(SplitRows ? M : N, LongDotSide(M, N), part, parts);
            if (lo >= hi) return;
            if (SplitRows) LongDot(lo, hi, 0, N, M, N, K, A, Lda, B, Ldb, C, Ldc, Bias, Accumulate);
            else LongDot(0, M, lo, hi, M, N, K, A, Lda, B, Ldb, C, Ldc, Bias, Accumulate);
        }
    }

    private static void RunLongDot<T>(GemmPlan plan, int M, int N, int K, T* a, int lda, T* b, int ldb, T* c, int ldc, T* bias,
        bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var job = LongDotJob<T>.Instance;
        lock (job)
        {
            job.SplitRows = plan.SplitRows; job.Accumulate = accumulate;
            job.M = M; job.N = N; job.K = K; job.Lda = lda; job.Ldb = ldb; job.Ldc = ldc;
            job.A = a; job.B = b; job.C = c; job.Bias = bias;
            WorkerPool.Shared.Run(job, plan.Parts);
            job.A = job.B = job.C = job.Bias = null;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block4x4<T>(T* a0, T* a1, T* a2, T* a3, T* b0, T* b1, T* b2, T* b3, int K, int w, T* result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default,
            c13 = default, c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default,
            c33 = default;
        int k = 0;
        for (; k + w <= K; k += w)
        {
            var x0 = Vector512.Load(a0 + k); var x1 = Vector512.Load(a1 + k);
            var x2 = Vector512.Load(a2 + k); var x3 = Vector512.Load(a3 + k);
            var y0 = Vector512.Load(b0 + k);
            c00 = Simd.Fma(x0, y0, c00); c10 = Simd.Fma(x1, y0, c10); c20 = Simd.Fma(x2, y0, c20); c30 = Simd.Fma(x3, y0, c30);
            var y1 = Vector512.Load(b1 + k);
            c01 = Simd.Fma(x0, y1, c01); c11 = Simd.Fma(x1, y1, c11); c21 = Simd.Fma(x2, y1, c21); c31 = Simd.Fma(x3, y1, c31);
            var y2 = Vector512.Load(b2 + k);
            c02 = Simd.Fma(x0, y2, c02); c12 = Simd.Fma(x1, y2, c12); c22 = Simd.Fma(x2, y2, c22); c32 = Simd.Fma(x3, y2, c32);
            var y3 = Vector512.Load(b3 + k);
            c03 = Simd.Fma(x0, y3, c03); c13 = Simd.Fma(x1, y3, c13); c23 = Simd.Fma(x2, y3, c23); c33 = Simd.Fma(x3, y3, c33);
        }
        if (k < K)
        {
            var m = Simd.FirstLanes<T>(K - k);
            var x0 = Simd.MaskLoad(a0 + k, m); var x1 = Simd.MaskLoad(a1 + k, m);
            var x2 = Simd.MaskLoad(a2 + k, m); var x3 = Simd.MaskLoad(a3 + k, m);
            var y0 = Simd.MaskLoad(b0 + k, m);
            c00 = Simd.Fma(x0, y0, c00); c10 = Simd.Fma(x1, y0, c10); c20 = Simd.Fma(x2, y0, c20); c30 = Simd.Fma(x3, y0, c30);
            var y1 = Simd.MaskLoad(b1 + k, m);
            c01 = Simd.Fma(x0, y1, c01); c11 = Simd.Fma(x1, y1, c11); c21 = Simd.Fma(x2, y1, c21); c31 = Simd.Fma(x3, y1, c31);
            var y2 = Simd.MaskLoad(b2 + k, m);
            c02 = Simd.Fma(x0, y2, c02); c12 = Simd.Fma(x1, y2, c12); c22 = Simd.Fma(x2, y2, c22); c32 = Simd.Fma(x3, y2, c32);
            var y3 = Simd.MaskLoad(b3 + k, m);
            c03 = Simd.Fma(x0, y3, c03); c13 = Simd.Fma(x1, y3, c13); c23 = Simd.Fma(x2, y3, c23); c33 = Simd.Fma(x3, y3, c33);
        }
        result[0] = Vector512.Sum(c00);
        result[1] = Vector512.Sum(c01);
        result[2] = Vector512.Sum(c02);
        result[3] = Vector512.Sum(c03);
        result[4] = Vector512.Sum(c10);
        result[5] = Vector512.Sum(c11);
        result[6] = Vector512.Sum(c12);
        result[7] = Vector512.Sum(c13);
        result[8] = Vector512.Sum(c20);
        result[9] = Vector512.Sum(c21);
        result[10] = Vector512.Sum(c22);
        result[11] = Vector512.Sum(c23);
        result[12] = Vector512.Sum(c30);
        result[13] = Vector512.Sum(c31);
        result[14] = Vector512.Sum(c32);
        result[15] = Vector512.Sum(c33);
    }

    // Block4x4's 5×5 twin: 25 accumulators and the five rows of A in registers (31 of AVX-512's 32), one row of B at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block5x5<T>(T* a0, T* a1, T* a2, T* a3, T* a4, T* b0, T* b1, T* b2, T* b3, T* b4, int K, int w, T* result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default, c04 = default, c10 = default,
            c11 = default, c12 = default, c13 = default, c14 = default, c20 = default, c21 = default, c22 = default,
            c23 = default, c24 = default, c30 = default, c31 = default, c32 = default, c33 = default, c34 = default,
            c40 = default, c41 = default, c42 = default, c43 = default, c44 = default;
        int k = 0;
        for (; k + w <= K; k += w)
        {
            var x0 = Vector512.Load(a0 + k); var x1 = Vector512.Load(a1 + k); var x2 = Vector512.Load(a2 + k);
            var x3 = Vector512.Load(a3 + k); var x4 = Vector512.Load(a4 + k);
            var y0 = Vector512.Load(b0 + k);
            c00 = Simd.Fma(x0, y0, c00); c10 = Simd.Fma(x1, y0, c10); c20 = Simd.Fma(x2, y0, c20);
            c30 = Simd.Fma(x3, y0, c30); c40 = Simd.Fma(x4, y0, c40);
            var y1 = Vector512.Load(b1 + k);
            c01 = Simd.Fma(x0, y1, c01); c11 = Simd.Fma(x1, y1, c11); c21 = Simd.Fma(x2, y1, c21);
            c31 = Simd.Fma(x3, y1, c31); c41 = Simd.Fma(x4, y1, c41);
            var y2 = Vector512.Load(b2 + k);
            c02 = Simd.Fma(x0, y2, c02); c12 = Simd.Fma(x1, y2, c12); c22 = Simd.Fma(x2, y2, c22);
            c32 = Simd.Fma(x3, y2, c32); c42 = Simd.Fma(x4, y2, c42);
            var y3 = Vector512.Load(b3 + k);
            c03 = Simd.Fma(x0, y3, c03); c13 = Simd.Fma(x1, y3, c13); c23 = Simd.Fma(x2, y3, c23);
            c33 = Simd.Fma(x3, y3, c33); c43 = Simd.Fma(x4, y3, c43);
            var y4 = Vector512.Load(b4 + k);
            c04 = Simd.Fma(x0, y4, c04); c14 = Simd.Fma(x1, y4, c14); c24 = Simd.Fma(x2, y4, c24);
            c34 = Simd.Fma(x3, y4, c34); c44 = Simd.Fma(x4, y4, c44);
        }
        if (k < K)
        {
            var m = Simd.FirstLanes<T>(K - k);
            var x0 = Simd.MaskLoad(a0 + k, m); var x1 = Simd.MaskLoad(a1 + k, m); var x2 = Simd.MaskLoad(a2 + k, m);
            var x3 = Simd.MaskLoad(a3 + k, m); var x4 = Simd.MaskLoad(a4 + k, m);
            var y0 = Simd.MaskLoad(b0 + k, m);
            c00 = Simd.Fma(x0, y0, c00); c10 = Simd.Fma(x1, y0, c10); c20 = Simd.Fma(x2, y0, c20);
            c30 = Simd.Fma(x3, y0, c30); c40 = Simd.Fma(x4, y0, c40);
            var y1 = Simd.MaskLoad(b1 + k, m);
            c01 = Simd.Fma(x0, y1, c01); c11 = Simd.Fma(x1, y1, c11); c21 = Simd.Fma(x2, y1, c21);
            c31 = Simd.Fma(x3, y1, c31); c41 = Simd.Fma(x4, y1, c41);
            var y2 = Simd.MaskLoad(b2 + k, m);
            c02 = Simd.Fma(x0, y2, c02); c12 = Simd.Fma(x1, y2, c12); c22 = Simd.Fma(x2, y2, c22);
            c32 = Simd.Fma(x3, y2, c32); c42 = Simd.Fma(x4, y2, c42);
            var y3 = Simd.MaskLoad(b3 + k, m);
            c03 = Simd.Fma(x0, y3, c03); c13 = Simd.Fma(x1, y3, c13); c23 = Simd.Fma(x2, y3, c23);
            c33 = Simd.Fma(x3, y3, c33); c43 = Simd.Fma(x4, y3, c43);
            var y4 = Simd.MaskLoad(b4 + k, m);
            c04 = Simd.Fma(x0, y4, c04); c14 = Simd.Fma(x1, y4, c14); c24 = Simd.Fma(x2, y4, c24);
            c34 = Simd.Fma(x3, y4, c34); c44 = Simd.Fma(x4, y4, c44);
        }
        result[0] = Vector512.Sum(c00);
        result[1] = Vector512.Sum(c01);
        result[2] = Vector512.Sum(c02);
        result[3] = Vector512.Sum(c03);
        result[4] = Vector512.Sum(c04);
        result[5] = Vector512.Sum(c10);
        result[6] = Vector512.Sum(c11);
        result[7] = Vector512.Sum(c12);
        result[8] = Vector512.Sum(c13);
        result[9] = Vector512.Sum(c14);
        result[10] = Vector512.Sum(c20);
        result[11] = Vector512.Sum(c21);
        result[12] = Vector512.Sum(c22);
        result[13] = Vector512.Sum(c23);
        result[14] = Vector512.Sum(c24);
        result[15] = Vector512.Sum(c30);
        result[16] = Vector512.Sum(c31);
        result[17] = Vector512.Sum(c32);
        result[18] = Vector512.Sum(c33);
        result[19] = Vector512.Sum(c34);
        result[20] = Vector512.Sum(c40);
        result[21] = Vector512.Sum(c41);
        result[22] = Vector512.Sum(c42);
        result[23] = Vector512.Sum(c43);
        result[24] = Vector512.Sum(c44);
    }
}
