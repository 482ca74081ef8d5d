using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// General matrix multiply C = op(A)·op(B) [+ bias] [+ C], the three products of a fully connected layer.
/// </summary>
/// <remarks>
/// Large products are packed and cache-blocked (Goto/BLIS style): op(B) is packed into KC×NR micro-panels
/// and op(A) into MR×KC micro-panels, and a register-tiled micro-kernel with fused multiply-add computes an
/// MR×NR tile of C. The reduction dimension K is never split between threads, and every element of C is
/// summed in the same order whatever the thread count, so results are bit-identical across thread counts.
/// Skinny products (a dimension of 1 or 2, or few flops) take a direct path without packing.
/// </remarks>
public static unsafe class Gemm
{
    private const int KC = 256;
    private const int MC = 96;
    private const int NC = 2048;
    private const long ParallelThreshold = 1L << 19;   // multiply-adds below which one thread is faster
    private const long DirectThreshold = 1L << 13;

    /// <summary>The path used by <see cref="GemmPath.Auto"/> on this processor.</summary>
    public static GemmPath BestPath { get; } =
        Vector512.IsHardwareAccelerated ? GemmPath.Vector512 :
        Vector256.IsHardwareAccelerated ? GemmPath.Vector256 : GemmPath.Scalar;

    /// <summary>Forces a path for every product (for tests and benchmarks); <see cref="GemmPath.Auto"/> picks the best.</summary>
    public static GemmPath Path { get; set; } = GemmPath.Auto;

    /// <summary>
    /// C (M×N, row stride ldc) = op(A) (M×K) · op(B) (K×N), plus <paramref name="bias"/> (N entries, may be empty)
    /// added to every row, plus the old C when <paramref name="accumulate"/>.
    /// op(A)[i,k] is A[k·lda + i] when <paramref name="transA"/>, else A[i·lda + k]; likewise for B.
    /// </summary>
    public static void Multiply<T>(bool transA, bool transB, int M, int N, int K,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc,
        ReadOnlySpan<T> bias = default, bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (M < 0 || N < 0 || K < 0) throw new ArgumentOutOfRangeException(nameof(M), "Gemm: negative dimension");
        if (M == 0 || N == 0) return;
        CheckExtent(a.Length, transA ? K : M, transA ? M : K, lda, "A");
        CheckExtent(b.Length, transB ? N : K, transB ? K : N, ldb, "B");
        CheckExtent(c.Length, M, N, ldc, "C");
        if (!bias.IsEmpty && bias.Length < N) throw new ArgumentException($"Gemm: bias has {bias.Length} entries, {N} needed");

        fixed (T* pa = a, pb = b, pc = c, pbias = bias)
        {
            T* biasPtr = bias.IsEmpty ? null : pbias;
            var path = Path == GemmPath.Auto ? BestPath : Path;
            long work = (long)M * N * K;
            if (K == 0)
            {
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++)
                    {
                        T v = biasPtr == null ? T.Zero : biasPtr[j];
                        pc[(long)i * ldc + j] = accumulate ? pc[(long)i * ldc + j] + v : v;
                    }
                return;
            }
            if (path != GemmPath.Scalar && (M <= 2 || K <= 2 || work <= DirectThreshold))
            {
                Direct(transA, transB, M, N, K, pa, lda, pb, ldb, pc, ldc, biasPtr, accumulate);
                return;
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
                Packed(path, !transB, !transA, N, M, K, pb, ldb, pa, lda, pc, 1, ldc, null, accumulate, work);
            }
            else
            {
                Packed(path, transA, transB, M, N, K, pa, lda, pb, ldb, pc, ldc, 1, biasPtr, accumulate, work);
            }
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
        GemmPath.Vector512 => 8,
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

    private static void Direct<T>(bool transA, bool transB, int M, int N, int K,
        T* a, int lda, T* b, int ldb, T* c, int ldc, T* bias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!transB)
        {
            // Row i of C is a combination of rows of op(B): c_i = Σ_k op(A)[i,k] · B[k,:] (contiguous rows, vectorized over j).
            for (int i = 0; i < M; i++)
            {
                var ci = new Span<T>(c + (long)i * ldc, N);
                if (!accumulate)
                {
                    if (bias != null) new ReadOnlySpan<T>(bias, N).CopyTo(ci); else ci.Clear();
                }
                else if (bias != null) Axpy(T.One, bias, c + (long)i * ldc, N);
                for (int k = 0; k < K; k++)
                {
                    T aik = transA ? a[(long)k * lda + i] : a[(long)i * lda + k];
                    Axpy(aik, b + (long)k * ldb, c + (long)i * ldc, N);
                }
            }
        }
        else if (!transA)
        {
            // Both operands contiguous along k: each element is a dot product.
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                {
                    T s = Dot(a + (long)i * lda, b + (long)j * ldb, K);
                    long o = (long)i * ldc + j;
                    if (bias != null) s += bias[j];
                    c[o] = accumulate ? c[o] + s : s;
                }
        }
        else
        {
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                {
                    T s = T.Zero;
                    for (int k = 0; k < K; k++) s += a[(long)k * lda + i] * b[(long)j * ldb + k];
                    long o = (long)i * ldc + j;
                    if (bias != null) s += bias[j];
                    c[o] = accumulate ? c[o] + s : s;
                }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy<T>(T alpha, T* x, T* y, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            var va = Vector512.Create(alpha);
            for (; j <= n - Vector512<T>.Count; j += Vector512<T>.Count)
                Vector512.Store(Simd.Fma(va, Vector512.Load(x + j), Vector512.Load(y + j)), y + j);
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
        {
            var va = Vector256.Create(alpha);
            for (; j <= n - Vector256<T>.Count; j += Vector256<T>.Count)
                Vector256.Store(Simd.Fma(va, Vector256.Load(x + j), Vector256.Load(y + j)), y + j);
        }
        for (; j < n; j++) y[j] = T.FusedMultiplyAdd(alpha, x[j], y[j]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Dot<T>(T* x, T* y, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        T s = T.Zero;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            var acc = Vector512<T>.Zero;
            for (; j <= n - Vector512<T>.Count; j += Vector512<T>.Count)
                acc = Simd.Fma(Vector512.Load(x + j), Vector512.Load(y + j), acc);
            s = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
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

    private sealed class Job<T> : WorkerPool.IJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Job<T> Instance = new();
        public GemmPath Path;
        public bool TransA, TransB, Accumulate, SplitRows;
        public int M, N, K, Lda, Ldb, RsC, CsC;
        public T* A, B, C, Bias;

        public void Execute(int part, int parts)
        {
            int mr = MR<T>(Path), nr = NR<T>(Path);
            if (SplitRows)
            {
                var (lo, hi) = Split(M, mr, part, parts);
                if (lo < hi) Compute(this, lo, hi, 0, N);
            }
            else
            {
                var (lo, hi) = Split(N, nr, part, parts);
                if (lo < hi) Compute(this, 0, M, lo, hi);
            }
        }

        private static (int, int) Split(int n, int align, int part, int parts)
        {
            int blocks = (n + align - 1) / align;
            int lo = (int)((long)blocks * part / parts) * align;
            int hi = (int)((long)blocks * (part + 1) / parts) * align;
            return (Math.Min(lo, n), Math.Min(hi, n));
        }
    }

    [ThreadStatic] private static byte[]? t_packA;
    [ThreadStatic] private static byte[]? t_packB;

    private static void Packed<T>(GemmPath path, bool transA, bool transB, int M, int N, int K,
        T* a, int lda, T* b, int ldb, T* c, int rsC, int csC, T* bias, bool accumulate, long work)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var job = Job<T>.Instance;
        int threads = work < ParallelThreshold ? 1 : Math.Min(Parallelism.MaxThreads, WorkerPool.Shared.Capacity);
        if (threads > 1)
        {
            int mr = MR<T>(path), nr = NR<T>(path);
            threads = Math.Min(threads, Math.Max((M + mr - 1) / mr, (N + nr - 1) / nr));
        }
        if (threads <= 1)
        {
            var local = new JobArgs<T>(path, transA, transB, accumulate, M, N, K, lda, ldb, rsC, csC, a, b, c, bias);
            Compute(local, 0, M, 0, N);
            return;
        }
        lock (job)
        {
            job.Path = path; job.TransA = transA; job.TransB = transB; job.Accumulate = accumulate;
            job.M = M; job.N = N; job.K = K; job.Lda = lda; job.Ldb = ldb; job.RsC = rsC; job.CsC = csC;
            job.A = a; job.B = b; job.C = c; job.Bias = bias;
            job.SplitRows = M >= N;
            WorkerPool.Shared.Run(job, threads);
            job.A = job.B = job.C = job.Bias = null;
        }
    }

    private readonly struct JobArgs<T>(GemmPath path, bool transA, bool transB, bool accumulate, int m, int n, int k,
        int lda, int ldb, int rsC, int csC, T* a, T* b, T* c, T* bias) where T : unmanaged
    {
        public readonly GemmPath Path = path;
        public readonly bool TransA = transA, TransB = transB, Accumulate = accumulate;
        public readonly int M = m, N = n, K = k, Lda = lda, Ldb = ldb, RsC = rsC, CsC = csC;
        public readonly T* A = a, B = b, C = c, Bias = bias;
    }

    private static void Compute<T>(Job<T> j, int m0, int m1, int n0, int n1) where T : unmanaged, IFloatingPointIeee754<T> =>
        Compute(new JobArgs<T>(j.Path, j.TransA, j.TransB, j.Accumulate, j.M, j.N, j.K, j.Lda, j.Ldb, j.RsC, j.CsC, j.A, j.B, j.C, j.Bias), m0, m1, n0, n1);

    private static void Compute<T>(in JobArgs<T> p, int m0, int m1, int n0, int n1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = MR<T>(p.Path), nr = NR<T>(p.Path);
        int ncMax = Math.Min(NC, RoundUp(n1 - n0, nr));
        int mcMax = Math.Min(MC, RoundUp(m1 - m0, mr));
        int kcMax = Math.Min(KC, p.K);
        T* packA = Buffer<T>(ref t_packA, (long)mcMax * kcMax);
        T* packB = Buffer<T>(ref t_packB, (long)ncMax * kcMax);
        T* tile = stackalloc T[16 * 64];

        for (int jc = n0; jc < n1; jc += NC)
        {
            int nc = Math.Min(NC, n1 - jc);
            for (int pc = 0; pc < p.K; pc += KC)
            {
                int kc = Math.Min(KC, p.K - pc);
                bool first = pc == 0 && !p.Accumulate;
                T* bias = pc == 0 ? p.Bias : null;
                PackB(p.TransB, p.B, p.Ldb, pc, kc, jc, nc, nr, packB);
                for (int ic = m0; ic < m1; ic += MC)
                {
                    int mc = Math.Min(MC, m1 - ic);
                    PackA(p.TransA, p.A, p.Lda, ic, mc, pc, kc, mr, packA);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int nrEff = Math.Min(nr, nc - jr);
                        T* pb = packB + (long)jr * kc;
                        T* biasJ = bias == null ? null : bias + jc + jr;
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            int mrEff = Math.Min(mr, mc - ir);
                            T* cTile = p.C + (long)(ic + ir) * p.RsC + (long)(jc + jr) * p.CsC;
                            MicroKernels.Run(p.Path, kc, packA + (long)ir * kc, pb, cTile, p.RsC, p.CsC, biasJ, first, mrEff, nrEff, tile);
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
    private static void PackA<T>(bool transA, T* a, int lda, int ic, int mc, int pc, int kc, int mr, T* dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            T* panel = dst + (long)ir * kc;
            if (transA)
            {
                // op(A)[i,k] = A[k·lda + i]: the mr values of one k are contiguous.
                for (int k = 0; k < kc; k++)
                {
                    T* src = a + (long)(pc + k) * lda + ic + ir;
                    T* d = panel + (long)k * mr;
                    int r = 0;
                    for (; r < rows; r++) d[r] = src[r];
                    for (; r < mr; r++) d[r] = T.Zero;
                }
            }
            else
            {
                int r = 0;
                for (; r < rows; r++)
                {
                    T* src = a + (long)(ic + ir + r) * lda + pc;
                    for (int k = 0; k < kc; k++) panel[(long)k * mr + r] = src[k];
                }
                for (; r < mr; r++)
                    for (int k = 0; k < kc; k++) panel[(long)k * mr + r] = T.Zero;
            }
        }
    }

    // op(B) k pc..pc+kc, columns jc..jc+nc → micro-panels of nr columns: panel[k·nr + c]; columns past N are zero.
    private static void PackB<T>(bool transB, T* b, int ldb, int pc, int kc, int jc, int nc, int nr, T* dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            T* panel = dst + (long)jr * kc;
            if (!transB)
            {
                for (int k = 0; k < kc; k++)
                {
                    T* src = b + (long)(pc + k) * ldb + jc + jr;
                    T* d = panel + (long)k * nr;
                    if (cols == nr) new ReadOnlySpan<T>(src, nr).CopyTo(new Span<T>(d, nr));
                    else
                    {
                        int c = 0;
                        for (; c < cols; c++) d[c] = src[c];
                        for (; c < nr; c++) d[c] = T.Zero;
                    }
                }
            }
            else
            {
                // op(B)[k,j] = B[j·ldb + k]
                int c = 0;
                for (; c < cols; c++)
                {
                    T* src = b + (long)(jc + jr + c) * ldb + pc;
                    for (int k = 0; k < kc; k++) panel[(long)k * nr + c] = src[k];
                }
                for (; c < nr; c++)
                    for (int k = 0; k < kc; k++) panel[(long)k * nr + c] = T.Zero;
            }
        }
    }
}
