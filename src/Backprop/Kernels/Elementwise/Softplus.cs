using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// Softplus as PyTorch defines it.
internal static partial class Elementwise
{
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
    public static void SoftplusBackward<T>(ReadOnlySpan<T> x, T beta, T threshold, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        for (int i = 0; i < x.Length; i++)
        {
            T bx = beta * x[i];
            dx[i] = bx > threshold ? dout[i] : dout[i] * Sigmoid(bx);
        }
    }
}
