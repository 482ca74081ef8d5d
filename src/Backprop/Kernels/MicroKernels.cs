using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

internal static unsafe partial class MicroKernels
{
    /// <summary>
    /// C tile (mr×nr valid of MR×NR, strides rsC/csC) = acc + bias when <paramref name="first"/>, else C + acc (+ bias);
    /// acc = Σ_k a[k·MR + r]·b[k·NR + j]. <paramref name="tile"/> is scratch for partial tiles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<T>(GemmPath path, int kc, T* a, T* b, T* c, int rsC, int csC, T* bias, bool first, int mr, int nr, T* tile)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (path)
        {
            case GemmPath.Vector512:
                // Tiles at the bottom and right edges of C take the kernel of their size (same sums, less work): the
                // last four rows of a 100-row product cost four rows, not twelve.
                if (mr <= 4) Kernel512Rows4(kc, a, b, c, rsC, csC, bias, first, mr, nr, tile);
                else if (nr <= Vector512<T>.Count) Kernel512Cols1(kc, a, b, c, rsC, csC, bias, first, mr, nr, tile);
                else if (mr <= 8) Kernel512Rows8(kc, a, b, c, rsC, csC, bias, first, mr, nr, tile);
                else Kernel512(kc, a, b, c, rsC, csC, bias, first, mr, nr, tile);
                break;
            case GemmPath.Vector256: Kernel256(kc, a, b, c, rsC, csC, bias, first, mr, nr, tile); break;
            default: KernelScalar(kc, a, b, c, rsC, csC, bias, first, mr, nr, tile); break;
        }
    }

    private const int ScalarMR = 4, ScalarNR = 4;

    private static void KernelScalar<T>(int kc, T* a, T* b, T* c, int rsC, int csC, T* bias, bool first, int mr, int nr, T* tile)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < ScalarMR * ScalarNR; i++) tile[i] = T.Zero;
        for (int k = 0; k < kc; k++)
        {
            for (int r = 0; r < ScalarMR; r++)
            {
                T ar = a[r];
                for (int j = 0; j < ScalarNR; j++) tile[r * ScalarNR + j] += ar * b[j];
            }
            a += ScalarMR;
            b += ScalarNR;
        }
        StoreTile(tile, ScalarNR, c, rsC, csC, bias, first, mr, nr);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* cr, Vector512<T> v0, Vector512<T> v1, T* bias, bool first) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector512<T>.Count;
        if (!first)
        {
            v0 += Vector512.Load(cr);
            v1 += Vector512.Load(cr + W);
        }
        if (bias != null)
        {
            v0 += Vector512.Load(bias);
            v1 += Vector512.Load(bias + W);
        }
        Vector512.Store(v0, cr);
        Vector512.Store(v1, cr + W);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* cr, Vector256<T> v0, Vector256<T> v1, T* bias, bool first) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int W = Vector256<T>.Count;
        if (!first)
        {
            v0 += Vector256.Load(cr);
            v1 += Vector256.Load(cr + W);
        }
        if (bias != null)
        {
            v0 += Vector256.Load(bias);
            v1 += Vector256.Load(bias + W);
        }
        Vector256.Store(v0, cr);
        Vector256.Store(v1, cr + W);
    }

    // Same arithmetic as Store, element by element, for partial tiles and transposed C.
    private static void StoreTile<T>(T* tile, int ld, T* c, int rsC, int csC, T* bias, bool first, int mr, int nr)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < mr; r++)
            for (int j = 0; j < nr; j++)
            {
                T* d = c + (long)r * rsC + (long)j * csC;
                T v = tile[r * ld + j];
                if (!first) v = *d + v;
                if (bias != null) v += bias[j];
                *d = v;
            }
    }
}
