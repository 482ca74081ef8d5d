using System.Numerics;

namespace Backprop.Kernels;

/// <summary>
/// The textbook's im2col and col2im: every FH×FW window of x (N, C, H, W), with zero padding, as a row of col
/// (N·OH·OW, C·FH·FW), columns in (c, i, j) order (the order of a filter (C, FH, FW) flattened); and back, adding.
/// </summary>
public static class Im2Col
{
    /// <summary>col[(n·OH + oh)·OW + ow, (c·FH + i)·FW + j] = x[n, c, oh·stride − pad + i, ow·stride − pad + j] (0 outside x).</summary>
    public static void Unfold<T>(ReadOnlySpan<T> x, int N, int C, int H, int W, int FH, int FW, int stride, int pad, Span<T> col)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int OH = (H + 2 * pad - FH) / stride + 1, OW = (W + 2 * pad - FW) / stride + 1, K = C * FH * FW;
        if (x.Length < (long)N * C * H * W || col.Length < (long)N * OH * OW * K) throw new ArgumentException("Im2Col: span too small");
        for (int n = 0; n < N; n++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++)
                {
                    var row = col.Slice(((n * OH + oh) * OW + ow) * K, K);
                    int k = 0;
                    for (int c = 0; c < C; c++)
                    {
                        int plane = (n * C + c) * H;
                        for (int i = 0; i < FH; i++)
                        {
                            int h = oh * stride - pad + i;
                            if ((uint)h >= (uint)H)
                            {
                                row.Slice(k, FW).Clear();
                                k += FW;
                                continue;
                            }
                            int w0 = ow * stride - pad, at = (plane + h) * W;
                            for (int j = 0; j < FW; j++, k++)
                            {
                                int w = w0 + j;
                                row[k] = (uint)w < (uint)W ? x[at + w] : T.Zero;
                            }
                        }
                    }
                }
    }

    /// <summary>The adjoint of <see cref="Unfold{T}"/>: dx = 0, then every col entry added onto the pixel it came from.</summary>
    public static void Fold<T>(ReadOnlySpan<T> col, int N, int C, int H, int W, int FH, int FW, int stride, int pad, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int OH = (H + 2 * pad - FH) / stride + 1, OW = (W + 2 * pad - FW) / stride + 1, K = C * FH * FW;
        if (dx.Length < (long)N * C * H * W || col.Length < (long)N * OH * OW * K) throw new ArgumentException("Im2Col: span too small");
        dx[..(N * C * H * W)].Clear();
        for (int n = 0; n < N; n++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++)
                {
                    var row = col.Slice(((n * OH + oh) * OW + ow) * K, K);
                    int k = 0;
                    for (int c = 0; c < C; c++)
                    {
                        int plane = (n * C + c) * H;
                        for (int i = 0; i < FH; i++)
                        {
                            int h = oh * stride - pad + i;
                            if ((uint)h >= (uint)H)
                            {
                                k += FW;
                                continue;
                            }
                            int w0 = ow * stride - pad, at = (plane + h) * W;
                            for (int j = 0; j < FW; j++, k++)
                            {
                                int w = w0 + j;
                                if ((uint)w < (uint)W) dx[at + w] += row[k];
                            }
                        }
                    }
                }
    }
}
