using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>Generic wrappers over the float/double-only vector intrinsics; the JIT removes the type tests.</summary>
internal static class Simd
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Fma<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    /// <summary>A mask of lanes 0 ≤ l &lt; <paramref name="n"/>: the lanes of a masked load or store of n ≤ W elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> FirstLanes<T>(int n) where T : unmanaged, System.Numerics.INumberBase<T> =>
        Vector512.LessThan(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(n)));

    /// <summary>Lanes where <paramref name="mask"/> is set loaded from p, zero elsewhere; masked lanes are never touched
    /// (AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<T> MaskLoad<T>(T* p, Vector512<T> mask) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Avx512F.MaskLoad((float*)p, mask.AsSingle(), Vector512<float>.Zero).As<float, T>();
        return Avx512F.MaskLoad((double*)p, mask.AsDouble(), Vector512<double>.Zero).As<double, T>();
    }

    /// <summary>Stores the lanes of v where <paramref name="mask"/> is set; memory under the other lanes is untouched (AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void MaskStore<T>(T* p, Vector512<T> mask, Vector512<T> v) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Avx512F.MaskStore((float*)p, mask.AsSingle(), v.AsSingle());
        else Avx512F.MaskStore((double*)p, mask.AsDouble(), v.AsDouble());
    }

    /// <summary>A non-temporal (cache-bypassing) store to a 64-byte-aligned address (AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreNonTemporal<T>(Vector512<T> v, T* p) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) Avx512F.StoreAlignedNonTemporal((float*)p, v.AsSingle());
        else Avx512F.StoreAlignedNonTemporal((double*)p, v.AsDouble());
    }

    /// <summary>The values at even and at odd places of a‖b (AVX-512): (a0, a2, …, b0, b2, …) and (a1, a3, …, b1, b3, …).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<T> Even, Vector512<T> Odd) Unzip<T>(Vector512<T> a, Vector512<T> b) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            return (Avx512F.PermuteVar16x32x2(a.AsSingle(), even, b.AsSingle()).As<float, T>(),
                Avx512F.PermuteVar16x32x2(a.AsSingle(), even + Vector512<int>.One, b.AsSingle()).As<float, T>());
        }
        var evens = Vector512.Create(0L, 2, 4, 6, 8, 10, 12, 14);
        return (Avx512F.PermuteVar8x64x2(a.AsDouble(), evens, b.AsDouble()).As<double, T>(),
            Avx512F.PermuteVar8x64x2(a.AsDouble(), evens + Vector512<long>.One, b.AsDouble()).As<double, T>());
    }

    /// <summary>The values of a and b in turns (AVX-512): (a0, b0, a1, b1, …) over two vectors, the inverse of
    /// <see cref="Unzip{T}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<T> Low, Vector512<T> High) Zip<T>(Vector512<T> a, Vector512<T> b) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var low = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            return (Avx512F.PermuteVar16x32x2(a.AsSingle(), low, b.AsSingle()).As<float, T>(),
                Avx512F.PermuteVar16x32x2(a.AsSingle(), low + Vector512.Create(8), b.AsSingle()).As<float, T>());
        }
        var lows = Vector512.Create(0L, 8, 1, 9, 2, 10, 3, 11);
        return (Avx512F.PermuteVar8x64x2(a.AsDouble(), lows, b.AsDouble()).As<double, T>(),
            Avx512F.PermuteVar8x64x2(a.AsDouble(), lows + Vector512.Create(4L), b.AsDouble()).As<double, T>());
    }
}
