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
        Map.Run<T, ReluForwardOp<T>>(x, T.Zero, y);   // a compare and a blend: about twice TensorPrimitives.Max's speed
    }

    /// <summary>dx = dout where x &gt; 0, else 0 (f′(0) = 0).</summary>
    public static void ReluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        Map.Run<T, ReluBackwardOp<T>>(x, dout, dx);
    }

    /// <summary>y = 1/(1 + e^(−x)); saturates to exactly 0 or 1, never NaN.</summary>
    public static void SigmoidForward<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        int i = 0;
        if (Map.Streams<T>(y.Length) && !x.Overlaps(y))
        {
            unsafe
            {
                fixed (T* px = x, py = y)
                {
                    // As Map's streaming loops: first and last vectors stored normally, so every element is computed
                    // by the same vector code however the work is split.
                    int W = Vector512<T>.Count, n = x.Length;
                    VectorMath.Sigmoid(Vector512.Load(px)).Store(py);
                    for (i = (int)Map.Head(py, (nuint)n); i <= n - W; i += W)
                        Simd.StoreNonTemporal(VectorMath.Sigmoid(Vector512.Load(px + i)), py + i);
                    System.Runtime.Intrinsics.X86.Sse.StoreFence();
                    VectorMath.Sigmoid(Vector512.Load(px + n - W)).Store(py + n - W);
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
                var a = VectorMath.Sigmoid(Vector512.LoadUnsafe(ref px, (nuint)i));
                var b = VectorMath.Sigmoid(Vector512.LoadUnsafe(ref px, (nuint)(i + W)));
                var c = VectorMath.Sigmoid(Vector512.LoadUnsafe(ref px, (nuint)(i + 2 * W)));
                var d = VectorMath.Sigmoid(Vector512.LoadUnsafe(ref px, (nuint)(i + 3 * W)));
                a.StoreUnsafe(ref py, (nuint)i);
                b.StoreUnsafe(ref py, (nuint)(i + W));
                c.StoreUnsafe(ref py, (nuint)(i + 2 * W));
                d.StoreUnsafe(ref py, (nuint)(i + 3 * W));
            }
            for (; i <= x.Length - W; i += W)
                VectorMath.Sigmoid(Vector512.LoadUnsafe(ref px, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
            if (i < x.Length && x.Length >= W && !x.Overlaps(y))
            {
                // The last partial vector: recompute [n − W, n); the overlap gets the same values again.
                VectorMath.Sigmoid(Vector512.LoadUnsafe(ref px, (nuint)(x.Length - W))).StoreUnsafe(ref py, (nuint)(x.Length - W));
                i = x.Length;
            }
        }
        if (i < x.Length) TensorPrimitives.Sigmoid(x[i..], y[i..]);
    }

    /// <summary>dx = dout·y·(1 − y), from the forward output y.</summary>
    public static void SigmoidBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(y.Length, dout.Length, dx.Length);
        Map.Run<T, SigmoidBackwardOp<T>>(y, dout, dx);
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
        Map.Run<T, TanhBackwardOp<T>>(y, dout, dx);
    }

    /// <summary>y = x for x &gt; 0, else alpha·x.</summary>
    public static void LeakyReluForward<T>(ReadOnlySpan<T> x, T alpha, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        Map.Run<T, LeakyForwardOp<T>>(x, alpha, y);
    }

    /// <summary>dx = dout for x &gt; 0, else alpha·dout (f′(0) = alpha).</summary>
    public static void LeakyReluBackward<T>(ReadOnlySpan<T> x, T alpha, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        Map.Run<T, LeakyBackwardOp<T>>(x, dout, alpha, dx);
    }

    /// <summary>y = x for x &gt; 0, else alpha·(eˣ − 1).</summary>
    public static void EluForward<T>(ReadOnlySpan<T> x, T alpha, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        TensorPrimitives.Exp(x, y);                       // eˣ (inf for large x is never selected)
        Map.Run<T, EluForwardOp<T>>(x, y, alpha, y);
    }

    /// <summary>dx = dout for x &gt; 0, else dout·alpha·eˣ, computed from the forward output as dout·(y + alpha).</summary>
    public static void EluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T alpha, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        Check(x.Length, y.Length);
        Kernels.EluBackward.Run(x, y, dout, alpha, dx);
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
        TensorPrimitives.Sigmoid(x, y);
        TensorPrimitives.Multiply(x, y, y);
    }

    /// <summary>dx = dout·σ(x)·(1 + x·(1 − σ(x))).</summary>
    public static void SiluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        TensorPrimitives.Sigmoid(x, dx);                  // σ(x), then dx in place
        Map.Run<T, SiluBackwardOp<T>>(x, dx, dout, dx);
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

    /// <summary>
    /// y = softmax(x) over one row, stably: the row maximum is subtracted before exponentiating (TensorPrimitives.SoftMax
    /// does not, and overflows on large logits). Returns log Σ exp(x).
    /// </summary>
    public static T SoftmaxRow<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        T max = TensorPrimitives.Max<T>(x);
        TensorPrimitives.Subtract(x, max, y);
        TensorPrimitives.Exp<T>(y, y);
        T sum = TensorPrimitives.Sum<T>(y);
        TensorPrimitives.Divide(y, sum, y);
        return max + T.Log(sum);
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
