using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// ReLU: y = max(x, 0); dx = dout·[x > 0].
internal static partial class Elementwise
{
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
}

/// <summary>dx = dout where x &gt; 0, else 0.</summary>
internal readonly struct ReluBackwardOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x, T dout) => x > T.Zero ? dout : T.Zero;
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> dout) => Vector512.GreaterThan(x, Vector512<T>.Zero) & dout;
    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> dout) => Vector256.GreaterThan(x, Vector256<T>.Zero) & dout;
    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> dout) => Vector128.GreaterThan(x, Vector128<T>.Zero) & dout;
}

/// <summary>y = x where x &gt; 0, else 0 (NaN stays NaN, −0 becomes +0, as TensorPrimitives.Max(x, 0)); the scalar operand is
/// unused.</summary>
internal readonly struct ReluForwardOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x, T unused) => x <= T.Zero ? T.Zero : x;
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> unused) =>
        Vector512.ConditionalSelect(Vector512.LessThanOrEqual(x, Vector512<T>.Zero), Vector512<T>.Zero, x);
    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> unused) =>
        Vector256.ConditionalSelect(Vector256.LessThanOrEqual(x, Vector256<T>.Zero), Vector256<T>.Zero, x);
    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> unused) =>
        Vector128.ConditionalSelect(Vector128.LessThanOrEqual(x, Vector128<T>.Zero), Vector128<T>.Zero, x);
}
