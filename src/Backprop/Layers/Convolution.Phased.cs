using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop.Layers;

// The phased form of strided layers (Kernels/PhasedConvolution.cs): col's rows are shifted views of the zero-padded
// input's stride² phases, so there is no im2col: y = W·col and dW = dout·colᵀ over row starts, dx = col2im(Wᵀ·dout) as
// shifted rows added into the phases' gradients.
public sealed partial class Convolution<T>
{
    private sealed class PhasedForm(Convolution<T> layer) : Form(layer)
    {
        private PhasedConvolution? _g;

        public override void Begin(Tensor<T> x, ConvolutionPlan plan)
        {
            int C = x.Dim(1), H = x.Dim(2), Wd = x.Dim(3), FH = L.W.Dim(2), FW = L.W.Dim(3);
            if (_g is null || !_g.Matches(C, H, Wd, FH, FW, L.Stride, L.Pad, plan.ChunkSize))
                _g = new PhasedConvolution(C, H, Wd, FH, FW, L.Stride, L.Pad, plan.ChunkSize);
        }

        // The chunk's phase planes in the scratch's col (with the products' overread after them).
        private Span<T> PhasePlanes(Scratch s, int n0, int count)
        {
            int sample = _g!.C * _g.H * _g.W;
            var planes = Scratch.Take(ref s.Col, _g.Length + Gemm.RowStartsOverread<T>());
            _g.Pack<T>(L._x!.Span.Slice(n0 * sample, count * sample), count, planes);
            return planes;
        }

        public override void ForwardChunk(Scratch s, int n0, int n1, Span<T> ys, bool relu)
        {
            int FN = L.W.Dim(0), count = n1 - n0, columns = _g!.Columns(count);
            var planes = PhasePlanes(s, n0, count);
            var o = Scratch.Take(ref s.Out, (long)FN * columns);
            Product(s, L.W.Span, FN, planes, _g.Offsets, columns, o);
            _g.Extract<T>(o, count, L.b.Span, ys);
        }

        public override unsafe void BackwardChunk(Scratch s, int group, int chunk, bool accumulate, int n0, int n1,
            ReadOnlySpan<T> dout, ReadOnlySpan<T> reluY, Tensor<T>? dx)
        {
            var g = _g!;
            var W = L.W;
            int FN = W.Dim(0), K = W.Length / FN, count = n1 - n0, columns = g.Columns(count), sample = g.C * g.H * g.W;
            var planes = PhasePlanes(s, n0, count);
            var dc = Scratch.Take(ref s.Out, (long)FN * columns);
            g.Spread<T>(dout, count, FN, dc);
            var part = Part(chunk);
            fixed (T* pd = dc, pp = planes, pdw = part)
            fixed (long* offsets = g.Offsets)
                Gemm.MultiplyRows(true, FN, K, columns, pd, columns, pp, offsets, pdw, K);
            for (int f = 0; f < FN; f++) part[FN * K + f] = TensorPrimitives.Sum<T>(dc.Slice(f * columns, columns));
            if (dx is null) return;
            var dcol = Scratch.Take(ref s.Dcol, (long)K * columns);
            Gemm.Multiply<T>(transA: true, transB: false, K, columns, FN, W.Span, K, dc, columns, dcol, columns);
            g.Fold<T>(dcol, count, planes, dx.Span.Slice(n0 * sample, count * sample));   // the planes are x's no longer
        }
    }
}
