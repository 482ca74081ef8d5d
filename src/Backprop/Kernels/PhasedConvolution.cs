using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>
/// A strided convolution without im2col: the zero-padded input split into its stride² phases, whose rows of col are
/// shifted views, as the stride-1 shifted form's are of the padded planes.
/// </summary>
/// <remarks>
/// With stride s, phase (a, b) of channel c holds the padded input's cells (s·r + a, s·q + b): xp[s·r + a, s·q + b] =
/// x[s·r + a − pad, s·q + b − pad], zero outside x. Output (oh, ow)'s tap (i, j) reads xp[s·oh + i, s·ow + j], which is
/// phase (i mod s, j mod s) at (oh + ⌊i/s⌋, ow + ⌊j/s⌋). Each sample's phase planes have V = OH + ⌊(FH − 1)/s⌋ rows of
/// R = OW + ⌊(FW − 1)/s⌋ cells, the samples of a chunk one after the other; output (n, oh, ow) is column
/// q = (n·V + oh)·R + ow of an extended output, and row (c·FH + i)·FW + j of col is the plane of (c, i mod s, j mod s)
/// from offset ⌊i/s⌋·R + ⌊j/s⌋. So y = W·col is a product over row starts, and dW = dout·colᵀ the same with B transposed.
/// dx needs no col2im: cell (r, q) of phase (a, b) takes the taps (a + s·u, b + s·v) of the outputs (r − u, q − v), so
/// that phase's gradient is a stride-1 convolution of dout with those taps turned, over dout's planes laid out as the
/// phases' (V rows of R cells a sample, its values ⌊(FH − 1)/s⌋ rows and ⌊(FW − 1)/s⌋ cells in, the zeros around them
/// shared between rows and samples): one product over row starts per phase, whose extended output is that phase's
/// planes; the pixels of dx then take their phases' cells. The columns with oh ≥ OH or
/// ow ≥ OW are computed and dropped: (V·R)/(OH·OW) of the work (1.15 for 28×28 → 14×14 with 3×3 filters, 1.31 for
/// 14×14 → 7×7), against im2col's copy of every tap.
/// </remarks>
internal sealed class PhasedConvolution
{
    public PhasedConvolution(int C, int H, int W, int FN, int FH, int FW, int stride, int pad, int maxSamples)
    {
        (this.C, this.H, this.W, this.FN, this.FH, this.FW) = (C, H, W, FN, FH, FW);
        (Stride, Pad, MaxSamples) = (stride, pad, maxSamples);
        OH = Im2Col.OutputSize(H, FH, stride, pad);
        OW = Im2Col.OutputSize(W, FW, stride, pad);
        V = OH + (FH - 1) / stride;
        R = OW + (FW - 1) / stride;
        // The dropped columns of the last sample read up to ⌊(FH − 1)/s⌋ rows and ⌊(FW − 1)/s⌋ cells past its planes.
        PlaneLength = ((long)maxSamples * V * R + (long)(FH - 1) / stride * R + (FW - 1) / stride + 15) & ~15L;
        Offsets = new long[C * FH * FW];
        Used = new bool[stride * stride];
        for (int c = 0; c < C; c++)
            for (int i = 0; i < FH; i++)
                for (int j = 0; j < FW; j++)
                {
                    int phase = i % stride * stride + j % stride;
                    Used[phase] = true;
                    Offsets[(c * FH + i) * FW + j] = (c * stride * stride + phase) * PlaneLength + i / stride * R + j / stride;
                }
        // dx's phase (a, b) sums the taps (a + s·u, b + s·v) of every filter over dout's planes, rows (f, u, v).
        GradientOrigin = (long)(FH - 1) / stride * R + (FW - 1) / stride;
        GradientOffsets = new long[stride * stride][];
        GradientFilterStarts = new int[stride * stride];
        for (int phase = 0, start = 0; phase < stride * stride; phase++)
        {
            var (tu, tv) = Taps(phase);
            var offsets = GradientOffsets[phase] = new long[FN * tu * tv];
            for (int f = 0; f < FN; f++)
                for (int u = 0; u < tu; u++)
                    for (int v = 0; v < tv; v++)
                        offsets[(f * tu + u) * tv + v] = f * PlaneLength + GradientOrigin - (long)u * R - v;
            GradientFilterStarts[phase] = start;
            start += C * offsets.Length;
        }
    }

    // The taps of phase (a, b) in each direction: the u with a + s·u < FH and the v with b + s·v < FW.
    private (int U, int V) Taps(int phase)
    {
        int a = phase / Stride, b = phase % Stride;
        return (a < FH ? (FH - a + Stride - 1) / Stride : 0, b < FW ? (FW - b + Stride - 1) / Stride : 0);
    }

    /// <summary>The cells V·R of one sample's phase plane, for the plan to size and bound (long: any shape; long.MaxValue
    /// where there is no output).</summary>
    public static long SampleCells(int H, int W, int FH, int FW, int stride, int pad)
    {
        long oh = ((long)H + 2L * pad - FH) / stride + 1, ow = ((long)W + 2L * pad - FW) / stride + 1;
        return oh < 1 || ow < 1 ? long.MaxValue : (oh + (FH - 1) / stride) * (ow + (FW - 1) / stride);
    }

    public int C { get; }
    public int H { get; }
    public int W { get; }
    public int FN { get; }
    public int FH { get; }
    public int FW { get; }
    public int Stride { get; }
    public int Pad { get; }
    public int MaxSamples { get; }
    public int OH { get; }
    public int OW { get; }
    public int V { get; }
    public int R { get; }

    /// <summary>Values per phase plane (for <see cref="MaxSamples"/> samples, in whole 64-byte lines).</summary>
    public long PlaneLength { get; }

    /// <summary>Where col's row (c·FH + i)·FW + j starts in the planes.</summary>
    public long[] Offsets { get; }

    /// <summary>Where dout's extended form (FN, columns) starts in its planes: ⌊(FH − 1)/s⌋ rows and ⌊(FW − 1)/s⌋ cells
    /// in, past the zeros that dx's product reads above and left of each sample.</summary>
    public long GradientOrigin { get; }

    /// <summary>For each phase, where the rows (f, u, v) of dx's product start in dout's planes (empty for a phase no tap
    /// reads): the plane of f, <see cref="GradientOrigin"/> − u·R − v.</summary>
    public long[][] GradientOffsets { get; }

    /// <summary>Where each phase's filters (C, FN·taps) start in <see cref="GradientFilters{T}"/>'s output.</summary>
    public int[] GradientFilterStarts { get; }

    /// <summary>The phases some tap reads (a 1×1 filter of stride 2 reads one of four).</summary>
    public bool[] Used { get; }

    /// <summary>The values of the phase planes of every channel.</summary>
    public long Length => (long)C * Stride * Stride * PlaneLength;

    /// <summary>The extended output's columns for a chunk of <paramref name="samples"/>.</summary>
    public int Columns(int samples) => samples * V * R;

    public bool Matches(int c, int h, int w, int fn, int fh, int fw, int stride, int pad, int maxSamples) =>
        (c, h, w, fn, fh, fw, stride, pad, maxSamples) == (C, H, W, FN, FH, FW, Stride, Pad, MaxSamples);

    /// <summary>The phase planes of <paramref name="samples"/> samples of x (N, C, H, W) into <paramref name="planes"/>
    /// (<see cref="Length"/> values; every cell of a phase some tap reads written, the padding as zeros).</summary>
    public unsafe void Pack<T>(ReadOnlySpan<T> x, int samples, Span<T> planes) where T : unmanaged, INumber<T>
    {
        int s = Stride;
        if ((long)samples * C * H * W > x.Length || Length > planes.Length) throw new ArgumentException("buffers too short");
        if (Pairs<T>())
        {
            PackPairs(x, samples, planes);
            return;
        }
        fixed (T* px = x, pp = planes)
            for (int c = 0; c < C; c++)
                for (int phase = 0; phase < s * s; phase++)
                {
                    if (!Used[phase]) continue;   // no tap reads it
                    int a = phase / s, b = phase % s;
                    var (lo, hi) = Cells(b);
                    int w0 = lo * s + b - Pad;
                    T* plane = pp + (c * s * s + phase) * PlaneLength;
                    // Rows are short (R cells): the loops work on pointers, the padding cells one by one.
                    for (int n = 0; n < samples; n++)
                    {
                        T* image = px + (long)(n * C + c) * H * W;
                        for (int r = 0; r < V; r++)
                        {
                            T* row = plane + (long)(n * V + r) * R;
                            int h = s * r + a - Pad;
                            if ((uint)h >= (uint)H)
                            {
                                for (int q = 0; q < R; q++) row[q] = T.Zero;
                                continue;
                            }
                            for (int q = 0; q < lo; q++) row[q] = T.Zero;
                            T* from = image + (long)h * W + w0;
                            for (int q = lo; q < hi; q++, from += s) row[q] = *from;
                            for (int q = hi; q < R; q++) row[q] = T.Zero;
                        }
                    }
                    new Span<T>(plane + (long)samples * V * R, (int)(PlaneLength - (long)samples * V * R)).Clear();
                }
    }

    // The cells [lo, hi) of a phase-b row that hold pixels of x (the others are padding): w = s·q + b − pad in [0, W), so
    // q from ⌈(pad − b)/s⌉ to ⌊(W − 1 + pad − b)/s⌋ (none where W − 1 + pad − b < 0: C#'s division rounds toward zero).
    private (int Lo, int Hi) Cells(int b)
    {
        int first = Pad - b, last = W - 1 + Pad - b;
        int lo = Math.Min(R, first <= 0 ? 0 : (first + Stride - 1) / Stride);
        int hi = last < 0 ? 0 : Math.Min(R, last / Stride + 1);
        return (lo, Math.Max(lo, hi));
    }

    /// <summary>y (N, FN, OH, OW) of a chunk from the extended output o (FN, columns), plus the bias.</summary>
    public void Extract<T>(ReadOnlySpan<T> o, int samples, ReadOnlySpan<T> bias, Span<T> y) where T : unmanaged, INumber<T>
    {
        int FN = bias.Length, columns = Columns(samples);
        for (int n = 0; n < samples; n++)
            for (int f = 0; f < FN; f++)
                for (int oh = 0; oh < OH; oh++)
                    TensorPrimitives.Add(o.Slice(f * columns + (n * V + oh) * R, OW), bias[f],
                        y.Slice(((n * FN + f) * OH + oh) * OW, OW));
    }

    /// <summary>For each phase, the filters of its taps as dx's product reads them: filters[start + c·K + (f·TU + u)·TV + v] =
    /// w[f, c, a + s·u, b + s·v], the phase having TU taps down and TV across and K = FN·TU·TV, from the phase's
    /// <see cref="GradientFilterStarts"/> (C·FN·FH·FW values in all).</summary>
    public void GradientFilters<T>(ReadOnlySpan<T> w, Span<T> filters) where T : unmanaged, INumber<T>
    {
        int s = Stride;
        for (int phase = 0; phase < s * s; phase++)
        {
            var (tu, tv) = Taps(phase);
            int a = phase / s, b = phase % s, K = FN * tu * tv, start = GradientFilterStarts[phase];
            for (int c = 0; c < C; c++)
                for (int f = 0; f < FN; f++)
                    for (int u = 0; u < tu; u++)
                        for (int v = 0; v < tv; v++)
                            filters[start + c * K + (f * tu + u) * tv + v] = w[((f * C + c) * FH + a + s * u) * FW + b + s * v];
        }
    }

    /// <summary>dout (N, FN, OH, OW) of a chunk as FN zero-padded planes of <see cref="PlaneLength"/> (each sample's V rows of
    /// R cells, its values from <see cref="GradientOrigin"/>): from the origin, dout's extended form with zeros in the
    /// dropped columns; around it, the zeros dx's product reads.</summary>
    public void PackGradient<T>(ReadOnlySpan<T> dout, int samples, Span<T> d) where T : unmanaged, INumber<T>
    {
        d[..(int)(FN * PlaneLength)].Clear();
        for (int f = 0; f < FN; f++)
            for (int n = 0; n < samples; n++)
                for (int oh = 0; oh < OH; oh++)
                    dout.Slice(((n * FN + f) * OH + oh) * OW, OW)
                        .CopyTo(d.Slice((int)(f * PlaneLength + GradientOrigin) + (n * V + oh) * R, OW));
    }

    /// <summary>dx (N, C, H, W) of a chunk from the phases' gradients (<paramref name="planes"/>, laid out as the phase
    /// planes): every pixel of x takes its phase's cell (zero for a pixel no window reads).</summary>
    public unsafe void ToPixels<T>(ReadOnlySpan<T> planes, int samples, Span<T> dx) where T : unmanaged, INumber<T>
    {
        int s = Stride;
        if ((long)samples * C * H * W > dx.Length || Length > planes.Length) throw new ArgumentException("buffers too short");
        if (Pairs<T>())
        {
            PixelPairs(planes, samples, dx);
            return;
        }
        fixed (T* pp = planes, pd = dx)
            for (int c = 0; c < C; c++)
                for (int h = 0; h < H; h++)
                {
                    int hp = h + Pad, a = hp % s, r = hp / s;
                    for (int b = 0; b < s; b++)
                    {
                        // the pixels w ≡ b − pad (mod s): w = w0, w0 + s, …, at cells q0, q0 + 1, … of phase (a, b)'s row r
                        int w0 = ((b - Pad) % s + s) % s, q0 = (w0 + Pad) / s, phase = a * s + b;
                        int count = w0 < W ? (W - 1 - w0) / s + 1 : 0, inside = r < V && Used[phase] ? Math.Clamp(R - q0, 0, count) : 0;
                        for (int n = 0; n < samples; n++)
                        {
                            T* to = pd + ((long)(n * C + c) * H + h) * W + w0;
                            T* from = pp + (c * s * s + phase) * PlaneLength + (long)(n * V + r) * R + q0;
                            int k = 0;
                            for (; k < inside; k++, to += s) *to = from[k];
                            for (; k < count; k++, to += s) *to = T.Zero;   // pixels no window reads
                        }
                    }
                }
    }

    // Stride 2 on AVX-512: a row of x is its even and its odd pixels, each a row of one phase, unzipped (packing) or zipped
    // (dx) 2W pixels at a time with masked loads and stores, rows being short (14 pixels a phase at 28×28).
    private bool Pairs<T>() where T : unmanaged => Stride == 2 && Avx512F.IsSupported;

    // Pixel w of a row is cell (w + pad)/2 of phase (w + pad) mod 2: the even pixels w = 2k go to phase pad mod 2 from cell
    // ⌊pad/2⌋, the odd ones to the other phase from cell ⌊(pad + 1)/2⌋; of each, only the cells of the row (q < R).
    private (int EvenPhase, int EvenCell, int Evens, int OddCell, int Odds) RowPairs()
    {
        int evenCell = Pad / 2, oddCell = (Pad + 1) / 2;
        return (Pad % 2, evenCell, Math.Clamp(R - evenCell, 0, (W + 1) / 2), oddCell, Math.Clamp(R - oddCell, 0, W / 2));
    }

    // Block j of a row's pairs (2L pixels, L a vector's lanes): the lanes of its two vectors of pixels, of its evens and of
    // its odds. Rows of at most 2L pixels are one block, whose masks the loops hoist.
    private static (Vector512<T> P0, Vector512<T> P1, Vector512<T> E, Vector512<T> O) BlockMasks<T>(int j, int pixels, int evens,
        int odds) where T : unmanaged, INumber<T>
    {
        int L = Vector512<T>.Count, p = pixels - 2 * j * L;
        return (Simd.FirstLanes<T>(p), Simd.FirstLanes<T>(p - L), Simd.FirstLanes<T>(evens - j * L), Simd.FirstLanes<T>(odds - j * L));
    }

    private unsafe void PackPairs<T>(ReadOnlySpan<T> x, int samples, Span<T> planes) where T : unmanaged, INumber<T>
    {
        int L = Vector512<T>.Count, blocks = (W + 2 * L - 1) / (2 * L);
        var (evenPhase, evenCell, evens, oddCell, odds) = RowPairs();
        var (p0, p1, me, mo) = BlockMasks<T>(0, W, evens, odds);
        planes[..(int)Length].Clear();   // the padding (and the phases no tap reads)
        fixed (T* px = x, pp = planes)
            for (int n = 0; n < samples; n++)
                for (int c = 0; c < C; c++)
                    for (int h = 0; h < H; h++)
                    {
                        int a = (h + Pad) % 2, r = (h + Pad) / 2;
                        if (r >= V) break;   // rows no window reads
                        T* from = px + ((long)(n * C + c) * H + h) * W;
                        T* row = pp + (c * 4 + a * 2) * PlaneLength + (long)(n * V + r) * R;
                        T* even = row + evenPhase * PlaneLength + evenCell, odd = row + (1 - evenPhase) * PlaneLength + oddCell;
                        if (blocks == 1) Unzip(from, even, odd, p0, p1, me, mo);
                        else
                            for (int j = 0; j < blocks; j++)
                            {
                                var m = BlockMasks<T>(j, W, evens, odds);
                                Unzip(from + 2 * j * L, even + j * L, odd + j * L, m.P0, m.P1, m.E, m.O);
                            }
                    }
    }

    private unsafe void PixelPairs<T>(ReadOnlySpan<T> planes, int samples, Span<T> dx) where T : unmanaged, INumber<T>
    {
        int L = Vector512<T>.Count, blocks = (W + 2 * L - 1) / (2 * L);
        var (evenPhase, evenCell, evens, oddCell, odds) = RowPairs();
        // Phases no tap reads give their pixels zeros, as rows past the planes do.
        int ne0 = Used[evenPhase] ? evens : 0, no0 = Used[1 - evenPhase] ? odds : 0;
        int ne1 = Used[2 + evenPhase] ? evens : 0, no1 = Used[3 - evenPhase] ? odds : 0;
        var (p0, p1, me0, mo0) = BlockMasks<T>(0, W, ne0, no0);
        var (_, _, me1, mo1) = BlockMasks<T>(0, W, ne1, no1);
        fixed (T* pp = planes, pd = dx)
            for (int n = 0; n < samples; n++)
                for (int c = 0; c < C; c++)
                    for (int h = 0; h < H; h++)
                    {
                        int a = (h + Pad) % 2, r = (h + Pad) / 2;
                        T* to = pd + ((long)(n * C + c) * H + h) * W;
                        if (r >= V)
                        {
                            new Span<T>(to, W).Clear();   // pixels no window reads
                            continue;
                        }
                        T* row = pp + (c * 4 + a * 2) * PlaneLength + (long)(n * V + r) * R;
                        T* even = row + evenPhase * PlaneLength + evenCell, odd = row + (1 - evenPhase) * PlaneLength + oddCell;
                        if (blocks == 1) Zip(even, odd, to, p0, p1, a == 0 ? me0 : me1, a == 0 ? mo0 : mo1);
                        else
                            for (int j = 0; j < blocks; j++)
                            {
                                var m = BlockMasks<T>(j, W, a == 0 ? ne0 : ne1, a == 0 ? no0 : no1);
                                Zip(even + j * L, odd + j * L, to + 2 * j * L, m.P0, m.P1, m.E, m.O);
                            }
                    }
    }

    // 2L pixels (lanes p0, p1) into L evens (lanes e) and L odds (lanes o).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Unzip<T>(T* from, T* even, T* odd, Vector512<T> p0, Vector512<T> p1, Vector512<T> e, Vector512<T> o)
        where T : unmanaged
    {
        var (ev, od) = Simd.Unzip(Simd.MaskLoad(from, p0), Simd.MaskLoad(from + Vector512<T>.Count, p1));
        Simd.MaskStore(even, e, ev);
        Simd.MaskStore(odd, o, od);
    }

    // L evens and L odds (lanes e, o; zeros elsewhere) into 2L pixels (lanes p0, p1).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Zip<T>(T* even, T* odd, T* to, Vector512<T> p0, Vector512<T> p1, Vector512<T> e, Vector512<T> o)
        where T : unmanaged
    {
        var (low, high) = Simd.Zip(Simd.MaskLoad(even, e), Simd.MaskLoad(odd, o));
        Simd.MaskStore(to, p0, low);
        Simd.MaskStore(to + Vector512<T>.Count, p1, high);
    }
}
