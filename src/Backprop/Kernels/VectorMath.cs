using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// Vectorized eˣ and σ(x) on <see cref="Vector512{T}"/>, for the activations whose library versions are slower.
/// </summary>
/// <remarks>
/// eˣ: n = round(x·log₂e), r = x − n·ln2 (ln2 split in a high and a low part so r is exact to the last bits),
/// eʳ by its Taylor polynomial on |r| ≤ ln2/2 (degree 7 in float, truncation 5e-9; degree 12 in double, 2e-16),
/// times 2ⁿ built in the exponent bits. Arguments below the smallest normal result give exactly 0; arguments are clamped to 88 (float) and
/// 709 (double).
/// </remarks>
internal static class VectorMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return ExpSingle(x.AsSingle()).As<float, T>();
        return ExpDouble(x.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpSingle(Vector512<float> x)
    {
        var underflow = Vector512.LessThan(x, Vector512.Create(-87.3f));
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-87.3f)), Vector512.Create(88.0f));
        // Adding 1.5·2²³ rounds to an integer held in the low mantissa bits: n without a rounding or conversion instruction.
        var shifted = Vector512.FusedMultiplyAdd(x, Vector512.Create(1.44269504088896341f), Vector512.Create(12582912f));
        var n = shifted - Vector512.Create(12582912f);
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.Create(1f / 5040);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 720));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        var scale = (shifted.AsInt32() - Vector512.Create(0x4B400000 - 127)) << 23;
        return Vector512.ConditionalSelect(underflow.AsInt32(), Vector512<int>.Zero, (p * scale.AsSingle()).AsInt32()).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> ExpDouble(Vector512<double> x)
    {
        var underflow = Vector512.LessThan(x, Vector512.Create(-708.0));
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-708.0)), Vector512.Create(709.0));
        var shifted = Vector512.FusedMultiplyAdd(x, Vector512.Create(1.4426950408889634), Vector512.Create(6755399441055744.0));
        var n = shifted - Vector512.Create(6755399441055744.0);   // 1.5·2⁵², the same trick in double
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-6.93147180369123816490e-01), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-1.90821492927058770002e-10), r);
        var p = Vector512.Create(1.0 / 479001600);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 39916800));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 3628800));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 362880));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 40320));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 5040));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 720));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 120));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 24));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<double>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<double>.One);
        var scale = (shifted.AsInt64() - Vector512.Create(0x4338000000000000L - 1023)) << 52;
        return Vector512.ConditionalSelect(underflow.AsInt64(), Vector512<long>.Zero, (p * scale.AsDouble()).AsInt64()).AsDouble();
    }

    /// <summary>
    /// 1/a for a in [1, 2]: the 14-bit hardware estimate refined by Newton steps r ← r·(2 − a·r), each doubling the
    /// correct bits (one for float, two for double); a 512-bit division would cost about 16 cycles per vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Reciprocal<T>(Vector512<T> a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!Avx512F.IsSupported) return Vector512<T>.One / a;
        var two = Vector512.Create(T.One + T.One);
        if (typeof(T) == typeof(float))
        {
            var r = Avx512F.Reciprocal14(a.AsSingle()).As<float, T>();
            return r * (two - a * r);
        }
        var rd = Avx512F.Reciprocal14(a.AsDouble()).As<double, T>();
        rd *= two - a * rd;
        rd *= two - a * rd;
        return rd * (two - a * rd);
    }

    /// <summary>σ(x) = 1/(1 + e^(−x)) from e = e^(−|x|) ≤ 1, so nothing overflows: 1/(1 + e) for x ≥ 0, e/(1 + e) otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Sigmoid<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var e = Exp(-Vector512.Abs(x));
        var d = Reciprocal(Vector512<T>.One + e);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<T>.Zero), d, e * d);
    }

    // tanh's Taylor coefficients of x, x³, …, x²¹ (2²ⁿ(2²ⁿ − 1)B₂ₙ/(2n)!): on |x| < 1/4 each term is ~40 times the next,
    // so stopping at x⁹ leaves 8e-9 and at x¹¹ 2e-10 (float takes six terms), at x²¹ below 1e-17 (double takes eleven).
    private const double T3 = -1.0 / 3, T5 = 2.0 / 15, T7 = -17.0 / 315, T9 = 62.0 / 2835, T11 = -1382.0 / 155925,
        T13 = 21844.0 / 6081075, T15 = -929569.0 / 638512875, T17 = 6404582.0 / 10854718875,
        T19 = -443861162.0 / 1856156927625, T21 = 18888466084.0 / 194896477400625;

    /// <summary>
    /// tanh x: the odd Taylor polynomial for |x| &lt; 1/4 (full relative precision near 0, where 1 − 2/(e²ˣ + 1) would cancel),
    /// else sign(x)·(1 − e)/(1 + e) with e = e^(−2|x|) ≤ e^(−1/2), so 1 − e loses at most a bit and nothing overflows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Tanh<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var u = x * x;
        Vector512<T> p;
        if (typeof(T) == typeof(float))
        {
            var uf = u.AsSingle();
            var pf = Vector512.FusedMultiplyAdd(Vector512.Create((float)T11), uf, Vector512.Create((float)T9));
            pf = Vector512.FusedMultiplyAdd(pf, uf, Vector512.Create((float)T7));
            pf = Vector512.FusedMultiplyAdd(pf, uf, Vector512.Create((float)T5));
            p = Vector512.FusedMultiplyAdd(pf, uf, Vector512.Create((float)T3)).As<float, T>();
        }
        else
        {
            var ud = u.AsDouble();
            var pd = Vector512.FusedMultiplyAdd(Vector512.Create(T21), ud, Vector512.Create(T19));
            pd = Vector512.FusedMultiplyAdd(pd, ud, Vector512.Create(T17));
            pd = Vector512.FusedMultiplyAdd(pd, ud, Vector512.Create(T15));
            pd = Vector512.FusedMultiplyAdd(pd, ud, Vector512.Create(T13));
            pd = Vector512.FusedMultiplyAdd(pd, ud, Vector512.Create(T11));
            pd = Vector512.FusedMultiplyAdd(pd, ud, Vector512.Create(T9));
            pd = Vector512.FusedMultiplyAdd(pd, ud, Vector512.Create(T7));
            pd = Vector512.FusedMultiplyAdd(pd, ud, Vector512.Create(T5));
            p = Vector512.FusedMultiplyAdd(pd, ud, Vector512.Create(T3)).As<double, T>();
        }
        var small = Simd.Fma(x * u, p, x);                               // x + x³·P(x²)
        var ax = Vector512.Abs(x);
        var e = Exp(Vector512.Create(T.CreateTruncating(-2.0)) * ax);
        var large = (Vector512<T>.One - e) * Reciprocal(Vector512<T>.One + e);
        large = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<T>.Zero), -large, large);
        return Vector512.ConditionalSelect(Vector512.LessThan(ax, Vector512.Create(T.CreateTruncating(0.25))), small, large);
    }
}
