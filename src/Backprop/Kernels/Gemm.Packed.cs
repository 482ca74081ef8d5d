using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

// The packed, cache-blocked path (Goto/BLIS style) and the split of one product between cores.
internal static unsafe partial class Gemm
{

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
                        Gemm.Direct(Path, TransA, TransB, hi - lo, N, K, TransA ? A + lo : A + (long)lo * Lda, Lda, B, Ldb, C
                            + (long)lo * RsC, RsC, Bias, Accumulate);
                }
                else
                {
                    var (lo, hi) = WorkerPool.Part(N, 16, part, parts);
                    if (lo < hi)
                        Gemm.Direct(Path, TransA, TransB, M, hi - lo, K, A, Lda, TransB ? B + (long)lo * Ldb : B + lo, Ldb, C + lo, RsC,
                            Bias == null ? null : Bias + lo, Accumulate);
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

    private static void Packed<T>(GemmPlan plan, bool transA, bool transB, int M, int N, int K,
        T* a, int lda, T* b, int ldb, T* c, int rsC, int csC, T* bias, bool accumulate, T* sums)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (plan.Parts <= 1)
        {
            var local = new JobArgs<T>(plan.Path, transA, transB, accumulate, M, N, K, lda, ldb, rsC, csC, a, b, c, bias);
            Compute(local, 0, M, 0, N, sums);
            return;
        }
        RunParallel(plan.Parts, direct: false, plan.SplitRows, plan.Path, transA, transB, M, N, K, a, lda, b, ldb, c, rsC, csC, bias,
            accumulate, sums);
    }

    // bRows, where given, replaces ldb: B's row r (a row of op(B) without transB, a column with it) starts at b + bRows[r].
    private readonly struct JobArgs<T>(GemmPath path, bool transA, bool transB, bool accumulate, int m, int n, int k,
        int lda, int ldb, int rsC, int csC, T* a, T* b, T* c, T* bias, long* bRows = null) where T : unmanaged
    {
        public readonly GemmPath Path = path;
        public readonly bool TransA = transA, TransB = transB, Accumulate = accumulate;
        public readonly int M = m, N = n, K = k, Lda = lda, Ldb = ldb, RsC = rsC, CsC = csC;
        public readonly T* A = a, B = b, C = c, Bias = bias;
        public readonly long* BRows = bRows;
    }

    private static void Compute<T>(Job<T> j, int m0, int m1, int n0, int n1, T* sums) where T : unmanaged, IFloatingPointIeee754<T> =>
        Compute(new JobArgs<T>(j.Path, j.TransA, j.TransB, j.Accumulate, j.M, j.N, j.K, j.Lda, j.Ldb, j.RsC, j.CsC, j.A, j.B, j.C, j.Bias),
            m0, m1, n0, n1, sums);

    // Rows m0..m1 and columns n0..n1 of C; with sums (a non-transposed B only), also sums[j] = Σ_k B[k,j] for j in n0..n1,
    // added row by row as B is packed. An empty row range packs and sums B all the same.
    private static void Compute<T>(in JobArgs<T> p, int m0, int m1, int n0, int n1, T* sums) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = MR<T>(p.Path), nr = NR<T>(p.Path);
        int mcBlock = MC / mr * mr;   // whole micro-panels per block, so packing never runs past the buffer
        int ncMax = Math.Min(NC, RoundUp(n1 - n0, nr));
        int mcMax = Math.Max(mr, Math.Min(mcBlock, RoundUp(m1 - m0, mr)));
        int KCb = Depth(KC<T>(p.Path), p.K);
        int kcMax = Math.Min(KCb, p.K);
        T* packA = Buffer<T>(ref t_packA, (long)mcMax * kcMax);
        T* packB = Buffer<T>(ref t_packB, (long)ncMax * kcMax);
        T* tile = stackalloc T[16 * 64];
        bool vector = p.Path != GemmPath.Scalar;

        for (int jc = n0; jc < n1; jc += NC)
        {
            int nc = Math.Min(NC, n1 - jc);
            for (int pc = 0; pc < p.K; pc += KCb)
            {
                int kc = Math.Min(KCb, p.K - pc);
                bool first = pc == 0 && !p.Accumulate;
                T* bias = pc == 0 ? p.Bias : null;
                PackB(p.TransB, p.B, p.Ldb, p.BRows, pc, kc, jc, nc, nr, packB, vector, sums == null ? null : sums + jc);
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
                            // The next tile's rows of C, fetched while this one computes: C (all of it read and written
                            // once per block of K) is too large for L2, and a tile's loads from L3 stalled the kernel.
                            if (jr + nr < nc && p.CsC == 1 && Sse.IsSupported) PrefetchTile(cTile + nr, p.RsC, mrEff, nr);
                            MicroKernels.Run(p.Path, kc, pa, packB + (long)jr * kc, cTile, p.RsC, p.CsC, bias == null ? null : bias + jc
                                + jr, first, mrEff, Math.Min(nr, nc - jr), tile);
                        }
                    }
                }
            }
        }
    }

    // Blocks of K as equal as whole multiples of 8 allow, none deeper than kc: K = 784 in four blocks of 200 (the last
    // 184), not three of 256 and one of 16, whose micro-kernel calls would be mostly loads and stores of C.
    internal static int Depth(int kc, int K)
    {
        int blocks = (K + kc - 1) / kc;
        return Math.Min(kc, RoundUp((K + blocks - 1) / blocks, 8));
    }

    // Every cache line of an mr×nr tile of a row-major C (row stride rsC) into L1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchTile<T>(T* c, int rsC, int mr, int nr) where T : unmanaged
    {
        int bytes = nr * sizeof(T);
        for (int r = 0; r < mr; r++)
        {
            byte* row = (byte*)(c + (long)r * rsC);
            for (int o = 0; o < bytes; o += 64) Sse.Prefetch0(row + o);
            Sse.Prefetch0(row + bytes - 1);   // the last line, where the row does not start on one
        }
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
    // With bRows, B's row r starts at b + bRows[r] instead of b + r·ldb.
    private static void PackB<T>(bool transB, T* b, int ldb, long* bRows, int pc, int kc, int jc, int nc, int nr, T* dst, bool vector,
        T* sums = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!transB)
        {
            // Row by row of B (one sequential read per k, each panel written sequentially): panel by panel would read
            // a column strip of B across kc rows, a new cache line and page per element group, without prefetch.
            bool split = vector && Avx512F.IsSupported && nr <= 2 * Vector512<T>.Count;
            for (int k = 0; k < kc; k++)
            {
                T* src = b + (bRows == null ? (long)(pc + k) * ldb : bRows[pc + k]) + jc;
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
            for (int c = 0; c < cols; c++) rows[c] = b + (bRows == null ? (long)(jc + jr + c) * ldb : bRows[jc + jr + c]) + pc;
            Packing.Interleave(rows, cols, nr, kc, dst + (long)jr * kc, vector);
        }
    }
}
