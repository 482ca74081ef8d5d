using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop.Layers;

// The shifted form of stride-1 layers whose padding rows can share (Kernels/ShiftedConvolution.cs): col's rows are shifted
// views of a chunk's zero-padded planes, so there is no im2col; on AVX-512 the products read them in place, and the plan
// may gather a product over the real output pixels only (the gathered form). With square filters dx is itself such a
// convolution, of dout's zero-padded planes with the filters turned by 180°, with neither Wᵀ·dout nor col2im.
public sealed partial class Convolution<T>
{
    private sealed class ShiftedForm(Convolution<T> layer) : Form(layer)
    {
        private ConvolutionPlan _plan;
        private Tensor<T>? _wt;

        public override void Begin(Tensor<T> x, ConvolutionPlan plan)
        {
            _plan = plan;
            BeginShifted(x, plan.ChunkSize);
        }

        // Wᵀ (C·FH·FW, FN): the gathered forward's B.
        public override unsafe void PrepareForward(ConvolutionPlan plan)
        {
            if (!plan.GatherForward) return;
            var W = L.W;
            int FN = W.Dim(0), K = W.Length / FN;
            var wt = TensorBuffer.Ensure(ref _wt, [K, FN]);
            fixed (T* pw = W.Span, pt = wt.Span) Gemm.Transpose(pw, K, FN, K, pt, FN);
        }

        public override void PrepareInputGradient(ConvolutionPlan plan)
        {
            if (ShiftedConvolution.HasAdjoint(L.W.Dim(2), L.W.Dim(3))) Turn(transposed: plan.GatherInputGradient);
        }

        // The chunk's planes, y_ext = W·col over shifted rows, its real columns + b into y; or, gathered, (S·P, FN) over the
        // real pixels only, then (S, FN, P) + b.
        public override void ForwardChunk(Scratch s, int n0, int n1, Span<T> ys, bool relu)
        {
            var g = Geometry!;
            int FN = L.W.Dim(0), count = n1 - n0, columns = g.Columns(count);
            var planes = Planes(s, n0, count);
            int P = g.OH * g.OW;
            if (_plan.GatherForward)
            {
                var t = Scratch.Take(ref s.Out, (long)count * P * FN);
                Gathered(planes, g.Pixels, g.Offsets, count * P, _wt!.Span, FN, t);
                FromPixelRows(t, count, P, FN, L.b.Span, ys);
                return;
            }
            var o = Scratch.Take(ref s.Out, (long)FN * columns);
            Product(s, L.W.Span, FN, planes, g.Offsets, columns, o);
            g.Extract<T>(o, columns, count, L.b.Span, ys);
        }

        // dout spread over the extended columns (zero in the dropped ones), dW = dout·colᵀ over shifted rows, db = Σ dout,
        // and dx either as the convolution of dout's planes with the turned filters (square filters: dout's extended form is
        // those planes) or as col2im(Wᵀ·dout), a sum of shifted rows; each product gathered where the plan says.
        public override unsafe void BackwardChunk(Scratch s, int group, int chunk, bool accumulate, int n0, int n1,
            ReadOnlySpan<T> dout, ReadOnlySpan<T> reluY, Tensor<T>? dx)
        {
            var g = Geometry!;
            var W = L.W;
            int FN = W.Dim(0), K = W.Length / FN, count = n1 - n0, sample = g.C * g.H * g.W, columns = g.Columns(count);
            var planes = Planes(s, n0, count);
            var adjoint = g.Adjoint(FN);
            var part = Part(chunk);
            bool gatherW = _plan.GatherWeightGradient, gatherDx = dx is not null && adjoint is not null && _plan.GatherInputGradient;
            if (gatherW) GatheredWeightGradient(s, count, dout, planes, part);
            if (gatherW && (dx is null || gatherDx))
            {
                if (dx is not null) GatheredInputGradient(adjoint!, s, count, dout, dx.Span.Slice(n0 * sample, count * sample));
                return;
            }
            Span<T> dc;
            int origin = 0, ldd = columns;
            if (adjoint is not null)
            {
                // dout's planes: the extended dout starts at their origin, row stride R, with zeros in every dropped column.
                dc = Scratch.Take(ref s.Out, FN * adjoint.PlaneLength + Gemm.RowStartsOverread<T>());
                adjoint.Pack(dout, count, dc);
                (origin, ldd) = (adjoint.Origin, (int)adjoint.PlaneLength);
            }
            else
            {
                dc = Scratch.Take(ref s.Out, (long)FN * columns);
                g.Spread<T>(dout, count, FN, dc);
            }
            if (!gatherW)
            {
                fixed (T* pd = dc, pp = planes, pdw = part)
                fixed (long* offsets = g.Offsets)
                    Gemm.MultiplyRows(true, FN, K, columns, pd + origin, ldd, pp, offsets, pdw, K);
                for (int f = 0; f < FN; f++) part[FN * K + f] = TensorPrimitives.Sum<T>(dc.Slice(f * ldd + origin, columns));
            }
            if (dx is null) return;
            if (gatherDx)
            {
                GatheredInputGradient(adjoint!, s, count, dout, dx.Span.Slice(n0 * sample, count * sample), dc);
                return;
            }
            if (adjoint is not null)
            {
                int dxColumns = adjoint.Columns(count);
                var o = Scratch.Take(ref s.Dcol, (long)g.C * dxColumns);
                Product(s, Turned!.Span, g.C, dc, adjoint.Offsets, dxColumns, o);
                adjoint.Extract<T>(o, dxColumns, count, Zeros!.Span, dx.Span.Slice(n0 * sample, count * sample));
                return;
            }
            var dcol = Scratch.Take(ref s.Dcol, (long)K * columns);
            Gemm.Multiply<T>(transA: true, transB: false, K, columns, FN, W.Span, K, dc, columns, dcol, columns);
            g.Fold<T>(dcol, count, planes, dx.Span.Slice(n0 * sample, count * sample));
        }

        // dx over its real pixels only: dout's planes (packed here unless given) gathered with the turned filters (FN·FH·FW,
        // C), then (S·H·W, C) → (S, C, H, W).
        private void GatheredInputGradient(ShiftedConvolution adjoint, Scratch s, int count, ReadOnlySpan<T> dout, Span<T> dx,
            Span<T> planes = default)
        {
            var g = Geometry!;
            int FN = L.W.Dim(0), HW = g.H * g.W;
            if (planes.IsEmpty)
            {
                planes = Scratch.Take(ref s.Out, FN * adjoint.PlaneLength + Gemm.RowStartsOverread<T>());
                adjoint.Pack(dout, count, planes);
            }
            var t = Scratch.Take(ref s.Dcol, (long)count * HW * g.C);
            Gathered(planes, adjoint.Pixels, adjoint.Offsets, count * HW, Turned!.Span, g.C, t);
            FromPixelRows(t, count, HW, g.C, default, dx);
        }

        // dWᵀ (taps, FN) = Σ over the real pixels of x's taps · doutᵀ (pixels, FN), gathered from the planes; then dW and
        // db = Σ dout into the chunk's part.
        private unsafe void GatheredWeightGradient(Scratch s, int count, ReadOnlySpan<T> dout, ReadOnlySpan<T> planes, Span<T> part)
        {
            var g = Geometry!;
            int FN = L.W.Dim(0), K = L.W.Length / FN, P = g.OH * g.OW;
            var dt = Scratch.Take(ref s.DoutT, (long)count * P * FN);
            var dwt = Scratch.Take(ref s.DwT, (long)K * FN);
            fixed (T* pd = dout, pt = dt)
                for (int n = 0; n < count; n++) Gemm.Transpose(pd + (long)n * FN * P, P, FN, P, pt + (long)n * P * FN, FN);
            Gathered(planes, g.Offsets, g.Pixels.AsSpan(0, count * P), K, dt, FN, dwt);
            fixed (T* pw = dwt, pp = part) Gemm.Transpose(pw, FN, K, FN, pp, K);
            BiasGradient(dout, count, FN, P, part.Slice(FN * K, FN), accumulate: false);
        }
    }
}
