using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

// Narrow products: at most two vectors of columns (a 10-class layer) in masked AVX-512 registers, and short reductions
// against a transposed B.
internal static unsafe partial class Gemm
{
    // C (M×N, N ≤ one vector) = op(A)·B: every row of C is one masked vector, eight rows at a time, so eight FMA
    // chains run side by side; B is read in place, a row per k, with masked loads (nothing read or written past N).
    private static void NarrowDirect<T>(bool transA, int M, int N, int K, T* a, int lda, T* b, int ldb, T* c, int ldc, T* bias,
        bool accumulate)
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
            T* a4 = a + Math.Min(i + 4, M - 1) * aRow, a5 = a + Math.Min(i + 5, M - 1) * aRow, a6 = a + Math.Min(i + 6, M - 1) * aRow,
                a7 = a + Math.Min(i + 7, M - 1) * aRow;
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

    // NarrowDirect for one to two vectors of columns (a 10-class layer in float64): each row of C is two vectors, the
    // second masked; eight rows at a time, sixteen accumulators.
    private static void NarrowDirect2<T>(bool transA, int M, int N, int K, T* a, int lda, T* b, int ldb, T* c, int ldc, T* bias,
        bool accumulate)
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
            T* a4 = a + Math.Min(i + 4, M - 1) * aRow, a5 = a + Math.Min(i + 5, M - 1) * aRow, a6 = a + Math.Min(i + 6, M - 1) * aRow,
                a7 = a + Math.Min(i + 7, M - 1) * aRow;
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

    // A short reduction against a transposed B (dx = dout·Wᵀ of a narrow layer): transpose op(B) once into a K×N
    // row-major scratch, then every row of C is a K-term combination of its rows, held in registers.
    private static void ShortTransposedB<T>(GemmPath path, int M, int N, int K, T* pa, int lda, T* pb, int ldb, T* pc, int ldc, T* bias,
        bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* bt = Buffer<T>(ref t_packB, (long)K * N);
        T** rows = stackalloc T*[8];
        for (int j = 0; j < N; j += 8)
        {
            int count = Math.Min(8, N - j);
            for (int r = 0; r < count; r++) rows[r] = pb + (long)(j + r) * ldb;
            Packing.Interleave(rows, count, N, K, bt + j, vector: true, pad: false);
        }
        Direct(path, false, false, M, N, K, pa, lda, bt, N, pc, ldc, bias, accumulate);
    }
}
