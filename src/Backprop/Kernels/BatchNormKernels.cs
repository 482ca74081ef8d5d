using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Backprop.Kernels;

/// <summary>
/// Batch normalization of one channel of images (N, C, H, W) in few passes: the channel is N runs of S = H·W values, run n
/// at (n·C + c)·S. Forward reads x three times (the mean, the variance about it, then y) and writes y once; backward reads
/// dout and x twice and writes dx once, x̂ = (x − μ)·invStd recomputed where it is needed instead of stored. Each run's sum
/// is taken in vector lanes, then added to a double total in run order: the same bits whichever core runs the channel.
/// </summary>
internal static class BatchNormKernels
{
    /// <summary>The channel's mean and biased variance.</summary>
    public static (double Mean, double Variance) Statistics<T>(ReadOnlySpan<T> x, int c, int N, int C, int S)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sum = 0;
        for (int n = 0; n < N; n++) sum += double.CreateTruncating(Sum(x.Slice((n * C + c) * S, S)));
        double mean = sum / ((double)N * S);
        var m = T.CreateTruncating(mean);
        double squares = 0;
        for (int n = 0; n < N; n++) squares += double.CreateTruncating(SquaresAbout(x.Slice((n * C + c) * S, S), m));
        return (mean, squares / ((double)N * S));
    }

    /// <summary>y = γ·(x − μ)·invStd + β over the channel.</summary>
    public static void Normalize<T>(ReadOnlySpan<T> x, Span<T> y, int c, int N, int C, int S, T mean, T invStd, T gamma, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // y = a·x + b with a = γ·invStd, b = β − a·μ: one multiply-add per value.
        T a = gamma * invStd, b = beta - a * mean;
        var va = new Vector<T>(a);
        var vb = new Vector<T>(b);
        for (int n = 0; n < N; n++)
        {
            var xs = x.Slice((n * C + c) * S, S);
            var ys = y.Slice((n * C + c) * S, S);
            var xv = MemoryMarshal.Cast<T, Vector<T>>(xs);
            var yv = MemoryMarshal.Cast<T, Vector<T>>(ys);
            for (int i = 0; i < xv.Length; i++) yv[i] = Fma(xv[i], va, vb);
            for (int i = xv.Length * Vector<T>.Count; i < S; i++) ys[i] = T.FusedMultiplyAdd(xs[i], a, b);
        }
    }

    /// <summary>Σ dout and Σ dout·x̂ over the channel, x̂ = (x − μ)·invStd.</summary>
    public static (double SumD, double SumDXhat) GradientSums<T>(ReadOnlySpan<T> dout, ReadOnlySpan<T> x, int c, int N, int C, int S,
        T mean, T invStd) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sumD = 0, sumDX = 0;
        var vm = new Vector<T>(mean);
        for (int n = 0; n < N; n++)
        {
            var ds = dout.Slice((n * C + c) * S, S);
            var xs = x.Slice((n * C + c) * S, S);
            var dv = MemoryMarshal.Cast<T, Vector<T>>(ds);
            var xv = MemoryMarshal.Cast<T, Vector<T>>(xs);
            Vector<T> accD = Vector<T>.Zero, accDX = Vector<T>.Zero;
            for (int i = 0; i < dv.Length; i++)
            {
                accD += dv[i];
                accDX = Fma(dv[i], xv[i] - vm, accDX);
            }
            T d = Vector.Sum(accD), dx = Vector.Sum(accDX);
            for (int i = dv.Length * Vector<T>.Count; i < S; i++)
            {
                d += ds[i];
                dx += ds[i] * (xs[i] - mean);
            }
            sumD += double.CreateTruncating(d);
            sumDX += double.CreateTruncating(dx);
        }
        return (sumD, sumDX * double.CreateTruncating(invStd));
    }

    /// <summary>dx = scale·(dout − meanD − x̂·meanDX) over the channel, x̂ = (x − μ)·invStd.</summary>
    public static void InputGradient<T>(ReadOnlySpan<T> dout, ReadOnlySpan<T> x, Span<T> dx, int c, int N, int C, int S, T mean,
        T invStd, T scale, T meanD, T meanDX) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // dx = p·dout + q·x + r: p = scale, q = −scale·invStd·meanDX, r = −scale·meanD − q·μ.
        T p = scale, q = -scale * invStd * meanDX, r = -scale * meanD - q * mean;
        var vp = new Vector<T>(p);
        var vq = new Vector<T>(q);
        var vr = new Vector<T>(r);
        for (int n = 0; n < N; n++)
        {
            var ds = dout.Slice((n * C + c) * S, S);
            var xs = x.Slice((n * C + c) * S, S);
            var os = dx.Slice((n * C + c) * S, S);
            var dv = MemoryMarshal.Cast<T, Vector<T>>(ds);
            var xv = MemoryMarshal.Cast<T, Vector<T>>(xs);
            var ov = MemoryMarshal.Cast<T, Vector<T>>(os);
            for (int i = 0; i < dv.Length; i++) ov[i] = Fma(dv[i], vp, Fma(xv[i], vq, vr));
            for (int i = dv.Length * Vector<T>.Count; i < S; i++) os[i] = ds[i] * p + (xs[i] * q + r);
        }
    }

    // a·b + c rounded once (Vector.FusedMultiplyAdd has no generic form).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Fma<T>(Vector<T> a, Vector<T> b, Vector<T> c) where T : unmanaged, IFloatingPointIeee754<T> =>
        typeof(T) == typeof(float)
            ? Vector.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>()
            : Vector.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Sum<T>(ReadOnlySpan<T> s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var v = MemoryMarshal.Cast<T, Vector<T>>(s);
        Vector<T> a0 = Vector<T>.Zero, a1 = Vector<T>.Zero;
        int i = 0;
        for (; i + 1 < v.Length; i += 2)
        {
            a0 += v[i];
            a1 += v[i + 1];
        }
        if (i < v.Length) a0 += v[i];
        T sum = Vector.Sum(a0 + a1);
        for (int k = v.Length * Vector<T>.Count; k < s.Length; k++) sum += s[k];
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T SquaresAbout<T>(ReadOnlySpan<T> s, T mean) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var v = MemoryMarshal.Cast<T, Vector<T>>(s);
        var vm = new Vector<T>(mean);
        Vector<T> a0 = Vector<T>.Zero, a1 = Vector<T>.Zero;
        int i = 0;
        for (; i + 1 < v.Length; i += 2)
        {
            var d0 = v[i] - vm;
            var d1 = v[i + 1] - vm;
            a0 = Fma(d0, d0, a0);
            a1 = Fma(d1, d1, a1);
        }
        if (i < v.Length)
        {
            var d = v[i] - vm;
            a0 = Fma(d, d, a0);
        }
        T sum = Vector.Sum(a0 + a1);
        for (int k = v.Length * Vector<T>.Count; k < s.Length; k++) sum += (s[k] - mean) * (s[k] - mean);
        return sum;
    }
}
