using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop.Layers;

// A form of the convolution: one object per form, each in a file of its own, that the plan chooses.
public sealed partial class Convolution<T>
{
    private Form? _im2colForm, _shiftedForm, _directForm, _winogradForm, _phasedForm;

    // The form object of a plan's form (made once per layer; Shifted and Gathered are one form, the plan saying which
    // products gather).
    private Form FormOf(ConvolutionForm form) => form switch
    {
        ConvolutionForm.Shifted or ConvolutionForm.Gathered => _shiftedForm ??= new ShiftedForm(this),
        ConvolutionForm.Direct => _directForm ??= new DirectForm(this),
        ConvolutionForm.Winograd => _winogradForm ??= new WinogradForm(this),
        ConvolutionForm.Phased => _phasedForm ??= new PhasedForm(this),
        _ => _im2colForm ??= new Im2ColForm(this),
    };

    /// <summary>
    /// One form: its geometry for a pass, its preparation of W, its forward and backward chunk, and how it sums dW. A chunk
    /// is samples n0..n1 of the layer's x; its buffers are the thread's scratch; dW and db of a backward chunk go to the
    /// chunk's (or its group's) part of the layer's parts, which <see cref="Backward(Tensor{T}, bool)"/> adds in order.
    /// </summary>
    private abstract class Form(Convolution<T> layer)
    {
        protected Convolution<T> L { get; } = layer;

        /// <summary>Called before each pass over x with its plan: the form's geometry for the plan's chunk size.</summary>
        public virtual void Begin(Tensor<T> x, ConvolutionPlan plan) { }

        /// <summary>Prepares W for the forward pass (a transpose, a transform); nothing by default.</summary>
        public virtual void PrepareForward(ConvolutionPlan plan) { }

        /// <summary>Prepares W for dx (the turned filters); nothing by default.</summary>
        public virtual void PrepareInputGradient(ConvolutionPlan plan) { }

        /// <summary>True where the form applies the ReLU that follows in its own stores (forward) and its mask in dW's pass.</summary>
        public virtual bool FusesRelu => false;

        /// <summary>y of samples n0..n1 (with the bias; with the ReLU where <see cref="FusesRelu"/> and <paramref name="relu"/>).</summary>
        public abstract void ForwardChunk(Scratch s, int n0, int n1, Span<T> y, bool relu);

        /// <summary>
        /// dW and db of samples n0..n1 into the part of <paramref name="chunk"/> (or of <paramref name="group"/>, adding to it
        /// where <paramref name="accumulate"/>), and their dx where asked; <paramref name="reluY"/>, where given, is the ReLU's
        /// output, whose mask dout still needs (<see cref="FusesRelu"/>).
        /// </summary>
        public abstract void BackwardChunk(Scratch s, int group, int chunk, bool accumulate, int n0, int n1, ReadOnlySpan<T> dout,
            ReadOnlySpan<T> reluY, Tensor<T>? dx);

        /// <summary>The values of a part's weight gradient: FN·C·FH·FW unless the form sums something else.</summary>
        public virtual int GradientLength => L.W.Length;

        /// <summary>True where the parts sum something other than dW (<see cref="WeightGradient"/> turns it into dW).</summary>
        public virtual bool SumsOwnGradient => false;

        /// <summary>dW from the parts' sum, where <see cref="SumsOwnGradient"/>.</summary>
        public virtual void WeightGradient(ReadOnlySpan<T> sum, Span<T> dW) => throw new InvalidOperationException();

        /// <summary>The part of chunk (or group) <paramref name="index"/>: its dW values, then FN of db.</summary>
        protected Span<T> Part(int index)
        {
            int n = GradientLength + L.W.Dim(0);
            return L._dWParts!.Span.Slice(index * n, n);
        }

        // The filters of dx's convolution: turned[c, f, i, j] = W[f, c, FH − 1 − i, FW − 1 − j], (C, FN·FH·FW), or its
        // transpose (FN·FH·FW, C) for the gathered product; and C zeros for its bias.
        protected Tensor<T>? Turned, Zeros;

        protected void Turn(bool transposed)
        {
            var W = L.W;
            int FN = W.Dim(0), C = W.Dim(1), FH = W.Dim(2), FW = W.Dim(3), K = FN * FH * FW;
            var t = TensorBuffer.Ensure(ref Turned, [C, K]).Span;
            TensorBuffer.Ensure(ref Zeros, [C]).Span.Clear();
            ReadOnlySpan<T> w = W.Span;
            for (int f = 0; f < FN; f++)
                for (int c = 0; c < C; c++)
                    for (int i = 0; i < FH; i++)
                        for (int j = 0; j < FW; j++)
                        {
                            int k = (f * FH + FH - 1 - i) * FW + FW - 1 - j;
                            t[transposed ? k * C + c : c * K + k] = w[((f * C + c) * FH + i) * FW + j];
                        }
        }

        // The shifted geometry for the chunk size (the shifted and direct forms), made again when the shape or chunk changes.
        protected ShiftedConvolution? Geometry;

        protected void BeginShifted(Tensor<T> x, int chunk)
        {
            int C = x.Dim(1), H = x.Dim(2), Wd = x.Dim(3), FH = L.W.Dim(2), FW = L.W.Dim(3);
            if (Geometry is null || !Geometry.Matches(C, H, Wd, FH, FW, L.Pad, chunk))
                Geometry = new ShiftedConvolution(C, H, Wd, FH, FW, L.Pad, chunk);
        }

        // The shifted form's planes of samples n0..n0 + count of x in the scratch's col (with the products' overread after them).
        protected Span<T> Planes(Scratch s, int n0, int count)
        {
            var g = Geometry!;
            int sample = g.C * g.H * g.W;
            var planes = Scratch.Take(ref s.Col, g.C * g.PlaneLength + Gemm.RowStartsOverread<T>());
            g.Pack<T>(L._x!.Span.Slice(n0 * sample, count * sample), count, planes);
            return planes;
        }
    }

    // o (M, columns; row stride ldo, columns by default) = a (M, rows.Length) · B, B's row k at b[rows[k]..]: in place on
    // AVX-512 (a packed into the scratch), else packed by MultiplyRows.
    private static unsafe void Product(Scratch s, ReadOnlySpan<T> a, int M, ReadOnlySpan<T> b, ReadOnlySpan<long> rows, int columns,
        Span<T> o, int ldo = 0)
    {
        if (ldo == 0) ldo = columns;
        if ((long)(M - 1) * ldo + columns > o.Length) throw new ArgumentException("o too short");
        int K = rows.Length;
        fixed (T* pa = a, pb = b, po = o)
        fixed (long* pr = rows)
        {
            if (!Gemm.RowStartsDirect)
            {
                Gemm.MultiplyRows(false, M, columns, K, pa, K, pb, pr, po, ldo);
                return;
            }
            var packA = Scratch.Take(ref s.PackA, Gemm.RowStartsScratch(M, K));
            fixed (T* pk = packA) Gemm.MultiplyRowStarts(M, columns, K, pa, K, pb, pr, po, ldo, pk);
        }
    }

    // c (M, N) = A·b, A[i, k] = a[rows[i] + columns[k]] for i < M and k < columns.Length, b (columns.Length, N).
    private static unsafe void Gathered(ReadOnlySpan<T> a, ReadOnlySpan<long> rows, ReadOnlySpan<long> columns, int M,
        ReadOnlySpan<T> b, int N, Span<T> c)
    {
        fixed (T* pa = a, pb = b, pc = c)
        fixed (long* pr = rows, pk = columns)
            Gemm.MultiplyGathered(M, N, columns.Length, pa, pr, pk, pb, N, pc, N);
    }

    // y[s, f, p] = t[s·P + p, f] (+ bias[f]): per sample, a (P, F) block transposed.
    private static unsafe void FromPixelRows(ReadOnlySpan<T> t, int samples, int P, int F, ReadOnlySpan<T> bias, Span<T> y)
    {
        fixed (T* pt = t, py = y)
            for (int n = 0; n < samples; n++) Gemm.Transpose(pt + (long)n * P * F, F, P, F, py + (long)n * F * P, P);
        if (bias.IsEmpty) return;
        for (int n = 0; n < samples; n++)
            for (int f = 0; f < F; f++)
            {
                var row = y.Slice((n * F + f) * P, P);
                TensorPrimitives.Add(row, bias[f], row);
            }
    }

    // db[f] = Σ over the chunk's samples of Σ dout[n, f, ·], dout (count, FN, P); with accumulate, added to db's old values.
    private static void BiasGradient(ReadOnlySpan<T> dout, int count, int FN, int P, Span<T> db, bool accumulate)
    {
        for (int f = 0; f < FN; f++)
        {
            T sum = accumulate ? db[f] : T.Zero;
            for (int n = 0; n < count; n++) sum += TensorPrimitives.Sum(dout.Slice((n * FN + f) * P, P));
            db[f] = sum;
        }
    }
}
