using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// ELU: y = x or alpha·(eˣ − 1); dx = dout or dout·(y + alpha).
internal static partial class Elementwise
{
    /// <summary>y = x for x &gt; 0, else alpha·(eˣ − 1).</summary>
    public static void EluForward<T>(ReadOnlySpan<T> x, T alpha, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, y.Length);
        TensorPrimitives.Exp(x, y);                       // eˣ (inf for large x is never selected)
        Map.Run<T, EluForwardOp<T>>(x, y, alpha, y);
    }

    /// <summary>dx = dout for x &gt; 0, else dout·alpha·eˣ, computed from the forward output as dout·(y + alpha).</summary>
    public static void EluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, T alpha, ReadOnlySpan<T> dout, Span<T> dx) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        Check(x.Length, dout.Length, dx.Length);
        Check(x.Length, y.Length);
        Kernels.EluBackward.Run(x, y, dout, alpha, dx);
    }
}

/// <summary>ELU from e = eˣ: y = x where x &gt; 0, else alpha·(e − 1).</summary>
internal readonly struct EluForwardOp<T> : ITernaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x, T e, T alpha) => x > T.Zero ? x : alpha * (e - T.One);
    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> e, Vector512<T> alpha) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), x, alpha * (e - Vector512<T>.One));
    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> e, Vector256<T> alpha) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), x, alpha * (e - Vector256<T>.One));
    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> e, Vector128<T> alpha) =>
        Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<T>.Zero), x, alpha * (e - Vector128<T>.One));
}

/// <summary>ELU backward from x and y: dx = dout where x &gt; 0, else dout·(y + alpha) = dout·alpha·eˣ (alpha is the scalar).</summary>
internal static class EluBackward
{
    public static void Run<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, T alpha, Span<T> dx) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        int i = 0, n = dx.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(alpha);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var d = Vector512.Create(dout.Slice(i, Vector512<T>.Count));
                var r = Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.Create(x.Slice(i, Vector512<T>.Count)),
                    Vector512<T>.Zero),
                    d, d * (Vector512.Create(y.Slice(i, Vector512<T>.Count)) + va));
                r.CopyTo(dx.Slice(i));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(alpha);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var d = Vector256.Create(dout.Slice(i, Vector256<T>.Count));
                Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Create(x.Slice(i, Vector256<T>.Count)), Vector256<T>.Zero),
                    d, d * (Vector256.Create(y.Slice(i, Vector256<T>.Count)) + va)).CopyTo(dx.Slice(i));
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var va = Vector128.Create(alpha);
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
            {
                var d = Vector128.Create(dout.Slice(i, Vector128<T>.Count));
                Vector128.ConditionalSelect(Vector128.GreaterThan(Vector128.Create(x.Slice(i, Vector128<T>.Count)), Vector128<T>.Zero),
                    d, d * (Vector128.Create(y.Slice(i, Vector128<T>.Count)) + va)).CopyTo(dx.Slice(i));
            }
        }
        for (; i < n; i++) dx[i] = x[i] > T.Zero ? dout[i] : dout[i] * (y[i] + alpha);
    }
}
