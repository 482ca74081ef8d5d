using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop.Layers;

// The phased form of strided layers (Kernels/PhasedConvolution.cs): col's rows are shifted views of the zero-padded
// input's stride² phases, so there is no im2col: y = W·col and dW = dout·colᵀ over row starts, and each phase of dx is a
// stride-1 convolution of dout's zero-padded planes with that phase's taps turned, so there is no col2im either.
public sealed partial class Convolution<T>
{
    private sealed class PhasedForm(Convolution<T> layer) : Form(layer)
    {
        private PhasedConvolution? _g;
        private Tensor<T>? _filters;

        public override void Begin(Tensor<T> x, ConvolutionPlan plan)
        {
            int C = x.Dim(1), H = x.Dim(2), Wd = x.Dim(3), FN = L.W.Dim(0), FH = L.W.Dim(2), FW = L.W.Dim(3);
            if (_g is null || !_g.Matches(C, H, Wd, FN, FH, FW, L.Stride, L.Pad, plan.ChunkSize))
                _g = new PhasedConvolution(C, H, Wd, FN, FH, FW, L.Stride, L.Pad, plan.ChunkSize);
        }

        // Each phase's taps of W, as dx's products read them.
        public override void PrepareInputGradient(ConvolutionPlan plan) =>
            _g!.GradientFilters<T>(L.W.Span, TensorBuffer.Ensure(ref _filters, [L.W.Length]).Span);

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

        // dout's planes; dW = dout·colᵀ over row starts and db = Σ dout from their origin; then, x's planes done with, each
        // phase of dx (C, columns) = its taps (C, FN·taps) · dout's planes at the taps' shifts, into the planes'
        // buffer in their layout, and every pixel of dx from its phase.
        public override unsafe void BackwardChunk(Scratch s, int group, int chunk, bool accumulate, int n0, int n1,
            ReadOnlySpan<T> dout, ReadOnlySpan<T> reluY, Tensor<T>? dx)
        {
            var g = _g!;
            var W = L.W;
            int FN = W.Dim(0), K = W.Length / FN, count = n1 - n0, columns = g.Columns(count), sample = g.C * g.H * g.W;
            int ldd = (int)g.PlaneLength, origin = (int)g.GradientOrigin;
            var planes = PhasePlanes(s, n0, count);
            var d = Scratch.Take(ref s.Out, FN * g.PlaneLength + Gemm.RowStartsOverread<T>());
            g.PackGradient<T>(dout, count, d);
            var part = Part(chunk);
            fixed (T* pd = d, pp = planes, pdw = part)
            fixed (long* offsets = g.Offsets)
                Gemm.MultiplyRows(true, FN, K, columns, pd + origin, ldd, pp, offsets, pdw, K);
            for (int f = 0; f < FN; f++) part[FN * K + f] = TensorPrimitives.Sum<T>(d.Slice(f * ldd + origin, columns));
            if (dx is null) return;
            ReadOnlySpan<T> filters = _filters!.Span;
            int phases = g.Stride * g.Stride;
            for (int phase = 0; phase < phases; phase++)
            {
                var rows = g.GradientOffsets[phase];
                if (rows.Length == 0) continue;   // no tap reads it: its pixels' gradients are zero
                Product(s, filters.Slice(g.GradientFilterStarts[phase], g.C * rows.Length), g.C, d, rows, columns,
                    planes[(phase * ldd)..], phases * ldd);
            }
            g.ToPixels<T>(planes, count, dx.Span.Slice(n0 * sample, count * sample));
        }
    }
}
