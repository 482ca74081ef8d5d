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
internal static unsafe partial class Gemm
{
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
        if (!columnSums.IsEmpty
            && columnSums.Length < N) throw new ArgumentException($"Gemm: columnSums has {columnSums.Length} entries, {N} needed");
        fixed (T* ps = columnSums)
        {
            T* sums = columnSums.IsEmpty ? null : ps;
            if (!MultiplyCore(transA, transB, M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate, sums) && sums != null && N > 0)
                fixed (T* pb = b) ColumnSums(transB, N, K, pb, ldb, sums);
        }
    }

    /// <summary>
    /// How a product of this shape runs on <paramref name="path"/> with up to <paramref name="threads"/> threads: a pure
    /// function of its arguments (and of the processor's AVX-512 support), so that tests and <c>bench</c> can print
    /// it. <see cref="Multiply{T}"/> follows it.
    /// </summary>
    public static GemmPlan Plan<T>(GemmPath path, bool transA, bool transB, int M, int N, int K, int threads) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        threads = Math.Max(1, threads);
        if (M <= 0 || N <= 0) return new(GemmMethod.Empty, path, 1, false);
        if (K <= 0) return new(GemmMethod.BiasOnly, path, 1, false);
        long work = (long)M * N * K;
        int W = Vector512<T>.Count;
        if (path == GemmPath.Vector512 && !transB && N <= 2 * W && M > 2 && work < ParallelThreshold && Avx512F.IsSupported)
            return new(N <= W ? GemmMethod.Narrow : GemmMethod.Narrow2, path, 1, false);
        if (path != GemmPath.Scalar && transB && !transA && M > 2 && K <= 16 && (long)K * N <= 1 << 16 && work < ParallelThreshold)
            return new(GemmMethod.ShortTransposedB, path, 1, false);
        if (path != GemmPath.Scalar && (M <= 2 || K <= 2 || work <= DirectThreshold))
        {
            // Split rows when there are enough, else columns when every part keeps at least one full vector (a part
            // narrower than that would take the narrower loops, whose sums round differently).
            int parts = work >= DirectParallelThreshold && (M >= 16 || N >= 64) ? threads : 1;
            if (M < 16) parts = Math.Min(parts, N / 32);   // column parts of at least 32 (the last one at least 16)
            return new(GemmMethod.Direct, path, Math.Max(1, parts), M >= 16);
        }
        if (IsLongDot<T>(path, transA, transB, M, N, K))
        {
            bool rows = M >= N;
            int side = LongDotSide(M, N), blocks = ((rows ? M : N) + side - 1) / side;
            return new(GemmMethod.LongDot, path, work < ParallelThreshold ? 1 : Math.Max(1, Math.Min(threads, blocks)), rows);
        }
        // A product with few columns and many rows wastes most of each NR-wide tile: compute Cᵀ = op(B)ᵀ·op(A)ᵀ instead.
        if (N < NR<T>(path) && M > N) return new(GemmMethod.PackedTransposed, path, PackedParts<T>(path, N, M, work, threads), N >= M);
        return new(GemmMethod.Packed, path, PackedParts<T>(path, M, N, work, threads), M >= N);
    }

    /// <summary>The plan of a product on the path and threads that products take now.</summary>
    public static GemmPlan Plan<T>(bool transA, bool transB, int M, int N, int K) where T : unmanaged, IFloatingPointIeee754<T> =>
        Plan<T>(EffectivePath, transA, transB, M, N, K, t_serial ? 1 : Math.Min(Parallelism.MaxThreads, WorkerPool.Shared.Capacity));

    [ThreadStatic] private static bool t_serial;

    /// <summary>
    /// Set by a parallel job whose parts each run their own products (a convolution split by samples): products on this
    /// thread then stay on it instead of waiting for the busy pool. The plan changes, not the results.
    /// </summary>
    internal static bool SerialOnThisThread
    {
        get => t_serial;
        set => t_serial = value;
    }

    // Threads for a packed product: one below the threshold, else no more than there are MR or NR blocks to share.
    private static int PackedParts<T>(GemmPath path, int M, int N, long work, int threads) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (work < ParallelThreshold || threads <= 1) return 1;
        int mr = MR<T>(path), nr = NR<T>(path);
        return Math.Max(1, Math.Min(threads, Math.Max((M + mr - 1) / mr, (N + nr - 1) / nr)));
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
        var plan = Plan<T>(transA, transB, M, N, K);
        if (plan.Method == GemmMethod.Empty) return false;

        fixed (T* pa = a, pb = b, pc = c, pbias = bias)
        {
            T* biasPtr = bias.IsEmpty ? null : pbias;
            var path = plan.Path;
            switch (plan.Method)
            {
                case GemmMethod.BiasOnly:
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N; j++)
                        {
                            T v = biasPtr == null ? T.Zero : biasPtr[j];
                            pc[(long)i * ldc + j] = accumulate ? pc[(long)i * ldc + j] + v : v;
                        }
                    return false;
                case GemmMethod.Narrow:
                    NarrowDirect(transA, M, N, K, pa, lda, pb, ldb, pc, ldc, biasPtr, accumulate);
                    return false;
                case GemmMethod.Narrow2:
                    NarrowDirect2(transA, M, N, K, pa, lda, pb, ldb, pc, ldc, biasPtr, accumulate);
                    return false;
                case GemmMethod.ShortTransposedB:
                    ShortTransposedB(path, M, N, K, pa, lda, pb, ldb, pc, ldc, biasPtr, accumulate);
                    return false;
                case GemmMethod.Direct:
                    if (plan.Parts > 1)
                        RunParallel(plan.Parts, direct: true, plan.SplitRows, path, transA, transB, M, N, K, pa, lda, pb, ldb, pc, ldc, 1,
                            biasPtr, accumulate);
                    else Direct(path, transA, transB, M, N, K, pa, lda, pb, ldb, pc, ldc, biasPtr, accumulate);
                    return false;
                case GemmMethod.LongDot:
                    if (plan.Parts > 1) RunLongDot(plan, M, N, K, pa, lda, pb, ldb, pc, ldc, biasPtr, accumulate);
                    else LongDot(0, M, 0, N, M, N, K, pa, lda, pb, ldb, pc, ldc, biasPtr, accumulate);
                    return false;
                case GemmMethod.PackedTransposed:
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
                    Packed(plan, !transB, !transA, N, M, K, pb, ldb, pa, lda, pc, 1, ldc, null, accumulate, null);
                    return false;
                default:
                    Packed(plan, transA, transB, M, N, K, pa, lda, pb, ldb, pc, ldc, 1, biasPtr, accumulate, transB ? null : sums);
                    return !transB;
            }
        }
    }

    /// <summary>
    /// C (M×N, row stride ldc) = A (M×K, row stride lda) · op(B), where B is given by where its rows start: row r at
    /// b + bRows[r]. Without <paramref name="transB"/>, op(B) = B has K rows of N values; with it, op(B) = Bᵀ and B has
    /// N rows of K values. The rows may overlap: a convolution's shifted views of one zero-padded plane
    /// (<see cref="ShiftedConvolution"/>). Runs on the calling thread: with transB and at least two vectors of rows of C
    /// on AVX-512 as Cᵀ = B·Aᵀ with B's values broadcast in place, else packed or as long dot products.
    /// </summary>
    internal static void MultiplyRows<T>(bool transB, int M, int N, int K, T* a, int lda, T* b, long* bRows, T* c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (M <= 0 || N <= 0) return;
        var path = EffectivePath;
        if (K <= 0)
        {
            for (int i = 0; i < M; i++) new Span<T>(c + (long)i * ldc, N).Clear();
            return;
        }
        if (transB && IsLongDot<T>(path, false, true, M, N, K))
        {
            LongDot(0, M, 0, N, M, N, K, a, lda, b, 0, c, ldc, null, false, bRows);
            return;
        }
        if (transB && path == GemmPath.Vector512 && Avx512F.IsSupported && M >= 2 * Vector512<T>.Count)
        {
            // Cᵀ = B·Aᵀ with B's rows broadcast in place (Gemm.RowStarts.cs): transposing A (M×K, small) and Cᵀ costs
            // less than transposing B (N×K) into packed panels.
            T* at = Buffer<T>(ref t_packA, (long)K * M);
            T* ct = Buffer<T>(ref t_packB, (long)N * M);
            Transpose(a, lda, M, K, at, M);
            MultiplyColumnStarts(N, M, K, b, bRows, at, M, ct, M);
            Transpose(ct, M, N, M, c, ldc);
            return;
        }
        Compute(new JobArgs<T>(path, false, transB, false, M, N, K, lda, 0, ldc, 1, a, b, c, null, bRows), 0, M, 0, N, null);
    }

    // dst (cols×rows, row stride ldd ≥ rows) = the transpose of src (rows×cols, row stride lds).
    internal static void Transpose<T>(T* src, int lds, int rows, int cols, T* dst, int ldd) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int Block = 64;
        T** p = stackalloc T*[Block];
        for (int r0 = 0; r0 < rows; r0 += Block)
        {
            int n = Math.Min(Block, rows - r0);
            for (int r = 0; r < n; r++) p[r] = src + (long)(r0 + r) * lds;
            Packing.Interleave(p, n, ldd, cols, dst + r0, vector: true, pad: false);
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

    // The depth of a packed block on the AVX-512 path, from this core's L1d (CPUID): A's MR×KC micro-panel, which every
    // B micro-panel of the block streams past, fits in L1d. On a Zen 4 (32 KiB L1d) that is 512 for float32 (at most 512,
    // the deepest measured) and 336 for float64. C is read and written once per block of K, and at 1024³ it lives in L3:
    // blocks of 512 instead of 256 (the rule before, which also fitted B's KC×NC block in L2) made the float32 product
    // 3–6 % faster on one thread (89.5–94.5 % of the FMA peak beside it against 83.4–89.8), 128×784×256 (two blocks of
    // 392) 8–11 %, 100×4320×100 9 %, float64's 1024³ 5–7 % (blocks of 256 or 512 instead of 128). Elsewhere 192.
    internal static int KC<T>(GemmPath path) where T : unmanaged
    {
        if (path != GemmPath.Vector512) return 192;
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        return Math.Clamp(Processor.Caches.L1 / (MR<T>(path) * size) / 8 * 8, 64, 512);
    }

    /// <summary>The packed path's blocking on <paramref name="path"/>, as <c>bench</c> prints it.</summary>
    public static string Blocking<T>(GemmPath path) where T : unmanaged =>
        $"MR×NR {MR<T>(path)}×{NR<T>(path)}, KC {KC<T>(path)}" + (path == GemmPath.Vector512
            ? $" (A's micro-panel in L1d {Processor.Caches.L1 / 1024} KiB; L2 {Processor.Caches.L2 / 1024} KiB)" : "")
        + $", MC {MC / MR<T>(path) * MR<T>(path)}, NC {NC}";

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

    [ThreadStatic] private static byte[]? t_packA;
    [ThreadStatic] private static byte[]? t_packB;

    private static int RoundUp(int n, int m) => (n + m - 1) / m * m;

    private static T* Buffer<T>(ref byte[]? store, long elements) where T : unmanaged
    {
        long bytes = elements * sizeof(T) + 64;
        if (store is null || store.Length < bytes) store = GC.AllocateUninitializedArray<byte>((int)bytes, pinned: true);
        // The array is pinned (allocated on the pinned heap); align the start to 64 bytes.
        byte* p = (byte*)Unsafe.AsPointer(ref store[0]);
        return (T*)(((nint)p + 63) & ~(nint)63);
    }
}
