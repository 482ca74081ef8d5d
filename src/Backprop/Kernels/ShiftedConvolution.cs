using System.Numerics;
using System.Numerics.Tensors;

namespace Backprop.Kernels;

/// <summary>
/// A stride-1 convolution without im2col: the rows of col are shifted views of one zero-padded plane per channel.
/// </summary>
/// <remarks>
/// The samples of a chunk are stacked in one plane per channel with rows of R = W + pad values and V = H + pad rows per
/// sample: x[s, c, h, w] sits at plane_c[(s·V + pad + h)·R + pad + w] and every other cell is zero. Neighbouring rows
/// and samples share their padding (a row's right pad is the next row's left pad), which is why pad may not exceed
/// FH − 1 or FW − 1. Output (s, oh, ow) is column q = (s·V + oh)·R + ow of an extended output, and its window's tap
/// (c, i, j) is plane_c[q + i·R + j]: row (c·FH + i)·FW + j of col is the plane itself from offset c·L + i·R + j. So
/// y = W·col is a product whose B rows are pointers into the planes (<see cref="Gemm.MultiplyRows{T}"/>), dW = dout·colᵀ
/// the same with B transposed, and col2im a sum of shifted rows. The columns between rows (ow ≥ OW) and between samples
/// (oh ≥ OH) are computed and dropped: (V·R)/(OH·OW) of the work, which <see cref="Pays"/> bounds. The gathered products
/// (<see cref="Gemm.MultiplyGathered{T}"/>) compute only the real outputs, the cells listed in <see cref="Pixels"/>.
/// </remarks>
internal sealed class ShiftedConvolution
{
    /// <summary>The most work, as a multiple of the useful products, this form may spend on dropped columns.</summary>
    public const double MaxOverhead = 1.3;

    /// <summary>The fewest taps C·FH·FW for this form, except for float32 on AVX-512: below, the products are bound by
    /// storing their outputs and im2col's copy is cheap (DeepConvNet's first layer, 9 taps, was 10–20 % slower this way
    /// with packed products and 8–22 % slower in float64; in float32 with the unpacked products it is 5–17 % faster; on
    /// AVX-512 it now runs in <see cref="DirectConvolution"/>'s form on these planes).</summary>
    public const int MinTaps = 32;

    public ShiftedConvolution(int C, int H, int W, int FH, int FW, int pad, int maxSamples)
    {
        (this.C, this.H, this.W, this.FH, this.FW, Pad, MaxSamples) = (C, H, W, FH, FW, pad, maxSamples);
        R = W + pad;
        V = H + pad;
        OH = H + 2 * pad - FH + 1;
        OW = W + 2 * pad - FW + 1;
        PlaneLength = ((((long)maxSamples * V + pad) * R) + pad + 15) & ~15L;
        Offsets = new long[C * FH * FW];
        for (int c = 0; c < C; c++)
            for (int i = 0; i < FH; i++)
                for (int j = 0; j < FW; j++) Offsets[(c * FH + i) * FW + j] = c * PlaneLength + i * R + j;
    }

    public int C { get; }
    public int H { get; }
    public int W { get; }
    public int FH { get; }
    public int FW { get; }
    public int Pad { get; }
    public int MaxSamples { get; }
    public int R { get; }
    public int V { get; }
    public int OH { get; }
    public int OW { get; }

    /// <summary>Values per channel plane (for <see cref="MaxSamples"/> samples, in whole 64-byte lines).</summary>
    public long PlaneLength { get; }

    /// <summary>Where col's row (c·FH + i)·FW + j starts in the planes.</summary>
    public long[] Offsets { get; }

    /// <summary>Whether a convolution of this geometry can take this form: stride 1, and padding that rows can share.</summary>
    public static bool Fits(int H, int W, int FH, int FW, int stride, int pad) =>
        stride == 1 && pad <= FH - 1 && pad <= FW - 1 && FH <= H + 2 * pad && FW <= W + 2 * pad;

    /// <summary>Whether it also pays for elements of <paramref name="elementSize"/> bytes: at least <see cref="MinTaps"/>
    /// taps unless float32 products run unpacked, and at most
    /// <see cref="MaxOverhead"/> of the work on dropped columns (measured on DeepConvNet's layers, where the 8×8 ones spend
    /// 1.27 and still gain; SimpleConvNet's 5×5 layer without padding would spend 1.36 and is 12 % slower).</summary>
    public static bool Pays(int C, int H, int W, int FH, int FW, int pad, int elementSize) =>
        ((Gemm.RowStartsDirect && elementSize == 4) || C * FH * FW >= MinTaps)
        && (double)Cells(H, W, pad) <= MaxOverhead * (H + 2 * pad - FH + 1) * (W + 2 * pad - FW + 1);

    /// <summary>Whether this geometry is the one for these sizes.</summary>
    public bool Matches(int c, int h, int w, int fh, int fw, int pad, int maxSamples) =>
        (c, h, w, fh, fw, pad, maxSamples) == (C, H, W, FH, FW, Pad, MaxSamples);

    /// <summary>Cells of the extended output per sample of H×W with this padding (V·R), as the chunk plan counts them.</summary>
    public static int Cells(int H, int W, int pad) => (H + pad) * (W + pad);

    /// <summary>The extended output's columns for <paramref name="samples"/> samples: through the last real output.</summary>
    public int Columns(int samples) => OutputColumn(samples - 1, OH - 1) + OW;

    /// <summary>The extended output column of every real output (s, oh, ow) of <see cref="MaxSamples"/> samples, in order:
    /// the cells a gathered product computes (<see cref="Gemm.MultiplyGathered{T}"/>), and no dropped one.</summary>
    public long[] Pixels => _pixels ??= RealColumns();

    private long[]? _pixels;

    private long[] RealColumns()
    {
        var q = new long[(long)MaxSamples * OH * OW];
        int i = 0;
        for (int s = 0; s < MaxSamples; s++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) q[i++] = OutputColumn(s, oh) + ow;
        return q;
    }

    /// <summary>Where x[0, c, 0, 0] sits in channel c's plane: the zeros before it are the padding.</summary>
    public int Origin => InputCell(0, 0);

    /// <summary>
    /// The geometry of dx's convolution, for square filters (else null): dx is dout, padded by FH − 1 − pad, correlated
    /// with the filters turned by 180° and with channels and filters swapped. Its planes have this geometry's R and V,
    /// so that dout's planes, shifted by their <see cref="Origin"/>, are also this convolution's extended output with
    /// zeros in every dropped column.
    /// </summary>
    public ShiftedConvolution? Adjoint(int filters)
    {
        if (!HasAdjoint(FH, FW)) return null;
        if (_adjoint is null || _adjoint.C != filters)
            _adjoint = new ShiftedConvolution(filters, OH, OW, FH, FW, FH - 1 - Pad, MaxSamples);
        return _adjoint;
    }

    private ShiftedConvolution? _adjoint;

    /// <summary>Whether filters of FH×FW have an <see cref="Adjoint"/>: square ones, since the planes have one padding.</summary>
    public static bool HasAdjoint(int FH, int FW) => FH == FW;

    // Where x[s, c, h, 0] sits in channel c's plane, and the extended output column of y[s, ·, oh, 0].
    private int InputCell(int s, int h) => (s * V + Pad + h) * R + Pad;

    private int OutputColumn(int s, int oh) => (s * V + oh) * R;

    /// <summary>The planes of <paramref name="samples"/> samples x (S, C, H, W): zeros, then every row of x in place.</summary>
    public void Pack<T>(ReadOnlySpan<T> x, int samples, Span<T> planes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        planes[..(int)(C * PlaneLength)].Clear();
        for (int c = 0; c < C; c++)
        {
            var plane = planes.Slice((int)(c * PlaneLength), (int)PlaneLength);
            for (int s = 0; s < samples; s++)
                for (int h = 0; h < H; h++)
                    x.Slice(((s * C + c) * H + h) * W, W).CopyTo(plane[InputCell(s, h)..]);
        }
    }

    /// <summary>y[s, f, oh, ow] = ext[f, (s·V + oh)·R + ow] + b[f]: the real outputs of the extended (FN, columns) product.</summary>
    public void Extract<T>(ReadOnlySpan<T> ext, int columns, int samples, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int FN = b.Length;
        for (int s = 0; s < samples; s++)
            for (int f = 0; f < FN; f++)
            {
                var dst = y.Slice((s * FN + f) * OH * OW, OH * OW);
                for (int oh = 0; oh < OH; oh++)
                    TensorPrimitives.Add(ext.Slice(f * columns + OutputColumn(s, oh), OW), b[f], dst.Slice(oh * OW, OW));
            }
    }

    /// <summary>The inverse placement: ext[f, (s·V + oh)·R + ow] = dout[s, f, oh, ow], and zero in every dropped column, so
    /// that those columns add nothing to dW, db or dx.</summary>
    public void Spread<T>(ReadOnlySpan<T> dout, int samples, int FN, Span<T> ext) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int columns = Columns(samples);
        ext[..(FN * columns)].Clear();
        for (int s = 0; s < samples; s++)
            for (int f = 0; f < FN; f++)
            {
                var src = dout.Slice((s * FN + f) * OH * OW, OH * OW);
                for (int oh = 0; oh < OH; oh++) src.Slice(oh * OW, OW).CopyTo(ext[(f * columns + OutputColumn(s, oh))..]);
            }
    }

    /// <summary>
    /// col2im of the extended dcol (C·FH·FW, columns): every tap's row added onto the planes at its offset, taps in order
    /// (c, i, j), from zero, then dx (S, C, H, W) read out of the planes. Each pixel's sum runs over its taps in the same
    /// order on any number of threads.
    /// </summary>
    public void Fold<T>(ReadOnlySpan<T> dcol, int samples, Span<T> planes, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int columns = Columns(samples);
        planes[..(int)(C * PlaneLength)].Clear();
        for (int k = 0; k < Offsets.Length; k++)
        {
            var dst = planes.Slice((int)Offsets[k], columns);
            TensorPrimitives.Add(dst, dcol.Slice(k * columns, columns), dst);
        }
        for (int c = 0; c < C; c++)
        {
            var plane = planes.Slice((int)(c * PlaneLength), (int)PlaneLength);
            for (int s = 0; s < samples; s++)
                for (int h = 0; h < H; h++)
                    plane.Slice(InputCell(s, h), W).CopyTo(dx.Slice(((s * C + c) * H + h) * W, W));
        }
    }
}
