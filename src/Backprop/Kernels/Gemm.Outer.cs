using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

// Outer products (K = 1: dW of a batch of one) written as aligned flat vectors.
internal static unsafe partial class Gemm
{
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
                if (bias != null) v += Vector512.ConditionalSelect(mine, Simd.MaskLoad(bias + (f - (long)i * N), mine),
                    Simd.MaskLoad(bias - r, ~mine));
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
    private static void OuterStoreMasked<T>(T* c, Vector512<T> v, Vector512<T> mask, bool accumulate) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        if (accumulate) v += Simd.MaskLoad(c, mask);
        Simd.MaskStore(c, mask, v);
    }
}
