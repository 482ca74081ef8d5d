using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// Leaky ReLU: y = x or alpha·x; dx = dout or alpha·dout.
internal static partial class Elementwise
{
    /// <summary>y = x for x &gt; 0, else alpha·x.</summary>
    public static void LeakyReluForward<T>(ReadOnlySpan<T> x, T alpha, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        Map.Run<T, LeakyForwardOp<T>>(x, alpha, y);
    }

    /// <summary>dx = dout for x &gt; 0, else alpha·dout (f′(0) = alpha).</summary>
    public static void LeakyReluBackward<T>(ReadOnlySpan<T> x, T alpha, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        Map.Run<T, LeakyBackwardOp<T>>(x, dout, alpha, dx);
    }
}

/// <summary>y = x where x &gt; 0, else alpha·x (alpha passed as the second operand, broadcast).</summary>
internal readonly struct LeakyForwardOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x, T alpha) => x > T.Zero ? x : alpha * x;
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> alpha) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), x, alpha * x);
    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> alpha) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), x, alpha * x);
    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> alpha) =>
        Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<T>.Zero), x, alpha * x);
}

/// <summary>dx = dout where x &gt; 0, else alpha·dout.</summary>
internal readonly struct LeakyBackwardOp<T> : ITernaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x, T dout, T alpha) => x > T.Zero ? dout : alpha * dout;
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> dout, Vector512<T> alpha) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), dout, alpha * dout);
    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> dout, Vector256<T> alpha) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), dout, alpha * dout);
    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> dout, Vector128<T> alpha) =>
        Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<T>.Zero), dout, alpha * dout);
}
