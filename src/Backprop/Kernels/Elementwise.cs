using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// The activation functions and their derivatives over spans: forward y = f(x), backward dx = dout·f′(x).
/// Spans in, spans out, no allocation; x, y and dout are never written.
/// </summary>
public static class Elementwise
{
    private const double SqrtTwoOverPi = 0.7978845608028654;
    private const double InvSqrtTwoPi = 0.3989422804014327;
    private const double GeluTanhCoef = 0.044715;

    /// <summary>y = max(x, 0).</summary>
    public static void ReluForward<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        TensorPrimitives.Max(x, T.Zero, y);
    }

    /// <summary>dx = dout where x &gt; 0, else 0 (f′(0) = 0).</summary>
    public static void ReluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        ref T px = ref MemoryMarshal.GetReference(x);
        ref T pd = ref MemoryMarshal.GetReference(dout);
        ref T po = ref MemoryMarshal.GetReference(dx);
        int i = 0, n = x.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var m = Vector512.GreaterThan(Vector512.LoadUnsafe(ref px, (nuint)i), Vector512<T>.Zero);
                Vector512.StoreUnsafe(m & Vector512.LoadUnsafe(ref pd, (nuint)i), ref po, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var m = Vector256.GreaterThan(Vector256.LoadUnsafe(ref px, (nuint)i), Vector256<T>.Zero);
                Vector256.StoreUnsafe(m & Vector256.LoadUnsafe(ref pd, (nuint)i), ref po, (nuint)i);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref po, i) = Unsafe.Add(ref px, i) > T.Zero ? Unsafe.Add(ref pd, i) : T.Zero;
    }

    /// <summary>y = 1/(1 + e^(−x)); saturates to exactly 0 or 1, never NaN.</summary>
    public static void SigmoidForward<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        TensorPrimitives.Sigmoid(x, y);
    }

    /// <summary>dx = dout·y·(1 − y), from the forward output y.</summary>
    public static void SigmoidBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(y.Length, dout.Length, dx.Length);
        for (int i = 0; i < y.Length; i++) dx[i] = dout[i] * y[i] * (T.One - y[i]);
    }

    /// <summary>y = tanh(x).</summary>
    public static void TanhForward<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        TensorPrimitives.Tanh(x, y);
    }

    /// <summary>dx = dout·(1 − y²), from the forward output y.</summary>
    public static void TanhBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(y.Length, dout.Length, dx.Length);
        for (int i = 0; i < y.Length; i++) dx[i] = dout[i] * (T.One - y[i] * y[i]);
    }

    /// <summary>y = x for x &gt; 0, else alpha·x.</summary>
    public static void LeakyReluForward<T>(ReadOnlySpan<T> x, T alpha, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        for (int i = 0; i < x.Length; i++) y[i] = x[i] > T.Zero ? x[i] : alpha * x[i];
    }

    /// <summary>dx = dout for x &gt; 0, else alpha·dout (f′(0) = alpha).</summary>
    public static void LeakyReluBackward<T>(ReadOnlySpan<T> x, T alpha, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        for (int i = 0; i < x.Length; i++) dx[i] = x[i] > T.Zero ? dout[i] : alpha * dout[i];
    }

    /// <summary>y = x for x &gt; 0, else alpha·(eˣ − 1).</summary>
    public static void EluForward<T>(ReadOnlySpan<T> x, T alpha, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        for (int i = 0; i < x.Length; i++) y[i] = x[i] > T.Zero ? x[i] : alpha * (T.Exp(x[i]) - T.One);
    }

    /// <summary>dx = dout for x &gt; 0, else dout·alpha·eˣ.</summary>
    public static void EluBackward<T>(ReadOnlySpan<T> x, T alpha, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        for (int i = 0; i < x.Length; i++) dx[i] = x[i] > T.Zero ? dout[i] : dout[i] * alpha * T.Exp(x[i]);
    }

    /// <summary>Exact GELU y = x·Φ(x), Φ(x) = erfc(−x/√2)/2.</summary>
    public static void GeluForward<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = double.CreateTruncating(x[i]);
            y[i] = T.CreateTruncating(v * SpecialFunctions.NormalCdf(v));
        }
    }

    /// <summary>Exact GELU derivative: dx = dout·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π).</summary>
    public static void GeluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = double.CreateTruncating(x[i]);
            double d = SpecialFunctions.NormalCdf(v) + v * InvSqrtTwoPi * Math.Exp(-0.5 * v * v);
            dx[i] = T.CreateTruncating(double.CreateTruncating(dout[i]) * d);
        }
    }

    /// <summary>GELU, tanh approximation: y = ½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    public static void GeluTanhForward<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = double.CreateTruncating(x[i]);
            y[i] = T.CreateTruncating(0.5 * v * (1.0 + Math.Tanh(SqrtTwoOverPi * (v + GeluTanhCoef * v * v * v))));
        }
    }

    /// <summary>dx = dout·(½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)), t = tanh(√(2/π)(x + 0.044715x³)).</summary>
    public static void GeluTanhBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double v = double.CreateTruncating(x[i]);
            double t = Math.Tanh(SqrtTwoOverPi * (v + GeluTanhCoef * v * v * v));
            double d = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * SqrtTwoOverPi * (1.0 + 3.0 * GeluTanhCoef * v * v);
            dx[i] = T.CreateTruncating(double.CreateTruncating(dout[i]) * d);
        }
    }

    /// <summary>SiLU y = x·σ(x).</summary>
    public static void SiluForward<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        for (int i = 0; i < x.Length; i++) y[i] = x[i] * Sigmoid(x[i]);
    }

    /// <summary>dx = dout·σ(x)·(1 + x·(1 − σ(x))).</summary>
    public static void SiluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        for (int i = 0; i < x.Length; i++)
        {
            T s = Sigmoid(x[i]);
            dx[i] = dout[i] * s * (T.One + x[i] * (T.One - s));
        }
    }

    /// <summary>Softplus as PyTorch defines it: y = x where beta·x &gt; threshold, else log(1 + e^(beta·x))/beta.</summary>
    public static void SoftplusForward<T>(ReadOnlySpan<T> x, T beta, T threshold, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        double b = double.CreateTruncating(beta);
        for (int i = 0; i < x.Length; i++)
        {
            T bx = beta * x[i];
            y[i] = bx > threshold ? x[i] : T.CreateTruncating(SpecialFunctions.Log1P(Math.Exp(double.CreateTruncating(bx))) / b);
        }
    }

    /// <summary>dx = dout where beta·x &gt; threshold, else dout·z/(z + 1) with z = e^(beta·x), i.e. dout·σ(beta·x).</summary>
    public static void SoftplusBackward<T>(ReadOnlySpan<T> x, T beta, T threshold, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        for (int i = 0; i < x.Length; i++)
        {
            T bx = beta * x[i];
            dx[i] = bx > threshold ? dout[i] : dout[i] * Sigmoid(bx);
        }
    }

    // σ(x) without overflow: e^(−|x|) never exceeds 1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T e = T.Exp(-T.Abs(x));
        return x >= T.Zero ? T.One / (T.One + e) : e / (T.One + e);
    }

    private static void Check(int n, int m)
    {
        if (n != m) throw new ArgumentException($"Elementwise: spans of {n} and {m} elements");
    }

    private static void Check(int n, int m, int k)
    {
        if (n != m || n != k) throw new ArgumentException($"Elementwise: spans of {n}, {m} and {k} elements");
    }
}
