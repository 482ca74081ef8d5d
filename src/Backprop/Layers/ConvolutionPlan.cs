using System.Numerics;
using System.Runtime.CompilerServices;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>The forms a convolution runs in; each is one file of <see cref="Convolution{T}"/>'s (Convolution.Form.cs).</summary>
public enum ConvolutionForm
{
    /// <summary>The textbook's: im2col, one product, col2im (any stride and padding).</summary>
    Im2Col,
    /// <summary>Stride 1: col's rows are shifted views of zero-padded planes (no im2col), products over them.</summary>
    Shifted,
    /// <summary>The shifted form with its products gathered over the real output pixels only (AVX-512).</summary>
    Gathered,
    /// <summary>Square filters of at most nine taps: y, dW and db computed with vectors along output rows (AVX-512).</summary>
    Direct,
    /// <summary>3×3 stride-1 filters over whole vectors of channels: Winograd's F(2×2, 3×3), 16 products per chunk.</summary>
    Winograd,
    /// <summary>Stride 2 or more: col's rows are shifted views of the padded input's stride² phases (no im2col).</summary>
    Phased,
}

/// <summary>
/// How a convolution layer runs on one input shape: its form, which of the shifted form's products are gathered over
/// the real pixels (forward and dW by the filters, dx by the channels), and how the batch is cut into chunks of samples
/// and the chunks into groups (one thread's run each). A pure, printable function of the shapes, the element type and
/// the processor (and <see cref="Gemm"/>'s path), as <c>Gemm.Plan</c> is, chosen once per pass and followed by the layer.
/// </summary>
/// <param name="Form">The form.</param>
/// <param name="GatherForward">The forward product runs over the real pixels only (shifted form).</param>
/// <param name="GatherWeightGradient">dW's product runs over the real pixels only (shifted form).</param>
/// <param name="GatherInputGradient">dx's product, with the turned filters, runs over the real pixels only (shifted form).</param>
/// <param name="ChunkSize">Samples per chunk: a chunk's buffers in half of L2, and at least two chunks where the batch allows.</param>
/// <param name="Chunks">Chunks in the batch.</param>
/// <param name="BackwardGroups">Groups of the backward pass: one per chunk, except the Winograd form's (at most 8), whose
/// chunks add their dU into their group's sum. The forward pass has one group per chunk.</param>
/// <param name="CellsPerSample">The cells of one sample a chunk holds, which with the filters' size says whether a pass is
/// worth several threads: its zero-padded planes where the shifted form fits and pays (the direct and Winograd forms
/// included), else its output pixels. The split never changes the results.</param>
public readonly record struct ConvolutionPlan(ConvolutionForm Form, bool GatherForward, bool GatherWeightGradient,
    bool GatherInputGradient, int ChunkSize, int Chunks, int BackwardGroups, long CellsPerSample)
{
    // Below a vector of float32 channels, a gathered tile's lanes are mostly masked off (C = 1 for DeepConvNet's dx); the
    // Winograd form was measured to pay from there too.
    private const int MinGatheredChannels = 16, MinWinogradChannels = 16, MaxGroups = 8;

    // The phased form's stride² phases per channel, and one sample's phase planes, stay small (larger strides and shapes
    // are im2col's, which checks its own sizes).
    private const int MaxPhasedStride = 16;
    private const long MaxPhased = 1L << 28;

    /// <summary>
    /// The plan for input (N, C, H, W) and filters (FN, C, FH, FW) at <paramref name="stride"/> and <paramref name="pad"/>.
    /// <paramref name="force"/> runs that form wherever it fits (<see cref="ConvolutionForm.Gathered"/>: the shifted form with
    /// every product gathered where AVX-512 runs them; <see cref="ConvolutionForm.Shifted"/>: with none), else im2col; null
    /// chooses: Winograd where it fits with at least 16 channels and filters on AVX-512, else the direct form where it fits,
    /// else the shifted form where it fits and pays (gathering a product that yields at least 16 channels), else the phased
    /// form for strides of 2 or more and filters larger than 1×1, else im2col.
    /// </summary>
    public static ConvolutionPlan Choose<T>(int N, int C, int H, int W, int FN, int FH, int FW, int stride, int pad,
        ConvolutionForm? force = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool avx512 = Gemm.RowStartsDirect, shiftedFits = ShiftedConvolution.Fits(H, W, FH, FW, stride, pad);
        bool shiftedPays = shiftedFits && ShiftedConvolution.Pays(C, H, W, FH, FW, pad, Unsafe.SizeOf<T>());
        bool winogradFits = Kernels.Winograd.Fits<T>(C, FN, FH, FW, stride);
        bool directFits = DirectConvolution.Available && FH == FW && C * FH * FW <= DirectConvolution.MaxTaps && shiftedFits;
        bool phasedStride = stride is >= 2 and <= MaxPhasedStride;
        long phasedCells = phasedStride ? PhasedConvolution.SampleCells(H, W, FH, FW, stride, pad) : 0;
        bool phasedFits = phasedStride && phasedCells <= MaxPhased / Math.Max((long)C * stride * stride, FN);
        // A 1×1 filter's im2col copies each pixel it reads once (the phased form measured 1.8–2.4× slower there).
        bool phasedPays = phasedFits && FH * FW > 1;
        var form = force switch
        {
            ConvolutionForm.Phased => phasedFits ? ConvolutionForm.Phased : ConvolutionForm.Im2Col,
            ConvolutionForm.Winograd => winogradFits ? ConvolutionForm.Winograd : ConvolutionForm.Im2Col,
            ConvolutionForm.Direct => directFits ? ConvolutionForm.Direct : ConvolutionForm.Im2Col,
            ConvolutionForm.Shifted or ConvolutionForm.Gathered => shiftedFits ? force.Value : ConvolutionForm.Im2Col,
            ConvolutionForm.Im2Col => ConvolutionForm.Im2Col,
            _ => winogradFits && avx512 && C >= MinWinogradChannels && FN >= MinWinogradChannels ? ConvolutionForm.Winograd
                : directFits ? ConvolutionForm.Direct
                : shiftedPays ? ConvolutionForm.Shifted
                : phasedPays ? ConvolutionForm.Phased
                : ConvolutionForm.Im2Col,
        };
        bool shifted = form is ConvolutionForm.Shifted or ConvolutionForm.Gathered;
        bool Gathers(int channels) => shifted && avx512 && force != ConvolutionForm.Shifted
            && (force == ConvolutionForm.Gathered || channels >= MinGatheredChannels);
        bool gatherForward = Gathers(FN), gatherDx = Gathers(C) && ShiftedConvolution.HasAdjoint(FH, FW);
        if (shifted) form = gatherForward ? ConvolutionForm.Gathered : ConvolutionForm.Shifted;

        // Chunks: a chunk's buffers in half of L2 (col, the product and dout; in the shifted forms the planes of x and of
        // dout, dx's extended output and the masked dout), fixed by the shapes and the processor, never by the threads.
        int OH = Im2Col.OutputSize(H, FH, stride, pad), OW = Im2Col.OutputSize(W, FW, stride, pad);
        bool planes = form is ConvolutionForm.Shifted or ConvolutionForm.Gathered or ConvolutionForm.Direct;
        long cells = planes ? ShiftedConvolution.Cells(H, W, pad) : (long)OH * OW;
        long values = planes ? 2L * (C + FN) : C * FH * FW + 2L * FN;
        if (form == ConvolutionForm.Phased)
        {
            // The phase planes (x's, then dx's in the same buffer), and the extended y or dout's planes, over V·R cells.
            (cells, values) = (phasedCells, (long)C * stride * stride + FN);
        }
        long perSample = form == ConvolutionForm.Winograd
            ? Kernels.Winograd.ValuesPerSample(C, H, W, FN, pad) * Unsafe.SizeOf<T>()
            : values * cells * Unsafe.SizeOf<T>();
        int fit = (int)Math.Max(1, Processor.Caches.L2 / 2 / perSample);
        int size = Math.Max(1, Math.Min(fit, (N + 1) / 2)), chunks = (N + size - 1) / size;
        int backwardGroups = form == ConvolutionForm.Winograd ? Math.Min(chunks, MaxGroups) : chunks;
        long threadCells = planes || (form == ConvolutionForm.Winograd && shiftedPays)
            ? ShiftedConvolution.Cells(H, W, pad)
            : (long)OH * OW;
        return new ConvolutionPlan(form, gatherForward, Gathers(FN), gatherDx, size, chunks, backwardGroups, threadCells);
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        static string YesNo(bool b) => b ? "yes" : "no";
        string gathered = Form is ConvolutionForm.Shifted or ConvolutionForm.Gathered
            ? $" (gathered: y {YesNo(GatherForward)}, dW {YesNo(GatherWeightGradient)}, dx {YesNo(GatherInputGradient)})"
            : "";
        return $"{Form.ToString().ToLowerInvariant()}{gathered}, {Chunks} chunk{(Chunks == 1 ? "" : "s")} of {ChunkSize} " +
            $"sample{(ChunkSize == 1 ? "" : "s")}, backward in {BackwardGroups} group{(BackwardGroups == 1 ? "" : "s")}";
    }
}
