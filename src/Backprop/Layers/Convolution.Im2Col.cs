using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop.Layers;

// The textbook's form, for any stride and padding: im2col of a chunk's samples, y = W·col + b; dW = dout·colᵀ,
// db = Σ dout, dx = col2im(Wᵀ·dout).
public sealed partial class Convolution<T>
{
    private sealed class Im2ColForm(Convolution<T> layer) : Form(layer)
    {
        // im2col of samples n0..n1 into the scratch's col (K, (n1 − n0)·P).
        private Span<T> Unfold(Scratch s, int n0, int n1, out int P)
        {
            var x = L._x!;
            int C = x.Dim(1), H = x.Dim(2), Wd = x.Dim(3), FH = L.W.Dim(2), FW = L.W.Dim(3), K = C * FH * FW, count = n1 - n0;
            P = Im2Col.OutputSize(H, FH, L.Stride, L.Pad) * Im2Col.OutputSize(Wd, FW, L.Stride, L.Pad);
            var col = Scratch.Take(ref s.Col, (long)K * count * P + Gemm.RowStartsOverread<T>());
            Im2Col.Unfold<T>(x.Span.Slice(n0 * C * H * Wd, count * C * H * Wd), count, C, H, Wd, FH, FW, L.Stride, L.Pad, col);
            return col;
        }

        public override void ForwardChunk(Scratch s, int n0, int n1, Span<T> ys, bool relu)
        {
            var W = L.W;
            int FN = W.Dim(0), K = W.Length / FN, count = n1 - n0;
            var col = Unfold(s, n0, n1, out int P);
            int cols = count * P;
            var o = Scratch.Take(ref s.Out, (long)FN * cols);
            if (Gemm.RowStartsDirect)
            {
                // The unpacked product reads col's rows in place (SimpleConvNet's 25-tap layer: packing B would copy all of
                // col for 30 multiply-adds per value).
                var rows = s.Rows.Length >= K ? s.Rows : s.Rows = new long[K];
                for (int k = 0; k < K; k++) rows[k] = (long)k * cols;
                Product(s, W.Span, FN, col, rows.AsSpan(0, K), cols, o);
            }
            else Gemm.Multiply<T>(transA: false, transB: false, FN, cols, K, W.Span, K, col, cols, o, cols);
            var bs = L.b.Span;
            for (int n = 0; n < count; n++)                                       // (FN, S·P) + b → (S, FN, P)
                for (int f = 0; f < FN; f++)
                    TensorPrimitives.Add(o.Slice(f * cols + n * P, P), bs[f], ys.Slice((n * FN + f) * P, P));
        }

        public override void BackwardChunk(Scratch s, int group, int chunk, bool accumulate, int n0, int n1, ReadOnlySpan<T> ds,
            ReadOnlySpan<T> reluY, Tensor<T>? dx)
        {
            var x = L._x!;
            var W = L.W;
            int C = x.Dim(1), H = x.Dim(2), Wd = x.Dim(3), FN = W.Dim(0), FH = W.Dim(2), FW = W.Dim(3), K = C * FH * FW, count = n1 - n0;
            var col = Unfold(s, n0, n1, out int P);
            int cols = count * P;
            var dc = Scratch.Take(ref s.Out, (long)FN * cols);
            for (int n = 0; n < count; n++)                                       // (S, FN, P) → (FN, S·P)
                for (int f = 0; f < FN; f++) ds.Slice((n * FN + f) * P, P).CopyTo(dc.Slice(f * cols + n * P, P));
            var part = Part(chunk);
            Gemm.Multiply<T>(transA: false, transB: true, FN, K, cols, dc, cols, col, cols, part, K);
            for (int f = 0; f < FN; f++) part[FN * K + f] = TensorPrimitives.Sum<T>(dc.Slice(f * cols, cols));
            if (dx is null) return;
            var dcol = Scratch.Take(ref s.Dcol, (long)K * cols);
            Gemm.Multiply<T>(transA: true, transB: false, K, cols, FN, W.Span, K, dc, cols, dcol, cols);
            Im2Col.Fold<T>(dcol, count, C, H, Wd, FH, FW, L.Stride, L.Pad, dx.Span.Slice(n0 * C * H * Wd, count * C * H * Wd));
        }
    }
}
