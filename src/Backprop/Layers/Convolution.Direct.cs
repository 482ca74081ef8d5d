using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

// The direct form of layers with few taps (Kernels/DirectConvolution.cs): y, dW and db computed from the shifted form's
// planes with vectors along output rows, no products, and the ReLU that follows fused into both passes.
public sealed partial class Convolution<T>
{
    /// <summary>null: the direct form wherever it fits; false: never (tests compare the forms).</summary>
    internal bool? ForceDirect { get; set; }

    /// <summary>Whether a pass on <paramref name="x"/> runs in the direct form.</summary>
    internal bool RunsDirect(Tensor<T> x) => IsDirect(x.Dim(1), x.Dim(2), x.Dim(3));

    // Square filters (dx runs through the shifted form's adjoint) of at most DirectConvolution.MaxTaps taps C·FH·FW, where
    // the shifted form fits and 512-bit vectors run; never where the shifted form is forced off.
    private bool IsDirect(int C, int H, int Wd)
    {
        int FH = W.Dim(2), FW = W.Dim(3);
        return ForceDirect != false && ForceShifted != false && DirectConvolution.Available && FH == FW
            && C * FH * FW <= DirectConvolution.MaxTaps && ShiftedConvolution.Fits(H, Wd, FH, FW, Stride, Pad);
    }

    // The chunk's planes, then y (with the bias and, where fused, the ReLU) straight into the chunk's outputs.
    private unsafe void DirectForwardChunk(ShiftedConvolution g, Scratch s, int n0, int n1, Span<T> y, bool relu)
    {
        int FN = W.Dim(0), count = n1 - n0;
        var planes = Planes(g, s, n0, count);
        fixed (T* pp = planes, pw = W.Span, pb = b.Span, py = y)
            DirectConvolution.Forward(g, pp, count, pw, pb, FN, py, relu);
    }

    // dW and db of the chunk into its part, from dout, or with reluY (the ReLU's output) from the ReLU's backward of dout;
    // then dx as the forward pass of dx's convolution (the adjoint) over dout's planes with the turned filters.
    private unsafe void DirectBackwardChunk(ShiftedConvolution g, Scratch s, int chunk, int n0, int n1, ReadOnlySpan<T> dout,
        ReadOnlySpan<T> reluY, Tensor<T>? dx)
    {
        int FN = W.Dim(0), K = W.Length / FN, count = n1 - n0, sample = g.C * g.H * g.W;
        var planes = Planes(g, s, n0, count);
        var part = _dWParts!.Span.Slice(chunk * (FN * K + FN), FN * K + FN);
        fixed (T* pp = planes, pd = dout, py = reluY, pg = part)
            DirectConvolution.WeightGradient(g, pp, count, pd, reluY.IsEmpty ? null : py, FN, pg, pg + FN * K);
        if (dx is null) return;
        var adjoint = g.Adjoint(FN)!;
        var dp = Scratch.Take(ref s.Out, FN * adjoint.PlaneLength);
        adjoint.Pack(dout, count, dp);
        fixed (T* pp = dp, pt = _turned!.Span, pz = _zeros!.Span, px = dx.Span)
            DirectConvolution.Forward(adjoint, pp, count, pt, pz, g.C, px + (long)n0 * sample, relu: false);
    }
}
