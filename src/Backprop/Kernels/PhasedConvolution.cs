using System.Numerics;
using System.Numerics.Tensors;

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
/// from offset ⌊i/s⌋·R + ⌊j/s⌋. So y = W·col is a product over row starts, dW = dout·colᵀ the same with B transposed, and
/// col2im a sum of shifted rows into the phases' gradients, which go back to dx's pixels. The columns with oh ≥ OH or
/// ow ≥ OW are computed and dropped: (V·R)/(OH·OW) of the work (1.15 for 28×28 → 14×14 with 3×3 filters, 1.31 for
/// 14×14 → 7×7), against im2col's copy of every tap.
/// </remarks>
internal sealed class PhasedConvolution
{
    public PhasedConvolution(int C, int H, int W, int FH, int FW, int stride, int pad, int maxSamples)
    {
        (this.C, this.H, this.W, this.FH, this.FW, Stride, Pad, MaxSamples) = (C, H, W, FH, FW, stride, pad, maxSamples);
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

    /// <summary>The phases some tap reads (a 1×1 filter of stride 2 reads one of four).</summary>
    public bool[] Used { get; }

    /// <summary>The values of the phase planes of every channel.</summary>
    public long Length => (long)C * Stride * Stride * PlaneLength;

    /// <summary>The extended output's columns for a chunk of <paramref name="samples"/>.</summary>
    public int Columns(int samples) => samples * V * R;

    public bool Matches(int c, int h, int w, int fh, int fw, int stride, int pad, int maxSamples) =>
        (c, h, w, fh, fw, stride, pad, maxSamples) == (C, H, W, FH, FW, Stride, Pad, MaxSamples);

    /// <summary>The phase planes of <paramref name="samples"/> samples of x (N, C, H, W) into <paramref name="planes"/>
    /// (<see cref="Length"/> values; every cell of a phase some tap reads written, the padding as zeros).</summary>
    public unsafe void Pack<T>(ReadOnlySpan<T> x, int samples, Span<T> planes) where T : unmanaged, INumber<T>
    {
        int s = Stride;
        if ((long)samples * C * H * W > x.Length || Length > planes.Length) throw new ArgumentException("buffers too short");
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

    /// <summary>dout (N, FN, OH, OW) of a chunk spread over the extended columns (FN, columns), zero in the dropped ones.</summary>
    public void Spread<T>(ReadOnlySpan<T> dout, int samples, int FN, Span<T> d) where T : unmanaged, INumber<T>
    {
        int columns = Columns(samples);
        d[..(FN * columns)].Clear();
        for (int n = 0; n < samples; n++)
            for (int f = 0; f < FN; f++)
                for (int oh = 0; oh < OH; oh++)
                    dout.Slice(((n * FN + f) * OH + oh) * OW, OW).CopyTo(d.Slice(f * columns + (n * V + oh) * R, OW));
    }

    /// <summary>dx (N, C, H, W) of a chunk from dcol (C·FH·FW, columns): each row added into its phase plane at its offset
    /// (<paramref name="planes"/>, <see cref="Length"/> values, is the scratch for the phases' gradients), then every
    /// pixel of x takes its phase's cell (zero for a pixel no window reads).</summary>
    public unsafe void Fold<T>(ReadOnlySpan<T> dcol, int samples, Span<T> planes, Span<T> dx) where T : unmanaged, INumber<T>
    {
        int s = Stride, columns = Columns(samples);
        for (int c = 0; c < C; c++)
            for (int phase = 0; phase < s * s; phase++)
                if (Used[phase]) planes.Slice((int)((c * s * s + phase) * PlaneLength), (int)PlaneLength).Clear();
        for (int k = 0; k < Offsets.Length; k++)
        {
            var to = planes.Slice((int)Offsets[k], columns);
            TensorPrimitives.Add(to, dcol.Slice(k * columns, columns), to);
        }
        if ((long)samples * C * H * W > dx.Length) throw new ArgumentException("dx too short");
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
}
