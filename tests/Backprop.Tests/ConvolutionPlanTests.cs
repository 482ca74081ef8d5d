using Backprop.Kernels;
using Backprop.Layers;

namespace Backprop.Tests;

/// <summary>
/// The convolution's plan, a pure function of the shapes and the processor as the GEMM's is: which form each of the
/// textbook's layers takes, where forcing a form falls back, and how the batch is cut into chunks (never by the threads).
/// </summary>
[Collection("Global kernel settings")]   // reads Parallelism.MaxThreads, which other tests set
public class ConvolutionPlanTests
{
    private static ConvolutionPlan Plan(int N, int C, int H, int W, int FN, int F, int stride, int pad, ConvolutionForm? force = null) =>
        ConvolutionPlan.Choose<float>(N, C, H, W, FN, F, F, stride, pad, force);

    [Fact]
    public void The_textbooks_layers_take_the_forms_the_processor_allows()
    {
        // DeepConvNet's first layer (nine taps): direct where AVX-512 runs it; its 3×3 layers of 16 channels and more:
        // Winograd there; elsewhere neither.
        var first = Plan(100, 1, 28, 28, 16, 3, 1, 1).Form;
        Assert.Equal(DirectConvolution.Available, first == ConvolutionForm.Direct);
        var inner = Plan(100, 16, 28, 28, 16, 3, 1, 1).Form;
        Assert.Equal(Gemm.RowStartsDirect, inner == ConvolutionForm.Winograd);
        // Fewer than 16 channels: no Winograd by default, though it would fit in float32 vectors of 8 channels in float64.
        Assert.NotEqual(ConvolutionForm.Winograd, ConvolutionPlan.Choose<double>(10, 8, 8, 8, 8, 3, 3, 1, 1).Form);
        // Stride 2 has no shifted view of the planes, only of their phases: the phased form by choice or forced, else im2col
        // (the other forms do not fit); a 1×1 filter of stride 2 (resnet_small's projections): im2col unless the phased
        // form is forced; a stride of 17 or more: im2col, whatever is forced.
        foreach (var force in Enum.GetValues<ConvolutionForm>().Cast<ConvolutionForm?>().Append(null))
        {
            Assert.Equal(force is null or ConvolutionForm.Phased ? ConvolutionForm.Phased : ConvolutionForm.Im2Col,
                Plan(10, 3, 9, 9, 4, 3, 2, 1, force).Form);
            Assert.Equal(force == ConvolutionForm.Phased ? ConvolutionForm.Phased : ConvolutionForm.Im2Col,
                Plan(10, 16, 28, 28, 32, 1, 2, 0, force).Form);
            Assert.Equal(ConvolutionForm.Im2Col, Plan(2, 3, 40, 40, 4, 3, 17, 1, force).Form);
        }
    }

    [Fact]
    public void A_forced_form_runs_where_it_fits_and_im2col_elsewhere()
    {
        Assert.Equal(ConvolutionForm.Shifted, Plan(4, 3, 9, 8, 5, 3, 1, 1, ConvolutionForm.Shifted).Form);
        Assert.Equal(ConvolutionForm.Im2Col, Plan(4, 3, 9, 8, 5, 3, 1, 1, ConvolutionForm.Im2Col).Form);
        Assert.Equal(ConvolutionForm.Im2Col, Plan(4, 3, 9, 8, 5, 3, 1, 1, ConvolutionForm.Winograd).Form);   // 3 channels: no whole vector
        Assert.Equal(ConvolutionForm.Im2Col, Plan(4, 2, 9, 8, 5, 3, 1, 1, ConvolutionForm.Direct).Form);     // 18 taps > 9
        var gathered = Plan(4, 17, 6, 11, 40, 3, 1, 1, ConvolutionForm.Gathered);
        Assert.Equal(Gemm.RowStartsDirect ? ConvolutionForm.Gathered : ConvolutionForm.Shifted, gathered.Form);
        Assert.Equal(Gemm.RowStartsDirect, gathered.GatherForward && gathered.GatherWeightGradient && gathered.GatherInputGradient);
        var shifted = Plan(4, 17, 6, 11, 40, 3, 1, 1, ConvolutionForm.Shifted);
        Assert.False(shifted.GatherForward || shifted.GatherWeightGradient || shifted.GatherInputGradient);
        // Filters that are not square have no adjoint: their dx is never gathered.
        Assert.False(ConvolutionPlan.Choose<float>(4, 17, 6, 11, 40, 3, 5, 1, 1, ConvolutionForm.Gathered).GatherInputGradient);
    }

    [Theory]
    [InlineData(1, 1, 28, 28, 30, 5, 1, 0)]
    [InlineData(100, 1, 28, 28, 30, 5, 1, 0)]
    [InlineData(37, 3, 9, 8, 5, 3, 1, 1)]
    [InlineData(100, 64, 8, 8, 64, 3, 1, 1)]
    [InlineData(3, 16, 28, 28, 16, 3, 1, 1)]
    [InlineData(7, 3, 9, 9, 4, 3, 2, 1)]
    public void Chunks_cover_the_batch_and_do_not_depend_on_the_threads(int N, int C, int H, int W, int FN, int F, int stride, int pad)
    {
        ConvolutionPlan one, two;
        using (TestUtil.Threads(1)) one = Plan(N, C, H, W, FN, F, stride, pad);
        using (TestUtil.Threads(2)) two = Plan(N, C, H, W, FN, F, stride, pad);
        Assert.Equal(one, two);
        Assert.True(one.ChunkSize * one.Chunks >= N && (one.Chunks - 1) * one.ChunkSize < N, one.ToString());
        if (N >= 2) Assert.True(one.Chunks >= 2, one.ToString());   // threads can share them
        Assert.Equal(one.Form == ConvolutionForm.Winograd ? Math.Min(one.Chunks, 8) : one.Chunks, one.BackwardGroups);
        Assert.StartsWith(one.Form.ToString().ToLowerInvariant(), one.ToString());
    }
}
