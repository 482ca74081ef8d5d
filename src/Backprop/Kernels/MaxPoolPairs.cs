using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

// 2×2 windows with stride 2 and no padding (every pooling layer of SimpleConvNet and DeepConvNet), float32 on AVX-512.
// A window's row is a pair of neighbours, so sixteen windows come from two vectors of each of their two input rows,
// split into even and odd columns; no gathers. The four cells are compared in the window's row-major order with strict
// >, as the plain loop does, so the maxima and the winners are the same. The winner is kept as one byte per window (its
// cell 0–3 in row-major order) instead of an index into x: a quarter of the memory traffic. Backward writes every cell
// of dx once: the window's dout at the winner, zero elsewhere, interleaved back into rows, and zeros in the rows and the
// column that no window covers (H or W odd).
internal static class MaxPoolPairs
{
    /// <summary>Where the kernels run: float32 on AVX-512 (BW, VL).</summary>
    public static bool Available => Avx512BW.VL.IsSupported;

    private static readonly Vector512<int> Even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    private static readonly Vector512<int> Low = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    private static readonly Vector512<int> High = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);

    // Rows of 8 or 4 windows fill a vector two or four rows at a time (DeepConvNet's 16×16 and 8×8 inputs), and four rows
    // of 12 fill three (SimpleConvNet's 24×24); rows of other lengths below 16 (DeepConvNet's 14) take one masked vector
    // each. Rows are numbered across the planes, R = nc·OH + oh, so the outputs and winners of a group are contiguous even
    // where it spans two planes.
    private static int RowsPerVector(int OW) => OW == 8 ? 2 : OW == 4 ? 4 : OW == 12 ? 3 : 1;

    // Where the top row of the windows of row R starts in x (its bottom row follows W later).
    private static long Top(long R, int H, int W, int OH) => (R / OH * H + 2 * (R % OH)) * W;

    // Row R + 1's top row from row R's (oh = R mod OH): two rows down, and past the row left over at a plane's end (H odd).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Next(long top, ref int oh, int H, int W, int OH)
    {
        if (++oh < OH) return top + 2 * W;
        oh = 0;
        return top + (2 + H - 2 * OH) * W;
    }

    // The top rows of rows R to R + 3 in p's planes (p + their offsets from top on), and top moved on to row R + 4's.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Four(float* p, ref long top, ref int oh, int H, int W, int OH, out float* a, out float* b, out float* c,
        out float* d)
    {
        a = p + top;
        b = p + (top = Next(top, ref oh, H, W, OH));
        c = p + (top = Next(top, ref oh, H, W, OH));
        d = p + (top = Next(top, ref oh, H, W, OH));
        top = Next(top, ref oh, H, W, OH);
    }

    public static unsafe void Pool(float* x, float* y, byte* winners, int nc0, int nc1, int H, int W, int OH, int OW)
    {
        long R = (long)nc0 * OH, R1 = (long)nc1 * OH, top = Top(R, H, W, OH);
        int g = RowsPerVector(OW), oh = 0;
        if (g == 2)
            for (; R + 2 <= R1; R += 2)
            {
                float* a = x + top, c = x + (top = Next(top, ref oh, H, W, OH));
                top = Next(top, ref oh, H, W, OH);
                Windows(Vector512.Load(a), Vector512.Load(c), Vector512.Load(a + W), Vector512.Load(c + W), y + R * OW, winners + R * OW);
            }
        else if (g == 4)
            for (; R + 4 <= R1; R += 4)
            {
                Four(x, ref top, ref oh, H, W, OH, out float* a, out float* b, out float* c, out float* d);
                Windows(Vector512.Create(Vector256.Load(a), Vector256.Load(b)), Vector512.Create(Vector256.Load(c), Vector256.Load(d)),
                    Vector512.Create(Vector256.Load(a + W), Vector256.Load(b + W)),
                    Vector512.Create(Vector256.Load(c + W), Vector256.Load(d + W)), y + R * OW, winners + R * OW);
            }
        else if (g == 3)
            for (; R + 4 <= R1; R += 4)
            {
                // Windows 0–15: row R's twelve and R + 1's first four; 16–31: R + 1's last eight and R + 2's first eight;
                // 32–47: R + 2's last four and R + 3's twelve. Each row's 24 cells, never past them.
                Four(x, ref top, ref oh, H, W, OH, out float* a, out float* b, out float* c, out float* d);
                float* yr = y + R * 12;
                byte* wr = winners + R * 12;
                Windows(Vector512.Load(a), Vector512.Create(Vector256.Load(a + 16), Vector256.Load(b)), Vector512.Load(a + W),
                    Vector512.Create(Vector256.Load(a + W + 16), Vector256.Load(b + W)), yr, wr);
                Windows(Vector512.Load(b + 8), Vector512.Load(c), Vector512.Load(b + W + 8), Vector512.Load(c + W), yr + 16, wr + 16);
                Windows(Vector512.Create(Vector256.Load(c + 16), Vector256.Load(d)), Vector512.Load(d + 8),
                    Vector512.Create(Vector256.Load(c + W + 16), Vector256.Load(d + W)), Vector512.Load(d + W + 8), yr + 32, wr + 32);
            }
        // The rest one row at a time: whole vectors of 16 windows, then the row's last n < 16 under masks fixed per call.
        int n = OW % 16;
        var (m0, m1) = CellMasks(n);
        var keep = Simd.FirstLanes<float>(n);
        var keepBytes = Vector128.LessThan(Vector128<byte>.Indices, Vector128.Create((byte)n));
        for (; R < R1; R++, top = Next(top, ref oh, H, W, OH))
        {
            float* a = x + top, b = a + W;
            float* yr = y + R * OW;
            byte* wr = winners + R * OW;
            int ow = 0;
            for (; ow + 16 <= OW; ow += 16)
                Windows(Vector512.Load(a + 2 * ow), Vector512.Load(a + 2 * ow + 16), Vector512.Load(b + 2 * ow),
                    Vector512.Load(b + 2 * ow + 16), yr + ow, wr + ow);
            if (n == 0) continue;
            // The last windows of the row: their 2n cells, never past the row (2·OW ≤ W).
            var (best, cells) = Windows(Simd.MaskLoad(a + 2 * ow, m0), Simd.MaskLoad(a + 2 * ow + 16, m1), Simd.MaskLoad(b + 2 * ow, m0),
                Simd.MaskLoad(b + 2 * ow + 16, m1));
            Simd.MaskStore(yr + ow, keep, best);
            Avx512BW.VL.MaskStore(wr + ow, keepBytes, cells);
        }
    }

    // Sixteen windows from their top rows' cells (a0, a1: 32 values, pairs of neighbours) and their bottom rows' (b0, b1):
    // the maxima and the winners' cells 0–3, stored whole.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Windows(Vector512<float> a0, Vector512<float> a1, Vector512<float> b0, Vector512<float> b1, float* y,
        byte* winners)
    {
        var (best, cells) = Windows(a0, a1, b0, b1);
        best.Store(y);
        cells.Store(winners);
    }

    // The four cells compared in the window's row-major order with strict >, as the plain loop does.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> Best, Vector128<byte> Cells) Windows(Vector512<float> a0, Vector512<float> a1, Vector512<float> b0,
        Vector512<float> b1)
    {
        var odd = Even + Vector512<int>.One;
        var best = Avx512F.PermuteVar16x32x2(a0, Even, a1);
        var at = Vector512<int>.Zero;
        Take(Avx512F.PermuteVar16x32x2(a0, odd, a1), 1, ref best, ref at);
        Take(Avx512F.PermuteVar16x32x2(b0, Even, b1), 2, ref best, ref at);
        Take(Avx512F.PermuteVar16x32x2(b0, odd, b1), 3, ref best, ref at);
        return (best, Avx512F.ConvertToVector128Byte(at));
    }

    // The next cell of the windows takes over where it is strictly larger (a NaN never does; a NaN kept stays).
    private static void Take(Vector512<float> v, int cell, ref Vector512<float> best, ref Vector512<int> at)
    {
        var gt = Vector512.GreaterThan(v, best);
        best = Vector512.ConditionalSelect(gt, v, best);
        at = Vector512.ConditionalSelect(gt.AsInt32(), Vector512.Create(cell), at);
    }

    public static unsafe void Unpool(float* dout, float* dx, byte* winners, int nc0, int nc1, int H, int W, int OH, int OW)
    {
        long R = (long)nc0 * OH, R1 = (long)nc1 * OH, top = Top(R, H, W, OH);
        int g = RowsPerVector(OW), oh = 0;
        if (2 * OW < W || 2 * OH < H) Edges(dx + top, nc1 - nc0, H, W, OH, OW);
        if (g == 2)
            for (; R + 2 <= R1; R += 2)
            {
                float* a = dx + top, c = dx + (top = Next(top, ref oh, H, W, OH));
                top = Next(top, ref oh, H, W, OH);
                var (a0, a1, b0, b1) = Cells(Vector512.Load(dout + R * OW), winners + R * OW);
                a0.Store(a); a1.Store(c); b0.Store(a + W); b1.Store(c + W);
            }
        else if (g == 4)
            for (; R + 4 <= R1; R += 4)
            {
                Four(dx, ref top, ref oh, H, W, OH, out float* a, out float* b, out float* c, out float* d);
                var (a0, a1, b0, b1) = Cells(Vector512.Load(dout + R * OW), winners + R * OW);
                a0.GetLower().Store(a); a0.GetUpper().Store(b); a1.GetLower().Store(c); a1.GetUpper().Store(d);
                b0.GetLower().Store(a + W); b0.GetUpper().Store(b + W); b1.GetLower().Store(c + W); b1.GetUpper().Store(d + W);
            }
        else if (g == 3)
            for (; R + 4 <= R1; R += 4)
            {
                // The cells of Pool's three vectors of four rows of 12 windows, back where they came from.
                Four(dx, ref top, ref oh, H, W, OH, out float* a, out float* b, out float* c, out float* d);
                float* dr = dout + R * 12;
                byte* wr = winners + R * 12;
                var (a0, a1, b0, b1) = Cells(Vector512.Load(dr), wr);
                a0.Store(a); a1.GetLower().Store(a + 16); a1.GetUpper().Store(b);
                b0.Store(a + W); b1.GetLower().Store(a + W + 16); b1.GetUpper().Store(b + W);
                (a0, a1, b0, b1) = Cells(Vector512.Load(dr + 16), wr + 16);
                a0.Store(b + 8); a1.Store(c); b0.Store(b + W + 8); b1.Store(c + W);
                (a0, a1, b0, b1) = Cells(Vector512.Load(dr + 32), wr + 32);
                a0.GetLower().Store(c + 16); a0.GetUpper().Store(d); a1.Store(d + 8);
                b0.GetLower().Store(c + W + 16); b0.GetUpper().Store(d + W); b1.Store(d + W + 8);
            }
        int n = OW % 16;
        var (m0, m1) = CellMasks(n);
        var keep = Simd.FirstLanes<float>(n);
        for (; R < R1; R++, top = Next(top, ref oh, H, W, OH))
        {
            float* a = dx + top, b = a + W;
            float* dr = dout + R * OW;
            byte* wr = winners + R * OW;
            int ow = 0;
            for (; ow + 16 <= OW; ow += 16)
            {
                var (a0, a1, b0, b1) = Cells(Vector512.Load(dr + ow), wr + ow);
                a0.Store(a + 2 * ow); a1.Store(a + 2 * ow + 16); b0.Store(b + 2 * ow); b1.Store(b + 2 * ow + 16);
            }
            if (n > 0)
            {
                // The winners' buffer has a vector to spare at its end; lanes past the row are never stored.
                var (a0, a1, b0, b1) = Cells(Simd.MaskLoad(dr + ow, keep), wr + ow);
                Simd.MaskStore(a + 2 * ow, m0, a0); Simd.MaskStore(a + 2 * ow + 16, m1, a1);
                Simd.MaskStore(b + 2 * ow, m0, b0); Simd.MaskStore(b + 2 * ow + 16, m1, b1);
            }
        }
    }

    // Each window's dout at its winner's cell and zero at the other three, for sixteen windows: their top rows' cells
    // (a0, a1: 32 values in pairs of neighbours) and their bottom rows' (b0, b1).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector512<float>, Vector512<float>, Vector512<float>, Vector512<float>) Cells(Vector512<float> d, byte* winners)
    {
        var at = Avx512F.ConvertToVector512Int32(Vector128.Load(winners));
        var aE = Where(at, 0, d);
        var aO = Where(at, 1, d);
        var bE = Where(at, 2, d);
        var bO = Where(at, 3, d);
        return (Avx512F.PermuteVar16x32x2(aE, Low, aO), Avx512F.PermuteVar16x32x2(aE, High, aO), Avx512F.PermuteVar16x32x2(bE, Low, bO),
            Avx512F.PermuteVar16x32x2(bE, High, bO));
    }

    // Zeros in dx where no window reaches, in the planes from dx on: the column right of every row (W odd) and each
    // plane's last row (H odd).
    private static unsafe void Edges(float* dx, int planes, int H, int W, int OH, int OW)
    {
        for (int p = 0; p < planes; p++, dx += (long)H * W)
        {
            if (2 * OW < W)
                for (int h = 0; h < 2 * OH; h++) new Span<float>(dx + (long)h * W + 2 * OW, W - 2 * OW).Clear();
            if (2 * OH < H) new Span<float>(dx + 2L * OH * W, (H - 2 * OH) * W).Clear();
        }
    }

    // The lanes of a row's last n < 16 windows' 2n cells, over the two vectors of the row that hold them.
    private static (Vector512<float>, Vector512<float>) CellMasks(int n) =>
        (Simd.FirstLanes<float>(Math.Min(2 * n, 16)), Simd.FirstLanes<float>(Math.Max(2 * n - 16, 0)));

    private static Vector512<float> Where(Vector512<int> at, int cell, Vector512<float> d) =>
        Vector512.ConditionalSelect(Vector512.Equals(at, Vector512.Create(cell)).AsSingle(), d, Vector512<float>.Zero);
}
