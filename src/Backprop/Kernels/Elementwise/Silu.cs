using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// SiLU: y = x·σ(x); dx = dout·σ(x)·(1 + x(1 − σ(x))).
internal static partial class Elementwise
{
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
}

/// <summary>SiLU backward from s = σ(x): dx = dout·s·(1 + x·(1 − s)).</summary>
internal readonly struct SiluBackwardOp<T> : ITernaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x, T s, T dout) => dout * s * (T.One + x * (T.One - s));
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> s, Vector512<T> dout) =>
        dout * s * (Vector512<T>.One + x * (Vector512<T>.One - s));
    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> s, Vector256<T> dout) =>
        dout * s * (Vector256<T>.One + x * (Vector256<T>.One - s));
    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> s, Vector128<T> dout) =>
        dout * s * (Vector128<T>.One + x * (Vector128<T>.One - s));
}
