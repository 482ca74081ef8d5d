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
internal static partial class Elementwise
{
    private const double SqrtTwoOverPi = 0.7978845608028654;
    private const double InvSqrtTwoPi = 0.3989422804014327;
    private const double GeluTanhCoef = 0.044715;

    private static void Check(int n, int m)
    {
        if (n != m) throw new ArgumentException($"Elementwise: spans of {n} and {m} elements");
    }

    private static void Check(int n, int m, int k)
    {
        if (n != m || n != k) throw new ArgumentException($"Elementwise: spans of {n}, {m} and {k} elements");
    }
}
