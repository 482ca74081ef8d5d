using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

// The direct path: no packing, for skinny or tiny products (rows of C accumulated in registers over k).
internal static unsafe partial class Gemm
{

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
                    DirectRowPair(a + i * aRow, a + (i + 1) * aRow, aCol, b, ldb, c + (long)i * ldc, c + (long)(i + 1) * ldc, N, K, bias,
                        accumulate);
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

    // DirectRow's block of eight vectors from column j (clamped to the last full vector), with the same even/odd split
    // of k: every column is summed exactly as in the four-vector blocks.
    private static void DirectRow8<T>(T* a, long aStride, T* b, int ldb, T* c, int j, int n, int K, T* bias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        int p0 = Math.Min(j, n - W), p1 = Math.Min(j + W, n - W), p2 = Math.Min(j + 2 * W, n - W), p3 = Math.Min(j + 3 * W, n - W);
        int p4 = Math.Min(j + 4 * W, n - W), p5 = Math.Min(j + 5 * W, n - W), p6 = Math.Min(j + 6 * W, n - W), p7 = Math.Min(j + 7 * W,
            n - W);
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
            if (j + 2 * W < n)
            {
                Finish(c0, p2, r2, bias, accumulate, j + 2 * W - p2); Finish(c1, p2, s2, bias, accumulate, j
                + 2 * W - p2);
            }
            if (j + 3 * W < n)
            {
                Finish(c0, p3, r3, bias, accumulate, j + 3 * W - p3); Finish(c1, p3, s3, bias, accumulate, j
                + 3 * W - p3);
            }
        }
    }

    // DirectRowPair for four rows: each vector of B loaded per k feeds four rows (sixteen accumulators, one per element
    // as in the pair, so a row gets the same sums in a quad or a pair).
    private static void DirectRowQuad<T>(T* a, long aRow, long aStride, T* b, int ldb, T* c, int ldc, int n, int K, T* bias,
        bool accumulate)
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
    private static void Finish<T>(T* c, int j, Vector512<T> s, T* bias, bool accumulate, int skip) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        if (bias != null) s += Vector512.Load(bias + j);
        // Without accumulation the skipped lanes are rewritten with the values they already hold (same operations, same
        // order), so a plain store will do; reloading them right after storing would stall on store forwarding.
        if (accumulate)
        {
            var old = Vector512.Load(c + j);
            s += old;
            if (skip != 0) s = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(Vector512<T>.Indices,
                Vector512.Create(T.CreateTruncating(skip))), s, old);
        }
        Vector512.Store(s, c + j);
    }

    private static void Dot4<T>(GemmPath path, T* x, T* y, int ldy, int n, out T s0, out T s1, out T s2, out T s3) where T : unmanaged,
        IFloatingPointIeee754<T>
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
}
