using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// Sigmoid: y = 1/(1 + e⁻ˣ); dx = dout·y·(1 − y).
internal static partial class Elementwise
{
    /// <summary>y = 1/(1 + e^(−x)); saturates to exactly 0 or 1, never NaN.</summary>
    public static void SigmoidForward<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        Map.Unary<T, SigmoidForwardOp<T>>(x, y);
    }

    /// <summary>dx = dout·y·(1 − y), from the forward output y.</summary>
    public static void SigmoidBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(y.Length, dout.Length, dx.Length);
        Map.Run<T, SigmoidBackwardOp<T>>(y, dout, dx);
    }
}

/// <summary>dx = dout·y·(1 − y).</summary>
internal readonly struct SigmoidBackwardOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T y, T dout) => dout * y * (T.One - y);
    public static Vector512<T> Invoke(Vector512<T> y, Vector512<T> dout) => dout * y * (Vector512<T>.One - y);
    public static Vector256<T> Invoke(Vector256<T> y, Vector256<T> dout) => dout * y * (Vector256<T>.One - y);
    public static Vector128<T> Invoke(Vector128<T> y, Vector128<T> dout) => dout * y * (Vector128<T>.One - y);
}

/// <summary>σ(x) with the 512-bit exponential; TensorPrimitives.Sigmoid where 512-bit vectors are not accelerated.</summary>
internal readonly struct SigmoidForwardOp<T> : IUnaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static bool Vectorized => true;
    public static Vector512<T> Invoke(Vector512<T> x) => VectorMath.Sigmoid(x);
    public static void Fallback(ReadOnlySpan<T> x, Span<T> y) => TensorPrimitives.Sigmoid(x, y);
}
