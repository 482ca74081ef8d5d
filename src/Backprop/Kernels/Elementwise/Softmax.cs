using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// A stable row softmax, and σ(x) for one scalar.
internal static partial class Elementwise
{
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
}
