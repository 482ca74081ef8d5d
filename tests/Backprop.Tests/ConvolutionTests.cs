using System.Numerics;
using Backprop.Gradients;
using Backprop.Kernels;
using Backprop.Layers;

namespace Backprop.Tests;

/// <summary>Convolution and pooling against plain loops written from their definitions, and against numerical gradients.</summary>
[Collection("Global kernel settings")]   // sets Parallelism.MaxThreads, which the allocation tests read
public class ConvolutionTests
{
    // (N, C, H, W, FN, FH, FW, stride, pad): batch 1, C = 1, FN = 1, 1×1 filters, a filter as large as the padded input,
    // strides 2 and 3 with rows left over, non-square inputs and filters, primes.
    public static TheoryData<int, int, int, int, int, int, int, int, int> Shapes() => new()
    {
        { 1, 1, 5, 5, 1, 3, 3, 1, 0 },
        { 2, 3, 7, 5, 4, 3, 2, 1, 1 },
        { 1, 2, 4, 4, 3, 1, 1, 1, 0 },
        { 3, 1, 3, 4, 2, 5, 6, 1, 1 },       // the filter covers the padded input exactly
        { 2, 2, 8, 7, 3, 3, 3, 2, 1 },
        { 1, 3, 11, 13, 5, 2, 3, 3, 0 },     // stride 3 with rows left over
        { 2, 5, 7, 7, 7, 3, 3, 2, 2 },
        { 37, 3, 9, 8, 5, 3, 3, 1, 1 },      // a prime batch: chunks of several samples, the last one short
        { 19, 1, 12, 12, 30, 5, 5, 1, 0 },   // SimpleConvNet's filters on a smaller image
    };

    // y[n, f, oh, ow] = b[f] + Σ_c Σ_i Σ_j x[n, c, oh·s − p + i, ow·s − p + j]·W[f, c, i, j], zero outside x.
    private static double[] NaiveConv(double[] x, double[] W, double[] b, int N, int C, int H, int Wd, int FN, int FH, int FW, int s, int p,
        out int OH, out int OW)
    {
        OH = (H + 2 * p - FH) / s + 1;
        OW = (Wd + 2 * p - FW) / s + 1;
        var y = new double[N * FN * OH * OW];
        for (int n = 0; n < N; n++)
            for (int f = 0; f < FN; f++)
                for (int oh = 0; oh < OH; oh++)
                    for (int ow = 0; ow < OW; ow++)
                    {
                        double acc = b[f];
                        for (int c = 0; c < C; c++)
                            for (int i = 0; i < FH; i++)
                                for (int j = 0; j < FW; j++)
                                {
                                    int h = oh * s - p + i, w = ow * s - p + j;
                                    if (h >= 0 && h < H && w >= 0 && w < Wd) acc += x[((n * C + c) * H + h) * Wd + w] * W[((f * C + c) * FH
                                        + i) * FW + j];
                                }
                        y[((n * FN + f) * OH + oh) * OW + ow] = acc;
                    }
        return y;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Convolution_matches_the_definition_in_both_precisions(int N, int C, int H, int Wd, int FN, int FH, int FW, int s, int p)
    {
        Check<double>(N, C, H, Wd, FN, FH, FW, s, p, 1e-12);
        Check<float>(N, C, H, Wd, FN, FH, FW, s, p, 1e-5);
    }

    // Every stride-1 shape whose padding rows can share, in both forms: the shifted one (no im2col) and im2col. Besides
    // the shapes above: a 1-row input, a filter as large as the input, pad = FH − 1, 17 channels, DeepConvNet's 8×8.
    public static TheoryData<int, int, int, int, int, int, int, int> ShiftedShapes() => new()
    {
        { 1, 1, 5, 5, 1, 3, 3, 0 },
        { 2, 3, 7, 5, 4, 3, 2, 1 },
        { 1, 2, 4, 4, 3, 1, 1, 0 },
        { 37, 3, 9, 8, 5, 3, 3, 1 },
        { 19, 1, 12, 12, 30, 5, 5, 0 },
        { 3, 17, 6, 11, 7, 3, 5, 2 },
        { 5, 2, 1, 7, 3, 1, 3, 0 },
        { 2, 1, 4, 4, 1, 4, 4, 0 },
        { 1, 1, 3, 3, 2, 3, 3, 2 },
        { 23, 16, 8, 8, 16, 3, 3, 1 },
        { 3, 5, 6, 7, 40, 3, 3, 1 },         // 40 filters: the gathered product's 6×4W tiles, the last vector partial
        { 2, 36, 5, 4, 3, 3, 3, 2 },         // dx of 36 channels through the turned filters, gathered in 6×4W tiles
    };

    // In the shifted form, also with the products over the real pixels only (gathered, AVX-512) forced on and off, for
    // any number of filters and channels.
    [Theory]
    [MemberData(nameof(ShiftedShapes))]
    public void The_shifted_form_and_im2col_both_match_the_definition(int N, int C, int H, int Wd, int FN, int FH, int FW, int p)
    {
        foreach (var form in new[] { ConvolutionForm.Shifted, ConvolutionForm.Gathered, ConvolutionForm.Im2Col })
        {
            Check<double>(N, C, H, Wd, FN, FH, FW, 1, p, 1e-12, form);
            Check<float>(N, C, H, Wd, FN, FH, FW, 1, p, 1e-5, form);
        }
    }

    // 3×3 stride-1 shapes of whole vectors of channels and filters (16 float32, 8 float64), in the Winograd form F(2×2, 3×3)
    // and without it: odd and even outputs (tiles that hang over the edge), a 1×1 output, padding 0 to 3 (tiles wholly in
    // the padding), batch 1 and a prime batch (chunks of several samples, the last one short), DeepConvNet's 8×8 64→64.
    public static TheoryData<int, int, int, int, int, int> WinogradShapes() => new()
    {
        { 1, 16, 3, 3, 16, 0 },
        { 2, 16, 5, 7, 32, 1 },
        { 3, 32, 6, 4, 16, 2 },
        { 1, 16, 4, 5, 48, 3 },
        { 13, 16, 9, 8, 16, 1 },
        { 4, 64, 8, 8, 64, 1 },
        { 2, 16, 1, 11, 16, 1 },
    };

    [Theory]
    [MemberData(nameof(WinogradShapes))]
    public void The_Winograd_form_matches_the_definition(int N, int C, int H, int Wd, int FN, int p)
    {
        foreach (var form in new ConvolutionForm?[] { ConvolutionForm.Winograd, ConvolutionForm.Im2Col, null })
        {
            Check<double>(N, C, H, Wd, FN, 3, 3, 1, p, 1e-12, form);
            Check<float>(N, C, H, Wd, FN, 3, 3, 1, p, 1e-5, form);
        }
    }

    // Square filters of at most nine taps C·FH·FW, in the direct form (AVX-512) and without it: DeepConvNet's first layer,
    // one filter, 8 + 1 filters with a row of one vector and one lane, pad 2, 2×2 and 1×1 filters over several channels, a
    // one-row input, a prime batch (chunks of several samples, the last one short).
    public static TheoryData<int, int, int, int, int, int, int> DirectShapes() => new()
    {
        { 2, 1, 28, 28, 16, 3, 1 },
        { 1, 1, 5, 5, 1, 3, 0 },
        { 3, 1, 13, 15, 9, 3, 2 },
        { 5, 2, 6, 7, 3, 2, 1 },
        { 2, 9, 4, 5, 8, 1, 0 },
        { 4, 1, 1, 20, 17, 3, 1 },
        { 37, 1, 9, 8, 5, 3, 1 },
    };

    [Theory]
    [MemberData(nameof(DirectShapes))]
    public void The_direct_form_matches_the_definition(int N, int C, int H, int Wd, int FN, int F, int p)
    {
        foreach (var form in new[] { ConvolutionForm.Direct, ConvolutionForm.Shifted })
        {
            Check<double>(N, C, H, Wd, FN, F, F, 1, p, 1e-12, form);
            Check<float>(N, C, H, Wd, FN, F, F, 1, p, 1e-5, form);
        }
    }

    // Strided shapes in the phased form (the padded input's stride² phases) and in im2col: resnet_small's strided 3×3 and
    // 1×1 layers, stride 3, a 5×5 filter with pad 2, a 3×2 filter over a prime batch (chunks, the last one short), a
    // filter as large as the input, a one-row input, a stride above the filter (pixels no window reads, phases no tap
    // reads), a one-column input padded past a stride of 4, odd and even sizes, rows of stride 2 over several vectors.
    public static TheoryData<int, int, int, int, int, int, int, int, int> PhasedShapes() => new()
    {
        { 2, 16, 28, 28, 32, 3, 3, 2, 1 },
        { 3, 32, 14, 14, 64, 3, 3, 2, 1 },
        { 2, 16, 28, 28, 32, 1, 1, 2, 0 },
        { 1, 3, 7, 9, 5, 1, 1, 2, 0 },
        { 2, 2, 10, 11, 3, 3, 3, 3, 1 },
        { 5, 3, 9, 8, 4, 5, 5, 2, 2 },
        { 37, 2, 7, 6, 3, 3, 2, 2, 1 },
        { 1, 1, 4, 4, 2, 4, 4, 2, 0 },
        { 2, 3, 1, 9, 2, 1, 3, 2, 0 },
        { 3, 2, 9, 10, 2, 2, 2, 3, 0 },
        { 2, 2, 3, 1, 2, 4, 4, 4, 2 },       // a phase whose every cell is padding (w = 4q + 3 − 2 ≥ 1 = W)
        { 3, 2, 5, 37, 3, 3, 3, 2, 1 },      // stride 2's rows of pairs: two blocks of 32 float pixels, the last of 5
        { 2, 2, 4, 33, 2, 3, 3, 2, 2 },      // one pixel past a block, an even pad
        { 2, 2, 6, 9, 2, 2, 2, 2, 0 },       // the last pixel of a row in no window (R = 4 cells of 5 even pixels)
    };

    [Theory]
    [MemberData(nameof(PhasedShapes))]
    public void The_phased_form_and_im2col_both_match_the_definition(int N, int C, int H, int Wd, int FN, int FH, int FW, int s,
        int p)
    {
        foreach (var form in new ConvolutionForm?[] { ConvolutionForm.Phased, ConvolutionForm.Im2Col, null })
        {
            Check<double>(N, C, H, Wd, FN, FH, FW, s, p, 1e-12, form);
            Check<float>(N, C, H, Wd, FN, FH, FW, s, p, 1e-5, form);
        }
    }

    private static void Check<T>(int N, int C, int H, int Wd, int FN, int FH, int FW, int s, int p, double tol,
        ConvolutionForm? form = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(N * 100 + C * 10 + FH);
        var x = TestUtil.Random<T>(rng, N, C, H, Wd);
        var W = TestUtil.Random<T>(rng, FN, C, FH, FW);
        var b = TestUtil.Random<T>(rng, FN);
        var layer = new Convolution<T>(W, b, s, p) { ForceForm = form };
        // A forced form runs where it fits (every shape given for it here fits it; the gathered and direct ones need
        // AVX-512, and fall back to the shifted form and to im2col without it).
        var runs = layer.PlanFor(x).Form;
        if (form == ConvolutionForm.Gathered)
            Assert.Equal(Gemm.RowStartsDirect ? ConvolutionForm.Gathered : ConvolutionForm.Shifted, runs);
        else if (form == ConvolutionForm.Direct)
            Assert.Equal(DirectConvolution.Available ? ConvolutionForm.Direct : ConvolutionForm.Im2Col, runs);
        else if (form is { } forced) Assert.Equal(forced, runs);
        var y = layer.Forward(x);
        var xd = TestUtil.ToDouble(x);
        var Wdd = TestUtil.ToDouble(W);
        var expected = NaiveConv(xd, Wdd, TestUtil.ToDouble(b), N, C, H, Wd, FN, FH, FW, s, p, out int OH, out int OW);
        Assert.Equal([N, FN, OH, OW], y.Shape.ToArray());
        TestUtil.Close(expected, TestUtil.ToDouble(y), tol * 10, what: "y");
        // Backward from the definition: dx, dW and db of L = Σ dout·y.
        var dout = TestUtil.Random<T>(rng, N, FN, OH, OW);
        var dx = layer.Backward(dout);
        var dd = TestUtil.ToDouble(dout);
        var edx = new double[xd.Length];
        var edW = new double[Wdd.Length];
        var edb = new double[FN];
        for (int n = 0; n < N; n++)
            for (int f = 0; f < FN; f++)
                for (int oh = 0; oh < OH; oh++)
                    for (int ow = 0; ow < OW; ow++)
                    {
                        double g = dd[((n * FN + f) * OH + oh) * OW + ow];
                        edb[f] += g;
                        for (int c = 0; c < C; c++)
                            for (int i = 0; i < FH; i++)
                                for (int j = 0; j < FW; j++)
                                {
                                    int h = oh * s - p + i, w = ow * s - p + j;
                                    if (h < 0 || h >= H || w < 0 || w >= Wd) continue;
                                    int xi = ((n * C + c) * H + h) * Wd + w, wi = ((f * C + c) * FH + i) * FW + j;
                                    edx[xi] += g * Wdd[wi];
                                    edW[wi] += g * xd[xi];
                                }
                    }
        Assert.Equal(x.Shape.ToArray(), dx.Shape.ToArray());
        TestUtil.Close(edx, TestUtil.ToDouble(dx), tol * 10, what: "dx");
        TestUtil.Close(edW, TestUtil.ToDouble(layer.dW), tol * 10 * Math.Max(1, N * OH * OW / 4.0), what: "dW");
        TestUtil.Close(edb, TestUtil.ToDouble(layer.db), tol * 10 * Math.Max(1, N * OH * OW / 4.0), what: "db");
        // The same bits from a second backward pass (the forms' buffers kept from the forward pass are left whole), and from
        // a backward pass after a forward pass in inference (where no form keeps anything for a backward pass).
        T[][] Gradients(Tensor<T> d) => [d.Span.ToArray(), layer.dW.Span.ToArray(), layer.db.Span.ToArray()];
        var first = Gradients(dx);
        Assert.Equal(first, Gradients(layer.Backward(dout)));
        layer.Training = false;
        layer.Forward(x);
        Assert.Equal(first, Gradients(layer.Backward(dout)));
    }

    [Theory]
    [InlineData(37, 3, 9, 8, 5, 3, 3, 1, 1)]
    [InlineData(100, 1, 28, 28, 30, 5, 5, 1, 0)]   // SimpleConvNet's first layer at batch 100
    [InlineData(23, 16, 7, 7, 32, 3, 3, 2, 2)]
    [InlineData(23, 16, 8, 8, 16, 3, 3, 1, 1)]     // the Winograd form on AVX-512 (else the shifted one)
    [InlineData(100, 16, 8, 8, 32, 3, 3, 1, 1)]    // Winograd with more chunks than dU groups: chunks add into groups
    public void Convolution_is_bit_identical_on_one_and_two_threads_and_without_dx(int N, int C, int H, int Wd, int FN, int FH, int FW,
        int s, int p)
    {
        foreach (var dtype in new[] { typeof(float), typeof(double) })
        {
            if (dtype == typeof(float)) Same<float>(); else Same<double>();
        }

        void Same<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rng = new Random(11);
            var x = TestUtil.Random<T>(rng, N, C, H, Wd);
            var W = TestUtil.Random<T>(rng, FN, C, FH, FW);
            var b = TestUtil.Random<T>(rng, FN);
            int OH = (H + 2 * p - FH) / s + 1, OW = (Wd + 2 * p - FW) / s + 1;
            var dout = TestUtil.Random<T>(rng, N, FN, OH, OW);
            T[][]? first = null;
            foreach (int threads in new[] { 1, 2 })
            {
                using var _ = TestUtil.Threads(threads);
                var layer = new Convolution<T>(W.Clone(), b.Clone(), s, p);
                var y = layer.Forward(x).Span.ToArray();
                var dx = layer.Backward(dout).Span.ToArray();
                var dW = layer.dW.Span.ToArray();
                var db = layer.db.Span.ToArray();
                layer.Forward(x);
                Assert.Null(layer.Backward(dout, needDx: false));
                Assert.Equal(dW, layer.dW.Span.ToArray());
                Assert.Equal(db, layer.db.Span.ToArray());
                first ??= [y, dx, dW, db];
                Assert.Equal(first[0], y);
                Assert.Equal(first[1], dx);
                Assert.Equal(first[2], dW);
                Assert.Equal(first[3], db);
            }
        }
    }

    // Max pooling from its definition: the largest cell inside x of each window, the first in row-major order on ties
    // (padding never wins); the gradient goes to that cell only. Average pooling: the sum inside x over pool_h·pool_w,
    // and dout/(pool_h·pool_w) to every window cell inside x.
    private static (double[] Y, double[] Dx) NaivePool(bool max, double[] x, double[] dout, int N, int C, int H, int W, int PH, int PW,
        int s, int p, int OH, int OW)
    {
        var y = new double[N * C * OH * OW];
        var dx = new double[x.Length];
        for (int nc = 0; nc < N * C; nc++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++)
                {
                    int o = (nc * OH + oh) * OW + ow, best = -1;
                    double acc = 0;
                    for (int i = 0; i < PH; i++)
                        for (int j = 0; j < PW; j++)
                        {
                            int h = oh * s - p + i, w = ow * s - p + j;
                            if (h < 0 || h >= H || w < 0 || w >= W) continue;
                            int at = (nc * H + h) * W + w;
                            if (max && (best < 0 || x[at] > x[best])) best = at;
                            acc += x[at];
                        }
                    if (max)
                    {
                        y[o] = x[best];
                        dx[best] += dout[o];
                        continue;
                    }
                    y[o] = acc / (PH * PW);
                    for (int i = 0; i < PH; i++)
                        for (int j = 0; j < PW; j++)
                        {
                            int h = oh * s - p + i, w = ow * s - p + j;
                            if (h >= 0 && h < H && w >= 0 && w < W) dx[(nc * H + h) * W + w] += dout[o] / (PH * PW);
                        }
                }
        return (y, dx);
    }

    // (N, C, H, W, pool_h, pool_w, stride, pad): the textbooks' 2×2 stride 2, odd sizes with a column left over, windows
    // that overlap (stride 1), non-square windows, padding, and outputs per plane that are not a multiple of 8. For the
    // 2×2 stride-2 path that takes sixteen windows of a row at a time: rows of exactly 16 windows, of 2·16 + 3, and of 1;
    // rows of 8 and of 4 windows, which it takes two and four at a time, in planes of an odd number of rows (groups that
    // span two planes, and rows left over at the end) with a row and a column left over, the last two large enough for
    // two threads to split their planes.
    public static TheoryData<int, int, int, int, int, int, int, int> PoolShapes() => new()
    {
        { 3, 30, 24, 24, 2, 2, 2, 0 },
        { 2, 3, 25, 25, 2, 2, 2, 0 },   // rows of 12 windows four at a time, a row and a column left over
        { 1, 3, 7, 24, 2, 2, 2, 0 },    // rows of 12 in groups across planes (OH 3), one row left for the single path
        { 5, 7, 12, 25, 2, 2, 2, 0 },   // rows of 12, large enough for two threads
        { 3, 5, 16, 16, 2, 2, 2, 0 },
        { 2, 3, 15, 17, 2, 2, 2, 0 },
        { 3, 7, 8, 8, 2, 2, 2, 0 },
        { 2, 5, 11, 9, 2, 2, 2, 0 },
        { 1, 3, 7, 8, 2, 2, 2, 0 },
        { 8, 16, 32, 17, 2, 2, 2, 0 },
        { 32, 33, 11, 8, 2, 2, 2, 0 },
        { 2, 3, 7, 9, 2, 2, 2, 0 },
        { 1, 3, 32, 33, 2, 2, 2, 0 },
        { 2, 2, 5, 70, 2, 2, 2, 0 },
        { 3, 1, 3, 2, 2, 2, 2, 0 },
        { 1, 2, 5, 6, 3, 2, 1, 0 },
        { 2, 1, 8, 7, 3, 3, 3, 0 },
        { 37, 2, 4, 4, 2, 2, 2, 0 },
        { 2, 3, 7, 6, 3, 2, 2, 1 },
        { 1, 1, 1, 1, 1, 1, 1, 0 },
    };

    [Theory]
    [MemberData(nameof(PoolShapes))]
    public void Pooling_matches_the_definition_in_both_precisions_with_ties(int N, int C, int H, int W, int PH, int PW, int s, int p)
    {
        foreach (bool max in new[] { true, false })
        {
            Check<double>(max, 1e-12);
            Check<float>(max, 1e-5);
        }

        void Check<T>(bool max, double tol) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rng = new Random(N * 31 + H * 7 + PW);
            // Values on a coarse grid, so that many windows hold ties.
            var x = new Tensor<T>(Enumerable.Range(0, N * C * H * W).Select(_ => T.CreateTruncating(rng.Next(-3, 4) * 0.5)).ToArray(),
                N, C, H, W);
            int OH = (H + 2 * p - PH) / s + 1, OW = (W + 2 * p - PW) / s + 1;
            var dout = TestUtil.Random<T>(rng, N, C, OH, OW);
            Layer<T> layer = max ? new MaxPooling<T>(PH, PW, s, p) : new AveragePooling<T>(PH, PW, s, p);
            var (ey, edx) = NaivePool(max, TestUtil.ToDouble(x), TestUtil.ToDouble(dout), N, C, H, W, PH, PW, s, p, OH, OW);
            // dx from an earlier pass, overwritten by its caller: every cell must be written again below.
            layer.Forward(x);
            layer.Backward(TestUtil.Random<T>(rng, N, C, OH, OW)).Span.Fill(T.CreateTruncating(7));
            T[]? y1 = null, dx1 = null;
            foreach (int threads in new[] { 1, 2 })
            {
                using var _ = TestUtil.Threads(threads);
                var y = layer.Forward(x);
                Assert.Equal([N, C, OH, OW], y.Shape.ToArray());
                TestUtil.Close(ey, TestUtil.ToDouble(y), tol, what: $"{layer.Kind} y");
                var dx = layer.Backward(dout);
                TestUtil.Close(edx, TestUtil.ToDouble(dx), tol, what: $"{layer.Kind} dx");
                y1 ??= y.Span.ToArray();
                dx1 ??= dx.Span.ToArray();
                Assert.Equal(y1, y.Span.ToArray());
                Assert.Equal(dx1, dx.Span.ToArray());
            }
        }
    }

    [Fact]
    public void Im2col_and_col2im_are_adjoint()
    {
        // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for random x and c.
        var rng = new Random(3);
        foreach (var (N, C, H, W, FH, FW, s, p) in new[] { (2, 3, 7, 5, 3, 2, 1, 1), (1, 2, 9, 9, 3, 3, 2, 2), (3, 1, 4, 6, 4, 1, 3, 0) })
        {
            int OH = (H + 2 * p - FH) / s + 1, OW = (W + 2 * p - FW) / s + 1, K = C * FH * FW;
            var x = TestUtil.Random<double>(rng, N * C * H * W).Span.ToArray();
            var c = TestUtil.Random<double>(rng, N * OH * OW * K).Span.ToArray();
            var col = new double[c.Length];
            var back = new double[x.Length];
            Im2Col.Unfold<double>(x, N, C, H, W, FH, FW, s, p, col);
            Im2Col.Fold<double>(c, N, C, H, W, FH, FW, s, p, back);
            double left = col.Zip(c, (a, b) => a * b).Sum(), right = x.Zip(back, (a, b) => a * b).Sum();
            Assert.Equal(left, right, 10);
        }
    }

    [Fact]
    public void Every_backward_pass_matches_numerical_gradients()
    {
        var rng = new Random(5);
        var layers = new Layer<double>[]
        {
            new Convolution<double>(TestUtil.Random<double>(rng, 3, 2, 3, 2), TestUtil.Random<double>(rng, 3), stride: 2, pad: 1),
            new Convolution<double>(TestUtil.Random<double>(rng, 3, 2, 3, 2), TestUtil.Random<double>(rng, 3), pad: 1)
            {
                ForceForm = ConvolutionForm.Shifted,
            },
            new Convolution<double>(TestUtil.Random<double>(rng, 3, 2, 3, 3), TestUtil.Random<double>(rng, 3), pad: 1)
            {
                ForceForm = ConvolutionForm.Gathered,
            },
            new Convolution<double>(TestUtil.Random<double>(rng, 3, 2, 2, 2), TestUtil.Random<double>(rng, 3), pad: 1),   // direct
            new MaxPooling<double>(2, 3, stride: 1, pad: 1),
            new AveragePooling<double>(3, 2, stride: 2, pad: 1),
        };
        foreach (var layer in layers)
        {
            // Distinct values so that no max-pooling window has a tie within the finite-difference step.
            var x = Tensor<double>.Zeros(2, 2, 5, 6);
            var order = Enumerable.Range(0, x.Length).OrderBy(_ => rng.Next()).ToArray();
            for (int i = 0; i < x.Length; i++) x.Span[i] = order[i] * 0.37 - 20;
            foreach (var r in GradientCheck.Layer(layer, x, 5, target: layer.Kind))
                Assert.True(r.MaxRelativeError < 1e-7, $"{layer.Kind} {r.Parameter}: {r.MaxRelativeError:E2}");
        }
    }

    [Fact]
    public void The_Winograd_form_matches_numerical_gradients()
    {
        // Eight float64 channels and filters (a vector), odd output sizes (tiles over the edge), padding 1.
        var rng = new Random(11);
        var layer = new Convolution<double>(TestUtil.Random<double>(rng, 8, 8, 3, 3), TestUtil.Random<double>(rng, 8), pad: 1)
        {
            ForceForm = ConvolutionForm.Winograd,
        };
        var x = TestUtil.Random<double>(rng, 2, 8, 5, 3);
        Assert.Equal(ConvolutionForm.Winograd, layer.PlanFor(x).Form);
        foreach (var r in GradientCheck.Layer(layer, x, 5, target: layer.Kind))
            Assert.True(r.MaxRelativeError < 1e-7, $"winograd {r.Parameter}: {r.MaxRelativeError:E2}");
    }

    [Fact]
    public void Max_pooling_gives_ties_to_the_first_maximum_and_ignores_padding()
    {
        // All −1 with padding 1: padded cells are −∞ (never 0, as the textbook's zero padding would give).
        var x = new Tensor<double>(Enumerable.Repeat(-1.0, 9).ToArray(), 1, 1, 3, 3);
        var pool = new MaxPooling<double>(2, 2, stride: 2, pad: 1);
        var y = pool.Forward(x);
        Assert.Equal([1, 1, 2, 2], y.Shape.ToArray());
        Assert.All(y.Span.ToArray(), v => Assert.Equal(-1.0, v));
        var dx = pool.Backward(new Tensor<double>([1.0, 2, 3, 4], 1, 1, 2, 2));
        // Each window's first real cell in row-major order wins its tie: (0,0), (0,1), (1,0), (1,1).
        Assert.Equal([1.0, 2, 0, 3, 4, 0, 0, 0, 0], dx.Span.ToArray());
        var ties = new MaxPooling<double>(2, 2).Forward(new Tensor<double>([5.0, 5, 5, 5], 1, 1, 2, 2));
        Assert.Equal(5.0, ties.Span[0]);
    }

    [Fact]
    public void Average_pooling_divides_by_the_whole_window()
    {
        var x = new Tensor<double>([1.0, 2, 3, 4], 1, 1, 2, 2);
        var y = new AveragePooling<double>(2, 2, stride: 2, pad: 1).Forward(x);
        Assert.Equal([0.25, 0.5, 0.75, 1.0], y.Span.ToArray());   // one real cell of four in each window
    }

    [Fact]
    public void Bad_shapes_and_parameters_are_clear_errors()
    {
        var conv = new Convolution<double>(Tensor<double>.Zeros(2, 3, 5, 5), Tensor<double>.Zeros(2));
        Assert.Contains("larger than the padded input", Assert.Throws<ShapeMismatchException>(() =>
            conv.Forward(Tensor<double>.Zeros(1, 3, 4, 4))).Message);
        Assert.Contains("with 2 channels, but W has shape (2, 3, 5, 5) and expects 3",
            Assert.Throws<ShapeMismatchException>(() => conv.Forward(Tensor<double>.Zeros(1, 2, 5, 5))).Message);
        Assert.Throws<InvalidInputException>(() => new Convolution<double>(Tensor<double>.Zeros(2, 3, 5, 5), Tensor<double>.Zeros(2),
            stride: 0));
        Assert.Throws<InvalidInputException>(() => new MaxPooling<double>(2, 2, pad: 2));
        var (code, stdout, err) = TestUtil.Cli("W: [[[[1]]]]\nb: [0]\nx: [[[[1, 2]]]]\ndout: [[[[1, 1]]]]\npad: 0.5\n", "layer", "conv");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("pad must be an integer", err);
    }
}
