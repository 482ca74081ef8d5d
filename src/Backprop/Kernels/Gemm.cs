using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// General matrix multiply C = op(A)·op(B) [+ bias] [+ C], the three products of a fully connected layer.
/// </summary>
/// <remarks>
/// Large products are packed and cache-blocked (Goto/BLIS style): op(B) is packed into KC×NR micro-panels
/// and op(A) into MR×KC micro-panels, and a register-tiled micro-kernel with fused multiply-add computes an
/// MR×NR tile of C. The reduction dimension K is never split between threads, and every element of C is
/// summed in the same order whatever the thread count, so results are bit-identical across thread counts.
/// Skinny products (a dimension of 1 or 2, or few flops) take a direct path without packing: rows of C accumulated in
/// registers over k, dot products against a transposed B summed across lanes by a shuffle tree a vector of columns at a
/// time, and outer products (K = 1: dW of a batch of one) written as aligned flat vectors. Products with at most two
/// vectors of columns (a 10-class output layer) keep each row of C in masked AVX-512 registers, eight rows at a time; a
/// short reduction against a transposed B (dx = dout·Wᵀ of such a layer) transposes B once and goes direct.
/// The narrow paths run on one thread; large direct products split rows or columns (never K) like the packed path.
/// The packed path can also return the column sums of op(B) (db, summed as dout is packed).
/// </remarks>
public static unsafe class Gemm
{
    private const int KC = 192;
    private const int MC = 96;
    private const int NC = 1024;
    private const long ParallelThreshold = 1L << 19;   // multiply-adds below which one thread is faster
    private const long DirectThreshold = 1L << 13;
    private const long DirectParallelThreshold = 1L << 15;   // multiply-adds from which a direct product splits between cores

    /// <summary>The path used by <see cref="GemmPath.Auto"/> on this processor.</summary>
    public static GemmPath BestPath { get; } =
        Vector512.IsHardwareAccelerated ? GemmPath.Vector512 :
        Vector256.IsHardwareAccelerated ? GemmPath.Vector256 : GemmPath.Scalar;

    /// <summary>Forces a path for every product (for tests and benchmarks); <see cref="GemmPath.Auto"/> picks the best.</summary>
    public static GemmPath Path { get; set; } = GemmPath.Auto;

    /// <summary>The path products take now: <see cref="Path"/>, never wider than the processor runs.</summary>
    internal static GemmPath EffectivePath => Path == GemmPath.Auto || Path < BestPath ? BestPath : Path;

    /// <summary>
    /// C (M×N, row stride ldc) = op(A) (M×K) · op(B) (K×N), plus <paramref name="bias"/> (N entries, may be empty)
    /// added to every row, plus the old C when <paramref name="accumulate"/>.
    /// op(A)[i,k] is A[k·lda + i] when <paramref name="transA"/>, else A[i·lda + k]; likewise for B.
    /// When <paramref name="columnSums"/> is given (N entries), it receives Σ_k op(B)[k,j], summed in order of k: the
    /// bias gradient db = Σ_batch dout of dW = xᵀ·dout, summed while dout is packed where the product packs it.
    /// </summary>
    public static void Multiply<T>(bool transA, bool transB, int M, int N, int K,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc,
        ReadOnlySpan<T> bias = default, bool accumulate = false, Span<T> columnSums = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!columnSums.IsEmpty && columnSums.Length < N) throw new ArgumentException($"Gemm: columnSums has {columnSums.Length} entries, {N} needed");
        fixed (T* ps = columnSums)
        {
            T* sums = columnSums.IsEmpty ? null : ps;
            if (!MultiplyCore(transA, transB, M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate, sums) && sums != null && N > 0)
                fixed (T* pb = b) ColumnSums(transB, N, K, pb, ldb, sums);
        }
    }

    // Returns whether it also stored the column sums of op(B) (the packed path does, as it packs B).
    private static bool MultiplyCore<T>(bool transA, bool transB, int M, int N, int K,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, ReadOnlySpan<T> bias, bool accumulate, T* sums)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (M < 0 || N < 0 || K < 0) throw new ArgumentOutOfRangeException(nameof(M), "Gemm: negative dimension");
        CheckExtent(a.Length, transA ? K : M, transA ? M : K, lda, "A");
        CheckExtent(b.Length, transB ? N : K, transB ? K : N, ldb, "B");
        CheckExtent(c.Length, M, N, ldc, "C");
        if (!bias.IsEmpty && bias.Length < N) throw new ArgumentException($"Gemm: bias has {bias.Length} entries, {N} needed");
        if (M == 0 || N == 0) return false;

        fixed (T* pa = a, pb = b, pc = c, pbias = bias)
        {
            T* biasPtr = bias.IsEmpty ? null : pbias;
            var path = EffectivePath;
            long work = (long)M * N * K;
            if (K == 0)
            {
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++)
                    {
                        T v = biasPtr == null ? T.Zero : biasPtr[j];
                        pc[(long)i * ldc + j] = accumulate ? pc[(long)i * ldc + j] + v : v;
                    }
                return false;
            }
            if (path == GemmPath.Vector512 && !transB && N <= 2 * Vector512<T>.Count && M > 2 && work < ParallelThreshold && Avx512F.IsSupported)
            {
                if (N <= Vector512<T>.Count) NarrowDirect(transA, M, N, K, pa, lda, pb, ldb, pc, ldc, biasPtr, accumulate);
                else NarrowDirect2(transA, M, N, K, pa, lda, pb, ldb, pc, ldc, biasPtr, accumulate);
                return false;
            }
            if (path != GemmPath.Scalar && transB && !transA && M > 2 && K <= 16 && (long)K * N <= 1 << 16 && work < ParallelThreshold)
            {
                // A short reduction against a transposed B (dx = dout·Wᵀ of a narrow layer): transpose op(B) once into a
                // K×N row-major scratch, then every row of C is a K-term combination of its rows, held in registers.
                T* bt = Buffer<T>(ref t_packB, (long)K * N);
                T** rows = stackalloc T*[8];
                for (int j = 0; j < N; j += 8)
                {
                    int count = Math.Min(8, N - j);
                    for (int r = 0; r < count; r++) rows[r] = pb + (long)(j + r) * ldb;
                    Packing.Interleave(rows, count, N, K, bt + j, vector: true, pad: false);
                }
                Direct(path, false, false, M, N, K, pa, lda, bt, N, pc, ldc, biasPtr, accumulate);
                return false;
            }
            if (path != GemmPath.Scalar && (M <= 2 || K <= 2 || work <= DirectThreshold))
            {
                // Split rows when there are enough, else columns when every part keeps at least one full vector (a part
                // narrower than that would take the narrower loops, whose sums round differently).
                int parts = work >= DirectParallelThreshold && (M >= 16 || N >= 64) ? Math.Min(Parallelism.MaxThreads, WorkerPool.Shared.Capacity) : 1;
                if (M < 16) parts = Math.Min(parts, N / 32);   // column parts of at least 32 (the last one at least 16)
                if (parts > 1) RunParallel(parts, direct: true, splitRows: M >= 16, path, transA, transB, M, N, K, pa, lda, pb, ldb, pc, ldc, 1, biasPtr, accumulate);
                else Direct(path, transA, transB, M, N, K, pa, lda, pb, ldb, pc, ldc, biasPtr, accumulate);
                return false;
            }
            // A product with few columns and many rows wastes most of each NR-wide tile: compute Cᵀ = op(B)ᵀ·op(A)ᵀ instead.
            int nr = NR<T>(path);
            if (N < nr && M > N)
            {
                if (biasPtr != null)
                {
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N; j++)
                        {
                            long o = (long)i * ldc + j;
                            pc[o] = accumulate ? pc[o] + biasPtr[j] : biasPtr[j];
                        }
                    accumulate = true;
                }
                Packed(path, !transB, !transA, N, M, K, pb, ldb, pa, lda, pc, 1, ldc, null, accumulate, work, null);
                return false;
            }
            Packed(path, transA, transB, M, N, K, pa, lda, pb, ldb, pc, ldc, 1, biasPtr, accumulate, work, transB ? null : sums);
            return !transB;
        }
    }

    /// <summary>sum[j] = Σ_i a[i·cols + j], in order of i: the column sums of a rows×cols matrix (db = Σ_batch dout).</summary>
    internal static void ColumnSums<T>(ReadOnlySpan<T> a, int rows, int cols, Span<T> sum) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (cols == 0) return;
        if (a.Length < (long)rows * cols || sum.Length < cols) throw new ArgumentException("Gemm.ColumnSums: operand too small");
        fixed (T* pa = a, ps = sum) ColumnSums(false, cols, rows, pa, cols, ps);
    }

    // sums[j] = Σ_k op(B)[k,j] in order of k, on paths that do not pack B (the same order as the packed path's).
    private static void ColumnSums<T>(bool transB, int N, int K, T* b, int ldb, T* sums) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = new Span<T>(sums, N);
        if (K == 0) { s.Clear(); return; }
        if (!transB && N <= Vector512<T>.Count && BestPath == GemmPath.Vector512 && Avx512F.IsSupported)
        {
            // Narrow rows (db of a 10-class output layer): one masked vector, summed over the rows in a register.
            var mask = Simd.FirstLanes<T>(N);
            var acc = Simd.MaskLoad(b, mask);
            for (int k = 1; k < K; k++) acc += Simd.MaskLoad(b + (long)k * ldb, mask);
            Simd.MaskStore(sums, mask, acc);
            return;
        }
        if (!transB)
        {
            new ReadOnlySpan<T>(b, N).CopyTo(s);
            for (int k = 1; k < K; k++) TensorPrimitives.Add(s, new ReadOnlySpan<T>(b + (long)k * ldb, N), s);
            return;
        }
        for (int j = 0; j < N; j++)
        {
            T* row = b + (long)j * ldb;
            T t = row[0];
            for (int k = 1; k < K; k++) t += row[k];
            sums[j] = t;
        }
    }

    private static void CheckExtent(int length, int rows, int cols, int ld, string name)
    {
        if (rows == 0 || cols == 0) return;
        if (ld < cols) throw new ArgumentException($"Gemm: leading dimension of {name} ({ld}) is below its row length {cols}");
        if ((long)(rows - 1) * ld + cols > length)
            throw new ArgumentException($"Gemm: {name} holds {length} elements, too few for {rows}×{cols} with leading dimension {ld}");
    }

    internal static int MR<T>(GemmPath path) => path switch
    {
        GemmPath.Vector512 => 12,
        GemmPath.Vector256 => 6,
        _ => 4,
    };

    internal static int NR<T>(GemmPath path) => path switch
    {
        GemmPath.Vector512 => 2 * Vector512<T>.Count,
        GemmPath.Vector256 => 2 * Vector256<T>.Count,
        _ => 4,
    };

    // ---- direct path: no packing, for skinny or tiny products ----

    private static void Direct<T>(GemmPath path, bool transA, bool transB, int M, int N, int K,
        T* a, int lda, T* b, int ldb, T* c, int ldc, T* bias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!transB)
        {
            // Row i of C is a combination of rows of op(B): c_i = Σ_k op(A)[i,k]·B[k,:], accumulated in registers
            // over k for blocks of columns (no round trip through memory per k).
            long aRow = transA ? 1 : lda, aCol = transA ? lda : 1;
            if (K == 1 && ldc == N && path == GemmPath.Vector512 && N >= Vector512<T>.Count && (nint)c % sizeof(T) == 0)
            {
                OuterContiguous(a, aRow, b, c, M, N, bias, accumulate);
                return;
            }
            int i = 0;
            // Four rows at a time, then a pair, share every load of B (it dominates when K is short); a last odd row goes
            // alone. Quads and pairs sum every element the same way, so a row split (in even blocks) that turns a quad
            // into pairs changes no result.
            if (path == GemmPath.Vector512 && N >= Vector512<T>.Count && K > 1)
            {
                for (; i + 3 < M; i += 4)
                    DirectRowQuad(a + i * aRow, aRow, aCol, b, ldb, c + (long)i * ldc, ldc, N, K, bias, accumulate);
                for (; i + 1 < M; i += 2)
                    DirectRowPair(a + i * aRow, a + (i + 1) * aRow, aCol, b, ldb, c + (long)i * ldc, c + (long)(i + 1) * ldc, N, K, bias, accumulate);
            }
            for (; i < M; i++)
                DirectRow(path, a + i * aRow, aCol, b, ldb, c + (long)i * ldc, N, K, bias, accumulate);
        }
        else if (!transA && path == GemmPath.Vector512)
        {
            for (int i = 0; i < M; i++)
                DotGroups(a + (long)i * lda, b, ldb, c + (long)i * ldc, N, K, bias, accumulate);
        }
        else if (!transA)
        {
            // Both operands contiguous along k (the 256-bit path; 512-bit takes DotGroups above): each element is a dot
            // product; four columns at a time share the loads of A.
            for (int i = 0; i < M; i++)
            {
                T* ai = a + (long)i * lda;
                T* ci = c + (long)i * ldc;
                int j = 0;
                for (; j <= N - 4; j += 4)
                {
                    Dot4(path, ai, b + (long)j * ldb, ldb, K, out T s0, out T s1, out T s2, out T s3);
                    Put(ci, j, s0, bias, accumulate);
                    Put(ci, j + 1, s1, bias, accumulate);
                    Put(ci, j + 2, s2, bias, accumulate);
                    Put(ci, j + 3, s3, bias, accumulate);
                }
                for (; j < N; j++) Put(ci, j, Dot(path, ai, b + (long)j * ldb, K), bias, accumulate);
            }
        }
        else
        {
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                {
                    T s = T.Zero;
                    for (int k = 0; k < K; k++) s += a[(long)k * lda + i] * b[(long)j * ldb + k];
                    Put(c + (long)i * ldc, j, s, bias, accumulate);
                }
        }
    }

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
        Vector512<float> v8 = default, v9 = default, v10 = default, v11 = default, v12 = default, v13 = default, v14 = default, v15 = default;
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
            v10 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r10 + k), v10); v11 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r11 + k), v11);
            v12 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r12 + k), v12); v13 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r13 + k), v13);
            v14 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r14 + k), v14); v15 = Vector512.FusedMultiplyAdd(x, Vector512.Load(r15 + k), v15);
        }
        {
            int k = last;
            var x = Avx512F.MaskLoad(a + k, tail, Vector512<float>.Zero);
            v0 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r0 + k, tail, Vector512<float>.Zero), v0); v1 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r1 + k, tail, Vector512<float>.Zero), v1);
            v2 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r2 + k, tail, Vector512<float>.Zero), v2); v3 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r3 + k, tail, Vector512<float>.Zero), v3);
            v4 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r4 + k, tail, Vector512<float>.Zero), v4); v5 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r5 + k, tail, Vector512<float>.Zero), v5);
            v6 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r6 + k, tail, Vector512<float>.Zero), v6); v7 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r7 + k, tail, Vector512<float>.Zero), v7);
            v8 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r8 + k, tail, Vector512<float>.Zero), v8); v9 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r9 + k, tail, Vector512<float>.Zero), v9);
            v10 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r10 + k, tail, Vector512<float>.Zero), v10); v11 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r11 + k, tail, Vector512<float>.Zero), v11);
            v12 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r12 + k, tail, Vector512<float>.Zero), v12); v13 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r13 + k, tail, Vector512<float>.Zero), v13);
            v14 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r14 + k, tail, Vector512<float>.Zero), v14); v15 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r15 + k, tail, Vector512<float>.Zero), v15);
        }
        return Reduce16(v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15);
    }

    // DotGroup16 for a full group of sixteen equally spaced rows (row c at b + c·ldb): four row pointers (columns q,
    // q + 4, q + 8, q + 12 for slot q·4 + m share pointer q, at offsets 0, 4, 8, 12 rows) advance with k, so the loop
    // keeps every address in registers (sixteen row pointers do not fit). Same slots, same sums as DotGroup16.
    private static Vector512<float> DotGroup16Strided(float* b, long ldb, float* a, int K, int last, Vector512<float> tail)
    {
        Vector512<float> v0 = default, v1 = default, v2 = default, v3 = default, v4 = default, v5 = default, v6 = default, v7 = default;
        Vector512<float> v8 = default, v9 = default, v10 = default, v11 = default, v12 = default, v13 = default, v14 = default, v15 = default;
        float* p0 = b, p1 = b + ldb, p2 = b + 2 * ldb, p3 = b + 3 * ldb;
        long o1 = 4 * ldb, o2 = 8 * ldb, o3 = 12 * ldb;
        int k = 0;
        for (; k < last; k += 16, p0 += 16, p1 += 16, p2 += 16, p3 += 16)
        {
            var x = Vector512.Load(a + k);
            v0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p0), v0); v1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p0 + o1), v1);
            v2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p0 + o2), v2); v3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p0 + o3), v3);
            v4 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p1), v4); v5 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p1 + o1), v5);
            v6 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p1 + o2), v6); v7 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p1 + o3), v7);
            v8 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p2), v8); v9 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p2 + o1), v9);
            v10 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p2 + o2), v10); v11 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p2 + o3), v11);
            v12 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p3), v12); v13 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p3 + o1), v13);
            v14 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p3 + o2), v14); v15 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p3 + o3), v15);
        }
        {
            var z = Vector512<float>.Zero;
            var x = Avx512F.MaskLoad(a + k, tail, z);
            v0 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p0, tail, z), v0); v1 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p0 + o1, tail, z), v1);
            v2 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p0 + o2, tail, z), v2); v3 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p0 + o3, tail, z), v3);
            v4 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p1, tail, z), v4); v5 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p1 + o1, tail, z), v5);
            v6 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p1 + o2, tail, z), v6); v7 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p1 + o3, tail, z), v7);
            v8 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p2, tail, z), v8); v9 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p2 + o1, tail, z), v9);
            v10 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p2 + o2, tail, z), v10); v11 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p2 + o3, tail, z), v11);
            v12 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p3, tail, z), v12); v13 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p3 + o1, tail, z), v13);
            v14 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p3 + o2, tail, z), v14); v15 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(p3 + o3, tail, z), v15);
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
    private static Vector512<float> Half16(Vector512<float> a, Vector512<float> b) => Avx512F.Shuffle4x128(a, b, 0x44) + Avx512F.Shuffle4x128(a, b, 0xEE);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Quarter16(Vector512<float> a, Vector512<float> b) => Avx512F.Shuffle4x128(a, b, 0x88) + Avx512F.Shuffle4x128(a, b, 0xDD);

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
            v0 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r0 + k, tail, Vector512<double>.Zero), v0); v1 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r1 + k, tail, Vector512<double>.Zero), v1);
            v2 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r2 + k, tail, Vector512<double>.Zero), v2); v3 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r3 + k, tail, Vector512<double>.Zero), v3);
            v4 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r4 + k, tail, Vector512<double>.Zero), v4); v5 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r5 + k, tail, Vector512<double>.Zero), v5);
            v6 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r6 + k, tail, Vector512<double>.Zero), v6); v7 = Vector512.FusedMultiplyAdd(x, Avx512F.MaskLoad(r7 + k, tail, Vector512<double>.Zero), v7);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(T* ci, int j, T s, T* bias, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (bias != null) s += bias[j];
        ci[j] = accumulate ? ci[j] + s : s;
    }

    // c[0..n) (=|+=) Σ_k a[k·aStride]·b[k·ldb + 0..n) (+ bias), accumulated in registers over k.
    // A last partial block recomputes the final full vector [n − W, n), overlapping columns already done: they get the
    // same value by the same operations, and only the new lanes are written, so no scalar tail runs latency-bound.
    private static void DirectRow<T>(GemmPath path, T* a, long aStride, T* b, int ldb, T* c, int n, int K, T* bias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (path == GemmPath.Vector512 && n >= Vector512<T>.Count)
        {
            // Groups of four vectors; even and odd k go to separate accumulators so that eight FMA chains hide the latency.
            int W = Vector512<T>.Count;
            if (K == 1)
            {
                // An outer-product row, bound by the stores: c = a0·b (+ bias).
                var a0 = Vector512.Create(a[0]);
                for (; j < n; j += W)
                {
                    int p = Math.Min(j, n - W);
                    Finish(c, p, a0 * Vector512.Load(b + p), bias, accumulate, j - p);
                }
                return;
            }
            // Blocks of eight vectors while more than four remain: a row of up to 8·W columns is read in one pass.
            for (; n - j > 4 * W; j += 8 * W) DirectRow8(a, aStride, b, ldb, c, j, n, K, bias, accumulate);
            for (; j < n; j += 4 * W)
            {
                int p0 = Math.Min(j, n - W), p1 = Math.Min(j + W, n - W), p2 = Math.Min(j + 2 * W, n - W), p3 = Math.Min(j + 3 * W, n - W);
                Vector512<T> e0 = default, e1 = default, e2 = default, e3 = default;
                Vector512<T> o0 = default, o1 = default, o2 = default, o3 = default;
                T* bk = b;
                int k = 0;
                for (; k + 1 < K; k += 2, bk += 2L * ldb)
                {
                    var ak = Vector512.Create(a[k * aStride]);
                    e0 = Simd.Fma(ak, Vector512.Load(bk + p0), e0);
                    e1 = Simd.Fma(ak, Vector512.Load(bk + p1), e1);
                    e2 = Simd.Fma(ak, Vector512.Load(bk + p2), e2);
                    e3 = Simd.Fma(ak, Vector512.Load(bk + p3), e3);
                    var ak1 = Vector512.Create(a[(k + 1) * aStride]);
                    T* bk1 = bk + ldb;
                    o0 = Simd.Fma(ak1, Vector512.Load(bk1 + p0), o0);
                    o1 = Simd.Fma(ak1, Vector512.Load(bk1 + p1), o1);
                    o2 = Simd.Fma(ak1, Vector512.Load(bk1 + p2), o2);
                    o3 = Simd.Fma(ak1, Vector512.Load(bk1 + p3), o3);
                }
                if (k < K)
                {
                    var ak = Vector512.Create(a[k * aStride]);
                    e0 = Simd.Fma(ak, Vector512.Load(bk + p0), e0);
                    e1 = Simd.Fma(ak, Vector512.Load(bk + p1), e1);
                    e2 = Simd.Fma(ak, Vector512.Load(bk + p2), e2);
                    e3 = Simd.Fma(ak, Vector512.Load(bk + p3), e3);
                }
                // Vector v owns columns [j + v·W, j + (v+1)·W) ∩ [0, n); a clamped start skips the lanes already owned.
                Finish(c, p0, e0 + o0, bias, accumulate, j - p0);
                if (j + W < n) Finish(c, p1, e1 + o1, bias, accumulate, j + W - p1);
                if (j + 2 * W < n) Finish(c, p2, e2 + o2, bias, accumulate, j + 2 * W - p2);
                if (j + 3 * W < n) Finish(c, p3, e3 + o3, bias, accumulate, j + 3 * W - p3);
            }
            return;
        }
        if (path != GemmPath.Scalar && n >= Vector256<T>.Count)
        {
            int W = Vector256<T>.Count;
            while (j < n)
            {
                int at = Math.Min(j, n - W);
                Vector256<T> s0 = default;
                T* bk = b + at;
                for (int k = 0; k < K; k++, bk += ldb) s0 = Simd.Fma(Vector256.Create(a[k * aStride]), Vector256.Load(bk), s0);
                if (bias != null) s0 += Vector256.Load(bias + at);
                var old = Vector256.Load(c + at);
                if (accumulate) s0 += old;
                var fresh = Vector256.GreaterThanOrEqual(Vector256<T>.Indices, Vector256.Create(T.CreateTruncating(j - at)));
                Vector256.Store(Vector256.ConditionalSelect(fresh, s0, old), c + at);
                j = at + W;
            }
            return;
        }
        if (path != GemmPath.Scalar && Vector128.IsHardwareAccelerated && n >= Vector128<T>.Count)
        {
            int W = Vector128<T>.Count;
            while (j < n)
            {
                int at = Math.Min(j, n - W);
                Vector128<T> s0 = default;
                T* bk = b + at;
                for (int k = 0; k < K; k++, bk += ldb) s0 += Vector128.Create(a[k * aStride]) * Vector128.Load(bk);
                if (bias != null) s0 += Vector128.Load(bias + at);
                var old = Vector128.Load(c + at);
                if (accumulate) s0 += old;
                var fresh = Vector128.GreaterThanOrEqual(Vector128<T>.Indices, Vector128.Create(T.CreateTruncating(j - at)));
                Vector128.Store(Vector128.ConditionalSelect(fresh, s0, old), c + at);
                j = at + W;
            }
            return;
        }
        for (; j < n; j++)
        {
            T s = T.Zero;
            for (int k = 0; k < K; k++) s += a[k * aStride] * b[(long)k * ldb + j];
            Put(c, j, s, bias, accumulate);
        }
    }

    // C (M×N, N ≤ one vector) = op(A)·B: every row of C is one masked vector, eight rows at a time, so eight FMA
    // chains run side by side; B is read in place, a row per k, with masked loads (nothing read or written past N).
    private static void NarrowDirect<T>(bool transA, int M, int N, int K, T* a, int lda, T* b, int ldb, T* c, int ldc, T* bias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var mask = Simd.FirstLanes<T>(N);
        var add = bias == null ? Vector512<T>.Zero : Simd.MaskLoad(bias, mask);
        long aRow = transA ? 1 : lda, aCol = transA ? lda : 1;
        for (int i = 0; i < M; i += 8)
        {
            int rows = Math.Min(8, M - i);
            // Rows past M repeat the last one: computed, never stored.
            T* a0 = a + i * aRow;
            T* a1 = a + Math.Min(i + 1, M - 1) * aRow, a2 = a + Math.Min(i + 2, M - 1) * aRow, a3 = a + Math.Min(i + 3, M - 1) * aRow;
            T* a4 = a + Math.Min(i + 4, M - 1) * aRow, a5 = a + Math.Min(i + 5, M - 1) * aRow, a6 = a + Math.Min(i + 6, M - 1) * aRow, a7 = a + Math.Min(i + 7, M - 1) * aRow;
            Vector512<T> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
            T* bk = b;
            long o = 0;
            for (int k = 0; k < K; k++, bk += ldb, o += aCol)
            {
                var bv = Simd.MaskLoad(bk, mask);
                c0 = Simd.Fma(Vector512.Create(a0[o]), bv, c0);
                c1 = Simd.Fma(Vector512.Create(a1[o]), bv, c1);
                c2 = Simd.Fma(Vector512.Create(a2[o]), bv, c2);
                c3 = Simd.Fma(Vector512.Create(a3[o]), bv, c3);
                c4 = Simd.Fma(Vector512.Create(a4[o]), bv, c4);
                c5 = Simd.Fma(Vector512.Create(a5[o]), bv, c5);
                c6 = Simd.Fma(Vector512.Create(a6[o]), bv, c6);
                c7 = Simd.Fma(Vector512.Create(a7[o]), bv, c7);
            }
            T* ci = c + (long)i * ldc;
            PutRow(ci, c0 + add, mask, accumulate);
            if (rows > 1) PutRow(ci + ldc, c1 + add, mask, accumulate);
            if (rows > 2) PutRow(ci + 2L * ldc, c2 + add, mask, accumulate);
            if (rows > 3) PutRow(ci + 3L * ldc, c3 + add, mask, accumulate);
            if (rows > 4) PutRow(ci + 4L * ldc, c4 + add, mask, accumulate);
            if (rows > 5) PutRow(ci + 5L * ldc, c5 + add, mask, accumulate);
            if (rows > 6) PutRow(ci + 6L * ldc, c6 + add, mask, accumulate);
            if (rows > 7) PutRow(ci + 7L * ldc, c7 + add, mask, accumulate);
        }
    }

    // C (M×N, contiguous, N ≥ one vector) = a[i·aStride]·b[j] (+ bias[j]) (+ old C), an outer product (dW of a batch of
    // one). Rows of C are rarely 64-byte aligned, and a store across two cache lines costs about two; so C is written as
    // one flat array in aligned vectors, each row's vectors from its first aligned one on, and the vector that crosses
    // into the next row takes its last lanes from that row (masked loads of b and bias, a blend of the two products).
    // Every element gets a[i]·b[j] (+ bias[j]) (+ old) as in DirectRow, whatever the alignment or the rows given.
    private static void OuterContiguous<T>(T* a, long aStride, T* b, T* c, int M, int N, T* bias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        long total = (long)M * N;
        // Elements before the first 64-byte boundary: lanes [0, head) of row 0 (head < W ≤ N).
        long head = Math.Min(total, ((64 - ((nint)c & 63)) & 63) / sizeof(T));
        if (head > 0)
        {
            var v = Vector512.Create(a[0]) * Vector512.Load(b);
            if (bias != null) v += Vector512.Load(bias);
            OuterStoreMasked(c, v, Simd.FirstLanes<T>((int)head), accumulate);
        }
        long f = head;   // the next element to write, 64-byte aligned from here on
        for (int i = 0; i < M; i++)
        {
            long end = (long)(i + 1) * N;
            if (f >= end) continue;
            var x = Vector512.Create(a[i * aStride]);
            T* bi = b - (long)i * N;   // bi[f] = b[f − i·N], the column of element f in row i
            T* biasI = bias == null ? null : bias - (long)i * N;
            if (biasI == null && !accumulate)
                for (; f + W <= end; f += W) Vector512.StoreAligned(x * Vector512.Load(bi + f), c + f);   // dW of a batch of one
            for (; f + W <= end; f += W)
            {
                var v = x * Vector512.Load(bi + f);
                if (biasI != null) v += Vector512.Load(biasI + f);
                if (accumulate) v += Vector512.LoadAligned(c + f);
                Vector512.StoreAligned(v, c + f);
            }
            if (f < end)
            {
                // Lanes [0, r) end row i; lanes [r, W) start row i + 1 at column 0 (stored only if that row is ours).
                int r = (int)(end - f);
                var mine = Simd.FirstLanes<T>(r);
                var next = Vector512.Create(a[Math.Min(i + 1, M - 1) * aStride]);
                var v = Vector512.ConditionalSelect(mine, x * Simd.MaskLoad(bi + f, mine), next * Simd.MaskLoad(b - r, ~mine));
                if (bias != null) v += Vector512.ConditionalSelect(mine, Simd.MaskLoad(bias + (f - (long)i * N), mine), Simd.MaskLoad(bias - r, ~mine));
                if (i + 1 < M)
                {
                    if (accumulate) v += Vector512.LoadAligned(c + f);
                    Vector512.StoreAligned(v, c + f);
                }
                else OuterStoreMasked(c + f, v, mine, accumulate);
                f += W;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OuterStoreMasked<T>(T* c, Vector512<T> v, Vector512<T> mask, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (accumulate) v += Simd.MaskLoad(c, mask);
        Simd.MaskStore(c, mask, v);
    }

    // DirectRow's block of eight vectors from column j (clamped to the last full vector), with the same even/odd split
    // of k: every column is summed exactly as in the four-vector blocks.
    private static void DirectRow8<T>(T* a, long aStride, T* b, int ldb, T* c, int j, int n, int K, T* bias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        int p0 = Math.Min(j, n - W), p1 = Math.Min(j + W, n - W), p2 = Math.Min(j + 2 * W, n - W), p3 = Math.Min(j + 3 * W, n - W);
        int p4 = Math.Min(j + 4 * W, n - W), p5 = Math.Min(j + 5 * W, n - W), p6 = Math.Min(j + 6 * W, n - W), p7 = Math.Min(j + 7 * W, n - W);
        Vector512<T> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default, e6 = default, e7 = default;
        Vector512<T> o0 = default, o1 = default, o2 = default, o3 = default, o4 = default, o5 = default, o6 = default, o7 = default;
        T* bk = b;
        int k = 0;
        for (; k + 1 < K; k += 2, bk += 2L * ldb)
        {
            var ak = Vector512.Create(a[k * aStride]);
            e0 = Simd.Fma(ak, Vector512.Load(bk + p0), e0);
            e1 = Simd.Fma(ak, Vector512.Load(bk + p1), e1);
            e2 = Simd.Fma(ak, Vector512.Load(bk + p2), e2);
            e3 = Simd.Fma(ak, Vector512.Load(bk + p3), e3);
            e4 = Simd.Fma(ak, Vector512.Load(bk + p4), e4);
            e5 = Simd.Fma(ak, Vector512.Load(bk + p5), e5);
            e6 = Simd.Fma(ak, Vector512.Load(bk + p6), e6);
            e7 = Simd.Fma(ak, Vector512.Load(bk + p7), e7);
            var ak1 = Vector512.Create(a[(k + 1) * aStride]);
            T* bk1 = bk + ldb;
            o0 = Simd.Fma(ak1, Vector512.Load(bk1 + p0), o0);
            o1 = Simd.Fma(ak1, Vector512.Load(bk1 + p1), o1);
            o2 = Simd.Fma(ak1, Vector512.Load(bk1 + p2), o2);
            o3 = Simd.Fma(ak1, Vector512.Load(bk1 + p3), o3);
            o4 = Simd.Fma(ak1, Vector512.Load(bk1 + p4), o4);
            o5 = Simd.Fma(ak1, Vector512.Load(bk1 + p5), o5);
            o6 = Simd.Fma(ak1, Vector512.Load(bk1 + p6), o6);
            o7 = Simd.Fma(ak1, Vector512.Load(bk1 + p7), o7);
        }
        if (k < K)
        {
            var ak = Vector512.Create(a[k * aStride]);
            e0 = Simd.Fma(ak, Vector512.Load(bk + p0), e0);
            e1 = Simd.Fma(ak, Vector512.Load(bk + p1), e1);
            e2 = Simd.Fma(ak, Vector512.Load(bk + p2), e2);
            e3 = Simd.Fma(ak, Vector512.Load(bk + p3), e3);
            e4 = Simd.Fma(ak, Vector512.Load(bk + p4), e4);
            e5 = Simd.Fma(ak, Vector512.Load(bk + p5), e5);
            e6 = Simd.Fma(ak, Vector512.Load(bk + p6), e6);
            e7 = Simd.Fma(ak, Vector512.Load(bk + p7), e7);
        }
        Finish(c, p0, e0 + o0, bias, accumulate, j - p0);
        if (j + W < n) Finish(c, p1, e1 + o1, bias, accumulate, j + W - p1);
        if (j + 2 * W < n) Finish(c, p2, e2 + o2, bias, accumulate, j + 2 * W - p2);
        if (j + 3 * W < n) Finish(c, p3, e3 + o3, bias, accumulate, j + 3 * W - p3);
        if (j + 4 * W < n) Finish(c, p4, e4 + o4, bias, accumulate, j + 4 * W - p4);
        if (j + 5 * W < n) Finish(c, p5, e5 + o5, bias, accumulate, j + 5 * W - p5);
        if (j + 6 * W < n) Finish(c, p6, e6 + o6, bias, accumulate, j + 6 * W - p6);
        if (j + 7 * W < n) Finish(c, p7, e7 + o7, bias, accumulate, j + 7 * W - p7);
    }

    // NarrowDirect for one to two vectors of columns (a 10-class layer in float64): each row of C is two vectors, the
    // second masked; eight rows at a time, sixteen accumulators.
    private static void NarrowDirect2<T>(bool transA, int M, int N, int K, T* a, int lda, T* b, int ldb, T* c, int ldc, T* bias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        var full = Vector512<T>.AllBitsSet;
        var mask = Simd.FirstLanes<T>(N - W);
        var add0 = bias == null ? Vector512<T>.Zero : Vector512.Load(bias);
        var add1 = bias == null ? Vector512<T>.Zero : Simd.MaskLoad(bias + W, mask);
        long aRow = transA ? 1 : lda, aCol = transA ? lda : 1;
        for (int i = 0; i < M; i += 8)
        {
            int rows = Math.Min(8, M - i);
            T* a0 = a + i * aRow;
            T* a1 = a + Math.Min(i + 1, M - 1) * aRow, a2 = a + Math.Min(i + 2, M - 1) * aRow, a3 = a + Math.Min(i + 3, M - 1) * aRow;
            T* a4 = a + Math.Min(i + 4, M - 1) * aRow, a5 = a + Math.Min(i + 5, M - 1) * aRow, a6 = a + Math.Min(i + 6, M - 1) * aRow, a7 = a + Math.Min(i + 7, M - 1) * aRow;
            Vector512<T> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
            Vector512<T> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default, d6 = default, d7 = default;
            T* bk = b;
            long o = 0;
            for (int k = 0; k < K; k++, bk += ldb, o += aCol)
            {
                var u = Vector512.Load(bk);
                var v = Simd.MaskLoad(bk + W, mask);
                var x = Vector512.Create(a0[o]); c0 = Simd.Fma(x, u, c0); d0 = Simd.Fma(x, v, d0);
                x = Vector512.Create(a1[o]); c1 = Simd.Fma(x, u, c1); d1 = Simd.Fma(x, v, d1);
                x = Vector512.Create(a2[o]); c2 = Simd.Fma(x, u, c2); d2 = Simd.Fma(x, v, d2);
                x = Vector512.Create(a3[o]); c3 = Simd.Fma(x, u, c3); d3 = Simd.Fma(x, v, d3);
                x = Vector512.Create(a4[o]); c4 = Simd.Fma(x, u, c4); d4 = Simd.Fma(x, v, d4);
                x = Vector512.Create(a5[o]); c5 = Simd.Fma(x, u, c5); d5 = Simd.Fma(x, v, d5);
                x = Vector512.Create(a6[o]); c6 = Simd.Fma(x, u, c6); d6 = Simd.Fma(x, v, d6);
                x = Vector512.Create(a7[o]); c7 = Simd.Fma(x, u, c7); d7 = Simd.Fma(x, v, d7);
            }
            T* ci = c + (long)i * ldc;
            PutRow(ci, c0 + add0, full, accumulate); PutRow(ci + W, d0 + add1, mask, accumulate);
            if (rows > 1) { PutRow(ci + ldc, c1 + add0, full, accumulate); PutRow(ci + ldc + W, d1 + add1, mask, accumulate); }
            if (rows > 2) { PutRow(ci + 2L * ldc, c2 + add0, full, accumulate); PutRow(ci + 2L * ldc + W, d2 + add1, mask, accumulate); }
            if (rows > 3) { PutRow(ci + 3L * ldc, c3 + add0, full, accumulate); PutRow(ci + 3L * ldc + W, d3 + add1, mask, accumulate); }
            if (rows > 4) { PutRow(ci + 4L * ldc, c4 + add0, full, accumulate); PutRow(ci + 4L * ldc + W, d4 + add1, mask, accumulate); }
            if (rows > 5) { PutRow(ci + 5L * ldc, c5 + add0, full, accumulate); PutRow(ci + 5L * ldc + W, d5 + add1, mask, accumulate); }
            if (rows > 6) { PutRow(ci + 6L * ldc, c6 + add0, full, accumulate); PutRow(ci + 6L * ldc + W, d6 + add1, mask, accumulate); }
            if (rows > 7) { PutRow(ci + 7L * ldc, c7 + add0, full, accumulate); PutRow(ci + 7L * ldc + W, d7 + add1, mask, accumulate); }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutRow<T>(T* c, Vector512<T> v, Vector512<T> mask, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (accumulate) v += Simd.MaskLoad(c, mask);
        Simd.MaskStore(c, mask, v);
    }

    // DirectRow for two rows of C at once: each vector of B loaded per k feeds both rows (eight accumulators).
    private static void DirectRowPair<T>(T* a0, T* a1, long aStride, T* b, int ldb, T* c0, T* c1, int n, int K, T* bias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        for (int j = 0; j < n; j += 4 * W)
        {
            int p0 = Math.Min(j, n - W), p1 = Math.Min(j + W, n - W), p2 = Math.Min(j + 2 * W, n - W), p3 = Math.Min(j + 3 * W, n - W);
            Vector512<T> r0 = default, r1 = default, r2 = default, r3 = default;
            Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
            T* bk = b;
            long o = 0;
            for (int k = 0; k < K; k++, bk += ldb, o += aStride)
            {
                var x = Vector512.Create(a0[o]);
                var y = Vector512.Create(a1[o]);
                var v0 = Vector512.Load(bk + p0);
                var v1 = Vector512.Load(bk + p1);
                var v2 = Vector512.Load(bk + p2);
                var v3 = Vector512.Load(bk + p3);
                r0 = Simd.Fma(x, v0, r0); s0 = Simd.Fma(y, v0, s0);
                r1 = Simd.Fma(x, v1, r1); s1 = Simd.Fma(y, v1, s1);
                r2 = Simd.Fma(x, v2, r2); s2 = Simd.Fma(y, v2, s2);
                r3 = Simd.Fma(x, v3, r3); s3 = Simd.Fma(y, v3, s3);
            }
            Finish(c0, p0, r0, bias, accumulate, j - p0);
            Finish(c1, p0, s0, bias, accumulate, j - p0);
            if (j + W < n) { Finish(c0, p1, r1, bias, accumulate, j + W - p1); Finish(c1, p1, s1, bias, accumulate, j + W - p1); }
            if (j + 2 * W < n) { Finish(c0, p2, r2, bias, accumulate, j + 2 * W - p2); Finish(c1, p2, s2, bias, accumulate, j + 2 * W - p2); }
            if (j + 3 * W < n) { Finish(c0, p3, r3, bias, accumulate, j + 3 * W - p3); Finish(c1, p3, s3, bias, accumulate, j + 3 * W - p3); }
        }
    }

    // DirectRowPair for four rows: each vector of B loaded per k feeds four rows (sixteen accumulators, one per element
    // as in the pair, so a row gets the same sums in a quad or a pair).
    private static void DirectRowQuad<T>(T* a, long aRow, long aStride, T* b, int ldb, T* c, int ldc, int n, int K, T* bias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        T* a0 = a, a1 = a + aRow, a2 = a + 2 * aRow, a3 = a + 3 * aRow;
        T* c0 = c, c1 = c + ldc, c2 = c + 2L * ldc, c3 = c + 3L * ldc;
        for (int j = 0; j < n; j += 4 * W)
        {
            int p0 = Math.Min(j, n - W), p1 = Math.Min(j + W, n - W), p2 = Math.Min(j + 2 * W, n - W), p3 = Math.Min(j + 3 * W, n - W);
            Vector512<T> r0 = default, r1 = default, r2 = default, r3 = default;
            Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
            Vector512<T> t0 = default, t1 = default, t2 = default, t3 = default;
            Vector512<T> u0 = default, u1 = default, u2 = default, u3 = default;
            T* bk = b;
            long o = 0;
            for (int k = 0; k < K; k++, bk += ldb, o += aStride)
            {
                var v0 = Vector512.Load(bk + p0);
                var v1 = Vector512.Load(bk + p1);
                var v2 = Vector512.Load(bk + p2);
                var v3 = Vector512.Load(bk + p3);
                var x = Vector512.Create(a0[o]);
                r0 = Simd.Fma(x, v0, r0); r1 = Simd.Fma(x, v1, r1); r2 = Simd.Fma(x, v2, r2); r3 = Simd.Fma(x, v3, r3);
                x = Vector512.Create(a1[o]);
                s0 = Simd.Fma(x, v0, s0); s1 = Simd.Fma(x, v1, s1); s2 = Simd.Fma(x, v2, s2); s3 = Simd.Fma(x, v3, s3);
                x = Vector512.Create(a2[o]);
                t0 = Simd.Fma(x, v0, t0); t1 = Simd.Fma(x, v1, t1); t2 = Simd.Fma(x, v2, t2); t3 = Simd.Fma(x, v3, t3);
                x = Vector512.Create(a3[o]);
                u0 = Simd.Fma(x, v0, u0); u1 = Simd.Fma(x, v1, u1); u2 = Simd.Fma(x, v2, u2); u3 = Simd.Fma(x, v3, u3);
            }
            Finish(c0, p0, r0, bias, accumulate, j - p0); Finish(c1, p0, s0, bias, accumulate, j - p0);
            Finish(c2, p0, t0, bias, accumulate, j - p0); Finish(c3, p0, u0, bias, accumulate, j - p0);
            if (j + W < n)
            {
                Finish(c0, p1, r1, bias, accumulate, j + W - p1); Finish(c1, p1, s1, bias, accumulate, j + W - p1);
                Finish(c2, p1, t1, bias, accumulate, j + W - p1); Finish(c3, p1, u1, bias, accumulate, j + W - p1);
            }
            if (j + 2 * W < n)
            {
                Finish(c0, p2, r2, bias, accumulate, j + 2 * W - p2); Finish(c1, p2, s2, bias, accumulate, j + 2 * W - p2);
                Finish(c2, p2, t2, bias, accumulate, j + 2 * W - p2); Finish(c3, p2, u2, bias, accumulate, j + 2 * W - p2);
            }
            if (j + 3 * W < n)
            {
                Finish(c0, p3, r3, bias, accumulate, j + 3 * W - p3); Finish(c1, p3, s3, bias, accumulate, j + 3 * W - p3);
                Finish(c2, p3, t3, bias, accumulate, j + 3 * W - p3); Finish(c3, p3, u3, bias, accumulate, j + 3 * W - p3);
            }
        }
    }

    // Stores lanes [skip, W) of s (+ bias, + old C when accumulating) at c + j; lanes below skip are left as they were.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<T>(T* c, int j, Vector512<T> s, T* bias, bool accumulate, int skip) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (bias != null) s += Vector512.Load(bias + j);
        // Without accumulation the skipped lanes are rewritten with the values they already hold (same operations, same
        // order), so a plain store will do; reloading them right after storing would stall on store forwarding.
        if (accumulate)
        {
            var old = Vector512.Load(c + j);
            s += old;
            if (skip != 0) s = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(skip))), s, old);
        }
        Vector512.Store(s, c + j);
    }

    private static void Dot4<T>(GemmPath path, T* x, T* y, int ldy, int n, out T s0, out T s1, out T s2, out T s3) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        s0 = s1 = s2 = s3 = T.Zero;
        T* y0 = y, y1 = y + ldy, y2 = y + 2L * ldy, y3 = y + 3L * ldy;
        if (path != GemmPath.Scalar && n >= Vector256<T>.Count)
        {
            Vector256<T> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; j <= n - Vector256<T>.Count; j += Vector256<T>.Count)
            {
                var xv = Vector256.Load(x + j);
                a0 = Simd.Fma(xv, Vector256.Load(y0 + j), a0);
                a1 = Simd.Fma(xv, Vector256.Load(y1 + j), a1);
                a2 = Simd.Fma(xv, Vector256.Load(y2 + j), a2);
                a3 = Simd.Fma(xv, Vector256.Load(y3 + j), a3);
            }
            s0 = Vector256.Sum(a0); s1 = Vector256.Sum(a1); s2 = Vector256.Sum(a2); s3 = Vector256.Sum(a3);
        }
        for (; j < n; j++)
        {
            T xj = x[j];
            s0 = T.FusedMultiplyAdd(xj, y0[j], s0);
            s1 = T.FusedMultiplyAdd(xj, y1[j], s1);
            s2 = T.FusedMultiplyAdd(xj, y2[j], s2);
            s3 = T.FusedMultiplyAdd(xj, y3[j], s3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Dot<T>(GemmPath path, T* x, T* y, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        T s = T.Zero;
        if (path != GemmPath.Scalar && n >= Vector256<T>.Count)
        {
            var acc = Vector256<T>.Zero;
            for (; j <= n - Vector256<T>.Count; j += Vector256<T>.Count)
                acc = Simd.Fma(Vector256.Load(x + j), Vector256.Load(y + j), acc);
            s = Vector256.Sum(acc);
        }
        for (; j < n; j++) s = T.FusedMultiplyAdd(x[j], y[j], s);
        return s;
    }

    // ---- packed path ----

    // One product split between cores, never along K. Packed: rows in MR blocks or columns in NR blocks. Direct: rows
    // in even-sized blocks (row pairs stay pairs), or columns in blocks of 16 (a multiple of every grouping the direct
    // loops use). Either way every element is computed by the same operations as on one thread: bit-identical results.
    private sealed class Job<T> : WorkerPool.IJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Job<T> Instance = new();
        public GemmPath Path;
        public bool Direct, TransA, TransB, Accumulate, SplitRows;
        public int M, N, K, Lda, Ldb, RsC, CsC;
        public T* A, B, C, Bias, Sums;

        public void Execute(int part, int parts)
        {
            if (Direct)
            {
                // RsC is C's row stride (CsC = 1) on this path.
                if (SplitRows)
                {
                    var (lo, hi) = WorkerPool.Part(M, 2, part, parts);
                    if (lo < hi)
                        Gemm.Direct(Path, TransA, TransB, hi - lo, N, K, TransA ? A + lo : A + (long)lo * Lda, Lda, B, Ldb, C + (long)lo * RsC, RsC, Bias, Accumulate);
                }
                else
                {
                    var (lo, hi) = WorkerPool.Part(N, 16, part, parts);
                    if (lo < hi)
                        Gemm.Direct(Path, TransA, TransB, M, hi - lo, K, A, Lda, TransB ? B + (long)lo * Ldb : B + lo, Ldb, C + lo, RsC, Bias == null ? null : Bias + lo, Accumulate);
                }
                return;
            }
            if (SplitRows)
            {
                // Every part packs all of B; the first also sums its columns.
                var (lo, hi) = WorkerPool.Part(M, MR<T>(Path), part, parts);
                if (lo < hi || part == 0) Compute(this, lo, hi, 0, N, part == 0 ? Sums : null);
            }
            else
            {
                var (lo, hi) = WorkerPool.Part(N, NR<T>(Path), part, parts);
                if (lo < hi) Compute(this, 0, M, lo, hi, Sums);
            }
        }
    }

    private static void RunParallel<T>(int parts, bool direct, bool splitRows, GemmPath path, bool transA, bool transB, int M, int N, int K,
        T* a, int lda, T* b, int ldb, T* c, int rsC, int csC, T* bias, bool accumulate, T* sums = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var job = Job<T>.Instance;
        lock (job)
        {
            job.Direct = direct; job.SplitRows = splitRows;
            job.Path = path; job.TransA = transA; job.TransB = transB; job.Accumulate = accumulate;
            job.M = M; job.N = N; job.K = K; job.Lda = lda; job.Ldb = ldb; job.RsC = rsC; job.CsC = csC;
            job.A = a; job.B = b; job.C = c; job.Bias = bias; job.Sums = sums;
            WorkerPool.Shared.Run(job, parts);
            job.A = job.B = job.C = job.Bias = job.Sums = null;
        }
    }

    [ThreadStatic] private static byte[]? t_packA;
    [ThreadStatic] private static byte[]? t_packB;

    private static void Packed<T>(GemmPath path, bool transA, bool transB, int M, int N, int K,
        T* a, int lda, T* b, int ldb, T* c, int rsC, int csC, T* bias, bool accumulate, long work, T* sums)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int threads = work < ParallelThreshold ? 1 : Math.Min(Parallelism.MaxThreads, WorkerPool.Shared.Capacity);
        if (threads > 1)
        {
            int mr = MR<T>(path), nr = NR<T>(path);
            threads = Math.Min(threads, Math.Max((M + mr - 1) / mr, (N + nr - 1) / nr));
        }
        if (threads <= 1)
        {
            var local = new JobArgs<T>(path, transA, transB, accumulate, M, N, K, lda, ldb, rsC, csC, a, b, c, bias);
            Compute(local, 0, M, 0, N, sums);
            return;
        }
        RunParallel(threads, direct: false, splitRows: M >= N, path, transA, transB, M, N, K, a, lda, b, ldb, c, rsC, csC, bias, accumulate, sums);
    }

    private readonly struct JobArgs<T>(GemmPath path, bool transA, bool transB, bool accumulate, int m, int n, int k,
        int lda, int ldb, int rsC, int csC, T* a, T* b, T* c, T* bias) where T : unmanaged
    {
        public readonly GemmPath Path = path;
        public readonly bool TransA = transA, TransB = transB, Accumulate = accumulate;
        public readonly int M = m, N = n, K = k, Lda = lda, Ldb = ldb, RsC = rsC, CsC = csC;
        public readonly T* A = a, B = b, C = c, Bias = bias;
    }

    private static void Compute<T>(Job<T> j, int m0, int m1, int n0, int n1, T* sums) where T : unmanaged, IFloatingPointIeee754<T> =>
        Compute(new JobArgs<T>(j.Path, j.TransA, j.TransB, j.Accumulate, j.M, j.N, j.K, j.Lda, j.Ldb, j.RsC, j.CsC, j.A, j.B, j.C, j.Bias), m0, m1, n0, n1, sums);

    // Rows m0..m1 and columns n0..n1 of C; with sums (a non-transposed B only), also sums[j] = Σ_k B[k,j] for j in n0..n1,
    // added row by row as B is packed. An empty row range packs and sums B all the same.
    private static void Compute<T>(in JobArgs<T> p, int m0, int m1, int n0, int n1, T* sums) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = MR<T>(p.Path), nr = NR<T>(p.Path);
        int mcBlock = MC / mr * mr;   // whole micro-panels per block, so packing never runs past the buffer
        int ncMax = Math.Min(NC, RoundUp(n1 - n0, nr));
        int mcMax = Math.Max(mr, Math.Min(mcBlock, RoundUp(m1 - m0, mr)));
        int kcMax = Math.Min(KC, p.K);
        T* packA = Buffer<T>(ref t_packA, (long)mcMax * kcMax);
        T* packB = Buffer<T>(ref t_packB, (long)ncMax * kcMax);
        T* tile = stackalloc T[16 * 64];
        bool vector = p.Path != GemmPath.Scalar;

        for (int jc = n0; jc < n1; jc += NC)
        {
            int nc = Math.Min(NC, n1 - jc);
            for (int pc = 0; pc < p.K; pc += KC)
            {
                int kc = Math.Min(KC, p.K - pc);
                bool first = pc == 0 && !p.Accumulate;
                T* bias = pc == 0 ? p.Bias : null;
                PackB(p.TransB, p.B, p.Ldb, pc, kc, jc, nc, nr, packB, vector, sums == null ? null : sums + jc);
                for (int ic = m0; ic < m1; ic += mcBlock)
                {
                    int mc = Math.Min(mcBlock, m1 - ic);
                    PackA(p.TransA, p.A, p.Lda, ic, mc, pc, kc, mr, packA, vector);
                    // The A micro-panel (MR×kc) stays in L1 while the B micro-panels stream from the packed block in L2.
                    for (int ir = 0; ir < mc; ir += mr)
                    {
                        int mrEff = Math.Min(mr, mc - ir);
                        T* pa = packA + (long)ir * kc;
                        for (int jr = 0; jr < nc; jr += nr)
                        {
                            T* cTile = p.C + (long)(ic + ir) * p.RsC + (long)(jc + jr) * p.CsC;
                            MicroKernels.Run(p.Path, kc, pa, packB + (long)jr * kc, cTile, p.RsC, p.CsC, bias == null ? null : bias + jc + jr, first, mrEff, Math.Min(nr, nc - jr), tile);
                        }
                    }
                }
            }
        }
    }

    private static int RoundUp(int n, int m) => (n + m - 1) / m * m;

    private static T* Buffer<T>(ref byte[]? store, long elements) where T : unmanaged
    {
        long bytes = elements * sizeof(T) + 64;
        if (store is null || store.Length < bytes) store = GC.AllocateUninitializedArray<byte>((int)bytes, pinned: true);
        // The array is pinned (allocated on the pinned heap); align the start to 64 bytes.
        byte* p = (byte*)Unsafe.AsPointer(ref store[0]);
        return (T*)(((nint)p + 63) & ~(nint)63);
    }

    // op(A) rows ic..ic+mc, k pc..pc+kc → micro-panels of mr rows: panel[k·mr + r]; rows past M are zero.
    private static void PackA<T>(bool transA, T* a, int lda, int ic, int mc, int pc, int kc, int mr, T* dst, bool vector)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (transA)
        {
            // op(A)[i,k] = A[k·lda + i]: the mr values of one k are contiguous; row by row of A, as in PackB.
            bool split = vector && Avx512F.IsSupported && mr <= 2 * Vector512<T>.Count;
            for (int k = 0; k < kc; k++)
            {
                T* row = a + (long)(pc + k) * lda + ic;
                if (split) Packing.SplitRow(row, mc, mr, dst + (long)k * mr, (long)mr * kc);
                else
                    for (int ir = 0; ir < mc; ir += mr)
                        Packing.CopyPadded(row + ir, dst + (long)ir * kc + (long)k * mr, Math.Min(mr, mc - ir), mr, vector);
            }
            return;
        }
        T** src = stackalloc T*[mr];
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            // Rows are contiguous in k: read the mr rows side by side and write the panel sequentially.
            for (int r = 0; r < rows; r++) src[r] = a + (long)(ic + ir + r) * lda + pc;
            Packing.Interleave(src, rows, mr, kc, dst + (long)ir * kc, vector);
        }
    }

    // op(B) k pc..pc+kc, columns jc..jc+nc → micro-panels of nr columns: panel[k·nr + c]; columns past N are zero.
    // With sums (non-transposed B only): sums[0..nc) = Σ of the rows packed so far (set by row 0 of B, then added).
    private static void PackB<T>(bool transB, T* b, int ldb, int pc, int kc, int jc, int nc, int nr, T* dst, bool vector, T* sums = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!transB)
        {
            // Row by row of B (one sequential read per k, each panel written sequentially): panel by panel would read
            // a column strip of B across kc rows, a new cache line and page per element group, without prefetch.
            bool split = vector && Avx512F.IsSupported && nr <= 2 * Vector512<T>.Count;
            for (int k = 0; k < kc; k++)
            {
                T* src = b + (long)(pc + k) * ldb + jc;
                if (split) Packing.SplitRow(src, nc, nr, dst + (long)k * nr, (long)nr * kc);
                else
                    for (int jr = 0; jr < nc; jr += nr)
                        Packing.CopyPadded(src + jr, dst + (long)jr * kc + (long)k * nr, Math.Min(nr, nc - jr), nr, vector);
                if (sums == null) continue;
                var row = new ReadOnlySpan<T>(src, nc);
                var sum = new Span<T>(sums, nc);
                if (pc + k == 0) row.CopyTo(sum);
                else TensorPrimitives.Add(sum, row, sum);
            }
            return;
        }
        T** rows = stackalloc T*[nr];
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            // op(B)[k,j] = B[j·ldb + k]: the nr rows of B are contiguous in k; interleave them.
            for (int c = 0; c < cols; c++) rows[c] = b + (long)(jc + jr + c) * ldb + pc;
            Packing.Interleave(rows, cols, nr, kc, dst + (long)jr * kc, vector);
        }
    }
}
