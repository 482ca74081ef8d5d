using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// An element-wise function of one input with a 512-bit vector form (a polynomial or exponential kernel of our own) and a
/// fallback for whole spans where 512-bit vectors are not accelerated (TensorPrimitives, vectorized at 256 and 128 bits).
/// </summary>
internal interface IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>False where the library's own function is faster than the 512-bit form (measured per element type).</summary>
    static abstract bool Vectorized { get; }
    static abstract Vector512<T> Invoke(Vector512<T> x);
    static abstract void Fallback(ReadOnlySpan<T> x, Span<T> y);
}

/// <summary>An element-wise operation of two inputs with scalar and vector forms (the TensorPrimitives operator pattern).</summary>
internal interface IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract T Invoke(T a, T b);
    static abstract Vector512<T> Invoke(Vector512<T> a, Vector512<T> b);
    static abstract Vector256<T> Invoke(Vector256<T> a, Vector256<T> b);
    static abstract Vector128<T> Invoke(Vector128<T> a, Vector128<T> b);
}

/// <summary>An element-wise operation of three inputs with scalar and vector forms.</summary>
internal interface ITernaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract T Invoke(T a, T b, T c);
    static abstract Vector512<T> Invoke(Vector512<T> a, Vector512<T> b, Vector512<T> c);
    static abstract Vector256<T> Invoke(Vector256<T> a, Vector256<T> b, Vector256<T> c);
    static abstract Vector128<T> Invoke(Vector128<T> a, Vector128<T> b, Vector128<T> c);
}

/// <summary>Runs an operator struct over spans with the widest accelerated vectors, then scalars.</summary>
/// <remarks>
/// Outputs of at least <see cref="StreamBytes"/> are written with non-temporal stores: they would not stay in cache
/// anyway, and streaming them skips reading each destination line before overwriting it (about a fifth faster at
/// 10⁷ elements here; slower below a few MB, where the caches still hold the data).
/// </remarks>
internal static unsafe class Map
{
    public const long StreamBytes = 8L << 20;

    /// <summary>Whether an output of <paramref name="n"/> elements is written with non-temporal stores.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Streams<T>(int n) where T : unmanaged =>
        Avx512F.IsSupported && Vector512.IsHardwareAccelerated && (long)n * sizeof(T) >= StreamBytes;

    /// <summary>Elements before <paramref name="d"/> reaches a 64-byte boundary (at most n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint Head<T>(T* d, nuint n) where T : unmanaged => Math.Min(n, (nuint)(((64 - ((nint)d & 63)) & 63) / sizeof(T)));

    /// <summary>dst = op(a) for a function with a 512-bit form: four vectors an iteration (its chain is long), streamed when
    /// large.</summary>
    public static void Unary<T, TOp>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IUnaryOp<T>
    {
        if (!TOp.Vectorized || !Vector512.IsHardwareAccelerated)
        {
            TOp.Fallback(x, y);
            return;
        }
        int i = 0;
        if (Streams<T>(y.Length) && !x.Overlaps(y))
        {
            unsafe
            {
                fixed (T* px = x, py = y)
                {
                    // As Map's streaming loops: first and last vectors stored normally, so every element is computed
                    // by the same vector code however the work is split.
                    int W = Vector512<T>.Count, n = x.Length;
                    TOp.Invoke(Vector512.Load(px)).Store(py);
                    for (i = (int)Head(py, (nuint)n); i <= n - W; i += W)
                        Simd.StoreNonTemporal(TOp.Invoke(Vector512.Load(px + i)), py + i);
                    Sse.StoreFence();
                    TOp.Invoke(Vector512.Load(px + n - W)).Store(py + n - W);
                    i = n;
                }
            }
        }
        else if (Vector512.IsHardwareAccelerated)
        {
            ref T px = ref MemoryMarshal.GetReference(x);
            ref T py = ref MemoryMarshal.GetReference(y);
            int W = Vector512<T>.Count;
            // Four independent vectors per iteration: the exponential is one long dependency chain per vector.
            for (; i <= x.Length - 4 * W; i += 4 * W)
            {
                var a = TOp.Invoke(Vector512.LoadUnsafe(ref px, (nuint)i));
                var b = TOp.Invoke(Vector512.LoadUnsafe(ref px, (nuint)(i + W)));
                var c = TOp.Invoke(Vector512.LoadUnsafe(ref px, (nuint)(i + 2 * W)));
                var d = TOp.Invoke(Vector512.LoadUnsafe(ref px, (nuint)(i + 3 * W)));
                a.StoreUnsafe(ref py, (nuint)i);
                b.StoreUnsafe(ref py, (nuint)(i + W));
                c.StoreUnsafe(ref py, (nuint)(i + 2 * W));
                d.StoreUnsafe(ref py, (nuint)(i + 3 * W));
            }
            for (; i <= x.Length - W; i += W)
                TOp.Invoke(Vector512.LoadUnsafe(ref px, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
            if (i < x.Length && x.Length >= W && !x.Overlaps(y))
            {
                // The last partial vector: recompute [n − W, n); the overlap gets the same values again.
                TOp.Invoke(Vector512.LoadUnsafe(ref px, (nuint)(x.Length - W))).StoreUnsafe(ref py, (nuint)(x.Length - W));
                i = x.Length;
            }
        }
        if (i < x.Length) TOp.Fallback(x[i..], y[i..]);
    }

    public static void Run<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryOp<T>
    {
        if (Streams<T>(dst.Length) && !a.Overlaps(dst) && !b.Overlaps(dst))
        {
            fixed (T* sa = a, sb = b, sd = dst)
            {
                // Every element goes through the vector operator wherever the aligned stretch starts (results must not
                // depend on how the work is split): the first and last vectors are stored normally, overlapping the
                // streamed middle with the same values.
                nuint len = (nuint)dst.Length, w = (nuint)Vector512<T>.Count, k = Head(sd, len);
                TOp.Invoke(Vector512.Load(sa), Vector512.Load(sb)).Store(sd);
                for (; k + w <= len; k += w)
                    Simd.StoreNonTemporal(TOp.Invoke(Vector512.Load(sa + k), Vector512.Load(sb + k)), sd + k);
                Sse.StoreFence();
                TOp.Invoke(Vector512.Load(sa + len - w), Vector512.Load(sb + len - w)).Store(sd + len - w);
            }
            return;
        }
        ref T pa = ref MemoryMarshal.GetReference(a);
        ref T pb = ref MemoryMarshal.GetReference(b);
        ref T pd = ref MemoryMarshal.GetReference(dst);
        nuint i = 0, n = (nuint)dst.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            // Four vectors an iteration (ReLU at 10⁵ elements: 4–8 % faster than one), then single vectors.
            nuint w = (nuint)Vector512<T>.Count;
            for (; i + 4 * w <= n; i += 4 * w)
            {
                var r0 = TOp.Invoke(Vector512.LoadUnsafe(ref pa, i), Vector512.LoadUnsafe(ref pb, i));
                var r1 = TOp.Invoke(Vector512.LoadUnsafe(ref pa, i + w), Vector512.LoadUnsafe(ref pb, i + w));
                var r2 = TOp.Invoke(Vector512.LoadUnsafe(ref pa, i + 2 * w), Vector512.LoadUnsafe(ref pb, i + 2 * w));
                var r3 = TOp.Invoke(Vector512.LoadUnsafe(ref pa, i + 3 * w), Vector512.LoadUnsafe(ref pb, i + 3 * w));
                r0.StoreUnsafe(ref pd, i);
                r1.StoreUnsafe(ref pd, i + w);
                r2.StoreUnsafe(ref pd, i + 2 * w);
                r3.StoreUnsafe(ref pd, i + 3 * w);
            }
            for (; i + w <= n; i += w)
                TOp.Invoke(Vector512.LoadUnsafe(ref pa, i), Vector512.LoadUnsafe(ref pb, i)).StoreUnsafe(ref pd, i);
        }
        else if (Vector256.IsHardwareAccelerated)
            for (; i + (nuint)Vector256<T>.Count <= n; i += (nuint)Vector256<T>.Count)
                TOp.Invoke(Vector256.LoadUnsafe(ref pa, i), Vector256.LoadUnsafe(ref pb, i)).StoreUnsafe(ref pd, i);
        else if (Vector128.IsHardwareAccelerated)
            for (; i + (nuint)Vector128<T>.Count <= n; i += (nuint)Vector128<T>.Count)
                TOp.Invoke(Vector128.LoadUnsafe(ref pa, i), Vector128.LoadUnsafe(ref pb, i)).StoreUnsafe(ref pd, i);
        for (; i < n; i++) Unsafe.Add(ref pd, i) = TOp.Invoke(Unsafe.Add(ref pa, i), Unsafe.Add(ref pb, i));
    }

    /// <summary>dst = op(a, s) with the scalar s broadcast.</summary>
    public static void Run<T, TOp>(ReadOnlySpan<T> a, T s, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryOp<T>
    {
        if (Streams<T>(dst.Length) && !a.Overlaps(dst))
        {
            fixed (T* sa = a, sd = dst)
            {
                nuint len = (nuint)dst.Length, w = (nuint)Vector512<T>.Count, k = Head(sd, len);
                var vs = Vector512.Create(s);
                TOp.Invoke(Vector512.Load(sa), vs).Store(sd);   // first and last vectors stored normally, as above
                for (; k + w <= len; k += w)
                    Simd.StoreNonTemporal(TOp.Invoke(Vector512.Load(sa + k), vs), sd + k);
                Sse.StoreFence();
                TOp.Invoke(Vector512.Load(sa + len - w), vs).Store(sd + len - w);
            }
            return;
        }
        ref T pa = ref MemoryMarshal.GetReference(a);
        ref T pd = ref MemoryMarshal.GetReference(dst);
        nuint i = 0, n = (nuint)dst.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(s);
            nuint w = (nuint)Vector512<T>.Count;
            for (; i + 4 * w <= n; i += 4 * w)
            {
                var r0 = TOp.Invoke(Vector512.LoadUnsafe(ref pa, i), vs);
                var r1 = TOp.Invoke(Vector512.LoadUnsafe(ref pa, i + w), vs);
                var r2 = TOp.Invoke(Vector512.LoadUnsafe(ref pa, i + 2 * w), vs);
                var r3 = TOp.Invoke(Vector512.LoadUnsafe(ref pa, i + 3 * w), vs);
                r0.StoreUnsafe(ref pd, i);
                r1.StoreUnsafe(ref pd, i + w);
                r2.StoreUnsafe(ref pd, i + 2 * w);
                r3.StoreUnsafe(ref pd, i + 3 * w);
            }
            for (; i + w <= n; i += w)
                TOp.Invoke(Vector512.LoadUnsafe(ref pa, i), vs).StoreUnsafe(ref pd, i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(s);
            for (; i + (nuint)Vector256<T>.Count <= n; i += (nuint)Vector256<T>.Count)
                TOp.Invoke(Vector256.LoadUnsafe(ref pa, i), vs).StoreUnsafe(ref pd, i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var vs = Vector128.Create(s);
            for (; i + (nuint)Vector128<T>.Count <= n; i += (nuint)Vector128<T>.Count)
                TOp.Invoke(Vector128.LoadUnsafe(ref pa, i), vs).StoreUnsafe(ref pd, i);
        }
        for (; i < n; i++) Unsafe.Add(ref pd, i) = TOp.Invoke(Unsafe.Add(ref pa, i), s);
    }

    /// <summary>dst = op(a, b, s) with the scalar s broadcast.</summary>
    public static void Run<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, T s, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : ITernaryOp<T>
    {
        ref T pa = ref MemoryMarshal.GetReference(a);
        ref T pb = ref MemoryMarshal.GetReference(b);
        ref T pd = ref MemoryMarshal.GetReference(dst);
        nuint i = 0, n = (nuint)dst.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(s);
            for (; i + (nuint)Vector512<T>.Count <= n; i += (nuint)Vector512<T>.Count)
                TOp.Invoke(Vector512.LoadUnsafe(ref pa, i), Vector512.LoadUnsafe(ref pb, i), vs).StoreUnsafe(ref pd, i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(s);
            for (; i + (nuint)Vector256<T>.Count <= n; i += (nuint)Vector256<T>.Count)
                TOp.Invoke(Vector256.LoadUnsafe(ref pa, i), Vector256.LoadUnsafe(ref pb, i), vs).StoreUnsafe(ref pd, i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var vs = Vector128.Create(s);
            for (; i + (nuint)Vector128<T>.Count <= n; i += (nuint)Vector128<T>.Count)
                TOp.Invoke(Vector128.LoadUnsafe(ref pa, i), Vector128.LoadUnsafe(ref pb, i), vs).StoreUnsafe(ref pd, i);
        }
        for (; i < n; i++) Unsafe.Add(ref pd, i) = TOp.Invoke(Unsafe.Add(ref pa, i), Unsafe.Add(ref pb, i), s);
    }

    public static void Run<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : ITernaryOp<T>
    {
        ref T pa = ref MemoryMarshal.GetReference(a);
        ref T pb = ref MemoryMarshal.GetReference(b);
        ref T pc = ref MemoryMarshal.GetReference(c);
        ref T pd = ref MemoryMarshal.GetReference(dst);
        nuint i = 0, n = (nuint)dst.Length;
        if (Vector512.IsHardwareAccelerated)
            for (; i + (nuint)Vector512<T>.Count <= n; i += (nuint)Vector512<T>.Count)
                TOp.Invoke(Vector512.LoadUnsafe(ref pa, i), Vector512.LoadUnsafe(ref pb, i), Vector512.LoadUnsafe(ref pc,
                    i)).StoreUnsafe(ref pd, i);
        else if (Vector256.IsHardwareAccelerated)
            for (; i + (nuint)Vector256<T>.Count <= n; i += (nuint)Vector256<T>.Count)
                TOp.Invoke(Vector256.LoadUnsafe(ref pa, i), Vector256.LoadUnsafe(ref pb, i), Vector256.LoadUnsafe(ref pc,
                    i)).StoreUnsafe(ref pd, i);
        else if (Vector128.IsHardwareAccelerated)
            for (; i + (nuint)Vector128<T>.Count <= n; i += (nuint)Vector128<T>.Count)
                TOp.Invoke(Vector128.LoadUnsafe(ref pa, i), Vector128.LoadUnsafe(ref pb, i), Vector128.LoadUnsafe(ref pc,
                    i)).StoreUnsafe(ref pd, i);
        for (; i < n; i++) Unsafe.Add(ref pd, i) = TOp.Invoke(Unsafe.Add(ref pa, i), Unsafe.Add(ref pb, i), Unsafe.Add(ref pc, i));
    }
}
