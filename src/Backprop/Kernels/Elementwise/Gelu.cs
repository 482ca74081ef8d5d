using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// GELU, exact and tanh-approximated.
internal static partial class Elementwise
{
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
    public static void GeluTanhBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged,
        IFloatingPointIeee754<T>
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
}
