using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

// The direct form of layers with few taps (Kernels/DirectConvolution.cs): y, dW and db computed from the shifted form's
// planes with vectors along output rows, no products, and the ReLU that follows fused into both passes.
public sealed partial class Convolution<T>
{
    private sealed class DirectForm(Convolution<T> layer) : Form(layer)
    {
        public override void Begin(Tensor<T> x, ConvolutionPlan plan)
        {
            BeginShifted(x, plan.ChunkSize);
        }

        // dx runs through the shifted form's adjoint (square filters) with the turned filters, not transposed.
        public override void PrepareInputGradient(ConvolutionPlan plan) => Turn(transposed: false);

        public override bool FusesRelu => true;

        // The chunk's planes, then y (with the bias and, where fused, the ReLU) straight into the chunk's outputs.
        public override unsafe void ForwardChunk(Scratch s, int n0, int n1, Span<T> y, bool relu)
        {
            int FN = L.W.Dim(0), count = n1 - n0;
            var planes = Planes(s, n0, count);
            fixed (T* pp = planes, pw = L.W.Span, pb = L.b.Span, py = y)
                DirectConvolution.Forward(Geometry!, pp, count, pw, pb, FN, py, relu);
        }

        // dW and db of the chunk into its part, from dout, or with reluY (the ReLU's output) from the ReLU's backward of dout;
        // then dx as the forward pass of dx's convolution (the adjoint) over dout's planes with the turned filters.
        public override unsafe void BackwardChunk(Scratch s, int group, int chunk, bool accumulate, int n0, int n1,
            ReadOnlySpan<T> dout, ReadOnlySpan<T> reluY, Tensor<T>? dx)
        {
            var g = Geometry!;
            int FN = L.W.Dim(0), K = L.W.Length / FN, count = n1 - n0, sample = g.C * g.H * g.W;
            var planes = Planes(s, n0, count);
            var part = Part(chunk);
            fixed (T* pp = planes, pd = dout, py = reluY, pg = part)
                DirectConvolution.WeightGradient(g, pp, count, pd, reluY.IsEmpty ? null : py, FN, pg, pg + FN * K);
            if (dx is null) return;
            var adjoint = g.Adjoint(FN)!;
            var dp = Scratch.Take(ref s.Out, FN * adjoint.PlaneLength);
            adjoint.Pack(dout, count, dp);
            fixed (T* pp = dp, pt = Turned!.Span, pz = Zeros!.Span, px = dx.Span)
                DirectConvolution.Forward(adjoint, pp, count, pt, pz, g.C, px + (long)n0 * sample, relu: false);
        }
    }
}
