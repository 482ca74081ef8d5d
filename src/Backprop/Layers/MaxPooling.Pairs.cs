using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Backprop.Kernels;

namespace Backprop.Layers;

// 2×2 windows with stride 2 and no padding (every pooling layer of SimpleConvNet and DeepConvNet), float32 on AVX-512.
// A window's row is a pair of neighbours, so sixteen windows come from two vectors of each of their two input rows,
// split into even and odd columns; no gathers. The four cells are compared in the window's row-major order with strict
// >, as the plain loop does, so the maxima and the winners are the same. The winner is kept as one byte per window (its
// cell 0–3 in row-major order) instead of an index into x: a quarter of the memory traffic. Backward writes every cell
// of dx once: the window's dout at the winner, zero elsewhere, interleaved back into rows, and zeros in the rows and the
// column that no window covers (H or W odd).
public sealed partial class MaxPooling<T>
{
    private byte[] _winners = [];

    private bool Pairs => PoolH == 2 && PoolW == 2 && Stride == 2 && Pad == 0 && typeof(T) == typeof(float) && Avx512F.IsSupported;

    private static readonly Vector512<int> Even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    private static readonly Vector512<int> Low = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    private static readonly Vector512<int> High = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);

    private static unsafe void PoolPairs(float* x, float* y, byte* winners, int nc0, int nc1, int H, int W, int OH, int OW)
    {
        var odd = Even + Vector512<int>.One;
        for (int nc = nc0; nc < nc1; nc++)
            for (int oh = 0; oh < OH; oh++)
            {
                float* a = x + (long)(nc * H + 2 * oh) * W, b = a + W;
                long o = ((long)nc * OH + oh) * OW;
                for (int ow = 0; ow < OW; ow += 16)
                {
                    int n = Math.Min(16, OW - ow), c = 2 * ow;
                    Vector512<float> a0, a1, b0, b1;
                    if (n == 16)
                    {
                        (a0, a1) = (Vector512.Load(a + c), Vector512.Load(a + c + 16));
                        (b0, b1) = (Vector512.Load(b + c), Vector512.Load(b + c + 16));
                    }
                    else
                    {
                        // The last windows of the row: their 2n cells, never past the row (2·OW ≤ W).
                        var (m0, m1) = CellMasks(n);
                        (a0, a1) = (Simd.MaskLoad(a + c, m0), Simd.MaskLoad(a + c + 16, m1));
                        (b0, b1) = (Simd.MaskLoad(b + c, m0), Simd.MaskLoad(b + c + 16, m1));
                    }
                    var best = Avx512F.PermuteVar16x32x2(a0, Even, a1);
                    var at = Vector512<int>.Zero;
                    Take(Avx512F.PermuteVar16x32x2(a0, odd, a1), 1, ref best, ref at);
                    Take(Avx512F.PermuteVar16x32x2(b0, Even, b1), 2, ref best, ref at);
                    Take(Avx512F.PermuteVar16x32x2(b0, odd, b1), 3, ref best, ref at);
                    var cells = Avx512F.ConvertToVector128Byte(at);
                    if (n == 16)
                    {
                        best.Store(y + o + ow);
                        cells.Store(winners + o + ow);
                        continue;
                    }
                    Simd.MaskStore(y + o + ow, Simd.FirstLanes<float>(n), best);
                    Unsafe.CopyBlockUnaligned(winners + o + ow, &cells, (uint)n);
                }
            }
    }

    // The next cell of the windows takes over where it is strictly larger (a NaN never does; a NaN kept stays).
    private static void Take(Vector512<float> v, int cell, ref Vector512<float> best, ref Vector512<int> at)
    {
        var gt = Vector512.GreaterThan(v, best);
        best = Vector512.ConditionalSelect(gt, v, best);
        at = Vector512.ConditionalSelect(gt.AsInt32(), Vector512.Create(cell), at);
    }

    private static unsafe void UnpoolPairs(float* dout, float* dx, byte* winners, int nc0, int nc1, int H, int W, int OH, int OW)
    {
        for (int nc = nc0; nc < nc1; nc++)
        {
            for (int oh = 0; oh < OH; oh++)
            {
                float* a = dx + (long)(nc * H + 2 * oh) * W, b = a + W;
                long o = ((long)nc * OH + oh) * OW;
                for (int ow = 0; ow < OW; ow += 16)
                {
                    int n = Math.Min(16, OW - ow), c = 2 * ow;
                    // The winners' buffer has a vector to spare at its end; lanes past the row are never stored.
                    var d = n == 16 ? Vector512.Load(dout + o + ow) : Simd.MaskLoad(dout + o + ow, Simd.FirstLanes<float>(n));
                    var at = Avx512F.ConvertToVector512Int32(Vector128.Load(winners + o + ow));
                    var aE = Where(at, 0, d);
                    var aO = Where(at, 1, d);
                    var bE = Where(at, 2, d);
                    var bO = Where(at, 3, d);
                    var a0 = Avx512F.PermuteVar16x32x2(aE, Low, aO);
                    var a1 = Avx512F.PermuteVar16x32x2(aE, High, aO);
                    var b0 = Avx512F.PermuteVar16x32x2(bE, Low, bO);
                    var b1 = Avx512F.PermuteVar16x32x2(bE, High, bO);
                    if (n == 16)
                    {
                        a0.Store(a + c); a1.Store(a + c + 16); b0.Store(b + c); b1.Store(b + c + 16);
                        continue;
                    }
                    var (m0, m1) = CellMasks(n);
                    Simd.MaskStore(a + c, m0, a0); Simd.MaskStore(a + c + 16, m1, a1);
                    Simd.MaskStore(b + c, m0, b0); Simd.MaskStore(b + c + 16, m1, b1);
                }
                if (2 * OW < W)
                {
                    new Span<float>(a + 2 * OW, W - 2 * OW).Clear();
                    new Span<float>(b + 2 * OW, W - 2 * OW).Clear();
                }
            }
            if (2 * OH < H) new Span<float>(dx + ((long)nc * H + 2 * OH) * W, (H - 2 * OH) * W).Clear();
        }
    }

    // The lanes of a row's last n < 16 windows' 2n cells, over the two vectors of the row that hold them.
    private static (Vector512<float>, Vector512<float>) CellMasks(int n) =>
        (Simd.FirstLanes<float>(Math.Min(2 * n, 16)), Simd.FirstLanes<float>(Math.Max(2 * n - 16, 0)));

    private static Vector512<float> Where(Vector512<int> at, int cell, Vector512<float> d) =>
        Vector512.ConditionalSelect(Vector512.Equals(at, Vector512.Create(cell)).AsSingle(), d, Vector512<float>.Zero);
}
