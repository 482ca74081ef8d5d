using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>An element-wise operation of two inputs with scalar and vector forms (the TensorPrimitives operator pattern).</summary>
internal interface IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract T Invoke(T a, T b);
    static abstract Vector512<T> Invoke(Vector512<T> a, Vector512<T> b);
    static abstract Vector256<T> Invoke(Vector256<T> a, Vector256<T> b);
}

/// <summary>An element-wise operation of three inputs with scalar and vector forms.</summary>
internal interface ITernaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract T Invoke(T a, T b, T c);
    static abstract Vector512<T> Invoke(Vector512<T> a, Vector512<T> b, Vector512<T> c);
    static abstract Vector256<T> Invoke(Vector256<T> a, Vector256<T> b, Vector256<T> c);
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
                r0.StoreUnsafe(ref pd, i); r1.StoreUnsafe(ref pd, i + w); r2.StoreUnsafe(ref pd, i + 2 * w); r3.StoreUnsafe(ref pd, i + 3 * w);
            }
            for (; i + w <= n; i += w)
                TOp.Invoke(Vector512.LoadUnsafe(ref pa, i), Vector512.LoadUnsafe(ref pb, i)).StoreUnsafe(ref pd, i);
        }
        else if (Vector256.IsHardwareAccelerated)
            for (; i + (nuint)Vector256<T>.Count <= n; i += (nuint)Vector256<T>.Count)
                TOp.Invoke(Vector256.LoadUnsafe(ref pa, i), Vector256.LoadUnsafe(ref pb, i)).StoreUnsafe(ref pd, i);
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
                r0.StoreUnsafe(ref pd, i); r1.StoreUnsafe(ref pd, i + w); r2.StoreUnsafe(ref pd, i + 2 * w); r3.StoreUnsafe(ref pd, i + 3 * w);
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
                TOp.Invoke(Vector512.LoadUnsafe(ref pa, i), Vector512.LoadUnsafe(ref pb, i), Vector512.LoadUnsafe(ref pc, i)).StoreUnsafe(ref pd, i);
        else if (Vector256.IsHardwareAccelerated)
            for (; i + (nuint)Vector256<T>.Count <= n; i += (nuint)Vector256<T>.Count)
                TOp.Invoke(Vector256.LoadUnsafe(ref pa, i), Vector256.LoadUnsafe(ref pb, i), Vector256.LoadUnsafe(ref pc, i)).StoreUnsafe(ref pd, i);
        for (; i < n; i++) Unsafe.Add(ref pd, i) = TOp.Invoke(Unsafe.Add(ref pa, i), Unsafe.Add(ref pb, i), Unsafe.Add(ref pc, i));
    }
}

/// <summary>dx = dout where x &gt; 0, else 0.</summary>
internal readonly struct ReluBackwardOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x, T dout) => x > T.Zero ? dout : T.Zero;
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> dout) => Vector512.GreaterThan(x, Vector512<T>.Zero) & dout;
    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> dout) => Vector256.GreaterThan(x, Vector256<T>.Zero) & dout;
}

/// <summary>y = x where x &gt; 0, else 0 (NaN stays NaN, −0 becomes +0, as TensorPrimitives.Max(x, 0)); the scalar operand is unused.</summary>
internal readonly struct ReluForwardOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x, T unused) => x <= T.Zero ? T.Zero : x;
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> unused) => Vector512.ConditionalSelect(Vector512.LessThanOrEqual(x, Vector512<T>.Zero), Vector512<T>.Zero, x);
    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> unused) => Vector256.ConditionalSelect(Vector256.LessThanOrEqual(x, Vector256<T>.Zero), Vector256<T>.Zero, x);
}

/// <summary>dx = dout·y·(1 − y).</summary>
internal readonly struct SigmoidBackwardOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T y, T dout) => dout * y * (T.One - y);
    public static Vector512<T> Invoke(Vector512<T> y, Vector512<T> dout) => dout * y * (Vector512<T>.One - y);
    public static Vector256<T> Invoke(Vector256<T> y, Vector256<T> dout) => dout * y * (Vector256<T>.One - y);
}

/// <summary>dx = dout·(1 − y²).</summary>
internal readonly struct TanhBackwardOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T y, T dout) => dout * (T.One - y * y);
    public static Vector512<T> Invoke(Vector512<T> y, Vector512<T> dout) => dout * (Vector512<T>.One - y * y);
    public static Vector256<T> Invoke(Vector256<T> y, Vector256<T> dout) => dout * (Vector256<T>.One - y * y);
}

/// <summary>y = x where x &gt; 0, else alpha·x (alpha passed as the second operand, broadcast).</summary>
internal readonly struct LeakyForwardOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x, T alpha) => x > T.Zero ? x : alpha * x;
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> alpha) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), x, alpha * x);
    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> alpha) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), x, alpha * x);
}

/// <summary>dx = dout where x &gt; 0, else alpha·dout.</summary>
internal readonly struct LeakyBackwardOp<T> : ITernaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x, T dout, T alpha) => x > T.Zero ? dout : alpha * dout;
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> dout, Vector512<T> alpha) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), dout, alpha * dout);
    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> dout, Vector256<T> alpha) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), dout, alpha * dout);
}

/// <summary>ELU from e = eˣ: y = x where x &gt; 0, else alpha·(e − 1).</summary>
internal readonly struct EluForwardOp<T> : ITernaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x, T e, T alpha) => x > T.Zero ? x : alpha * (e - T.One);
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> e, Vector512<T> alpha) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), x, alpha * (e - Vector512<T>.One));
    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> e, Vector256<T> alpha) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), x, alpha * (e - Vector256<T>.One));
}

/// <summary>SiLU backward from s = σ(x): dx = dout·s·(1 + x·(1 − s)).</summary>
internal readonly struct SiluBackwardOp<T> : ITernaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x, T s, T dout) => dout * s * (T.One + x * (T.One - s));
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> s, Vector512<T> dout) => dout * s * (Vector512<T>.One + x * (Vector512<T>.One - s));
    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> s, Vector256<T> dout) => dout * s * (Vector256<T>.One + x * (Vector256<T>.One - s));
}

/// <summary>ELU backward from x and y: dx = dout where x &gt; 0, else dout·(y + alpha) = dout·alpha·eˣ (alpha is the scalar).</summary>
internal static class EluBackward
{
    public static void Run<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, T alpha, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, n = dx.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(alpha);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var d = Vector512.Create(dout.Slice(i, Vector512<T>.Count));
                var r = Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.Create(x.Slice(i, Vector512<T>.Count)), Vector512<T>.Zero),
                    d, d * (Vector512.Create(y.Slice(i, Vector512<T>.Count)) + va));
                r.CopyTo(dx.Slice(i));
            }
        }
        for (; i < n; i++) dx[i] = x[i] > T.Zero ? dout[i] : dout[i] * (y[i] + alpha);
    }
}
