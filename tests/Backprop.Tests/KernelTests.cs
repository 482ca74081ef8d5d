using System.Runtime.Intrinsics;
using Backprop.Kernels;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Networks;

namespace Backprop.Tests;

[Collection("Global kernel settings")]   // sets Parallelism.MaxThreads, which the allocation tests read
public class KernelTests
{
    [Fact]
    public void Outputs_large_enough_to_stream_match_the_formulas()
    {
        // Just past the streaming threshold, starting 3 elements into the arrays so that the output is not 64-byte aligned.
        int n = (int)(Map.StreamBytes / sizeof(float)) + 37;
        Assert.True(Map.Streams<float>(n) || !(System.Runtime.Intrinsics.X86.Avx512F.IsSupported && Vector512.IsHardwareAccelerated));
        var rng = new Random(8);
        float[] Rand() => Enumerable.Range(0, n + 3).Select(_ => (float)(rng.NextDouble() * 16 - 8)).ToArray();
        float[] x = Rand(), dout = Rand(), y = new float[n + 3], dx = new float[n + 3];
        var xs = x.AsSpan(3);
        var ys = y.AsSpan(3);
        var ds = dout.AsSpan(3);
        var dxs = dx.AsSpan(3);
        void Check(string what, Span<float> got, Func<int, double> want, double tol)
        {
            for (int i = 0; i < n; i++)
            {
                double w = want(i);
                if (!(Math.Abs(got[i] - w) <= tol * Math.Max(1, Math.Abs(w)))) Assert.Fail($"{what}[{i}]: expected {w}, got {got[i]}");
            }
        }
        Elementwise.ReluForward<float>(xs, ys);
        Check("relu", ys, i => Math.Max(x[3 + i], 0), 0);
        Elementwise.ReluBackward<float>(xs, ds, dxs);
        Check("relu backward", dxs, i => x[3 + i] > 0 ? dout[3 + i] : 0, 0);
        Elementwise.SigmoidForward<float>(xs, ys);
        Check("sigmoid", ys, i => 1 / (1 + Math.Exp(-x[3 + i])), 1e-6);
        Elementwise.SigmoidBackward<float>(ys, ds, dxs);
        Check("sigmoid backward", dxs, i => dout[3 + i] * y[3 + i] * (1 - y[3 + i]), 1e-6);
        Elementwise.TanhBackward<float>(xs, ds, dxs);
        Check("tanh backward", dxs, i => dout[3 + i] * (1 - x[3 + i] * (double)x[3 + i]), 1e-5);
        Elementwise.LeakyReluForward<float>(xs, 0.1f, ys);
        Check("leaky relu", ys, i => x[3 + i] > 0 ? x[3 + i] : 0.1 * x[3 + i], 1e-7);
        Assert.Equal([0f, 0f, 0f], y[..3]);   // nothing written before the output
        Assert.Equal([0f, 0f, 0f], dx[..3]);
    }

    [Fact]
    public void Vector_exp_matches_the_library_exp_over_the_whole_range()
    {
        if (!Vector512.IsHardwareAccelerated) return;   // the scalar paths are the library's own Exp
        var rng = new Random(9);
        for (int i = 0; i < 20000; i++)
        {
            double xd = rng.NextDouble() * 1499 - 790;   // up to 709, the largest argument kept
            double got = VectorMath.Exp(Vector512.Create(xd)).GetElement(0), want = Math.Exp(xd);
            if (xd < -708) Assert.Equal(0.0, got);
            else Assert.True(Math.Abs(got - want) <= 4e-16 * want, $"exp({xd:R}) = {got:R}, want {want:R}");

            float xf = (float)(rng.NextDouble() * 198 - 110);   // up to 88, the largest argument kept
            float gf = VectorMath.Exp(Vector512.Create(xf)).GetElement(0), wf = MathF.Exp(xf);
            if (xf < -87.3f) Assert.Equal(0f, gf);
            else Assert.True(Math.Abs(gf - wf) <= 3e-7 * wf, $"exp({xf:R}) = {gf:R}, want {wf:R}");
        }
    }

    [SkippableFact]
    public void Vector_tanh_keeps_its_relative_precision_near_zero_and_saturates_far_out()
    {
        Skip.IfNot(Vector512.IsHardwareAccelerated, "the 512-bit kernel needs AVX-512");
        var rng = new Random(5);
        var xs = new List<double> { 0, 1e-300, -1e-30, 1e-8, 0.2499999, 0.25, 0.2500001, -0.25, 0.5, 1, 5, 9, 19, 20, 100, -1000, 1000 };
        for (int i = 0; i < 4000; i++) xs.Add((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-12, 3)));
        foreach (double x in xs)
        {
            double want = Math.Tanh(x);
            double got = VectorMath.Tanh(Vector512.Create(x)).GetElement(0);
            Assert.True(Math.Abs(got - want) <= 1e-15 * Math.Abs(want) || got == want, $"tanh({x:R}) = {got:R}, want {want:R}");
            float xf = (float)x;
            double wantf = Math.Tanh(xf);
            float gf = VectorMath.Tanh(Vector512.Create(xf)).GetElement(0);
            Assert.True(Math.Abs(gf - wantf) <= 5e-7 * Math.Abs(wantf) || gf == wantf, $"tanhf({xf:R}) = {gf:R}, want {wantf:R}");
            Assert.True(Math.Abs(got) <= 1 && Math.Abs(gf) <= 1);
        }
    }

    [Fact]
    public void Vector_sigmoid_is_exact_at_the_extremes_and_accurate_between()
    {
        if (!Vector512.IsHardwareAccelerated) return;
        foreach (double x in new[] { -1000.0, -745, -100, -20, -1, -1e-8, 0, 1e-8, 1, 20, 100, 1000 })
        {
            double want = 1 / (1 + Math.Exp(-x));
            double got = VectorMath.Sigmoid(Vector512.Create(x)).GetElement(0);
            Assert.True(Math.Abs(got - want) <= 1e-15 * Math.Max(want, 1e-300) || (want < 1e-300 && got == 0),
                $"σ({x}) = {got:R}, want {want:R}");
            float gf = VectorMath.Sigmoid(Vector512.Create((float)x)).GetElement(0);
            Assert.True(float.IsFinite(gf) && Math.Abs(gf - want) <= 1e-6 * want + 1e-38, $"σf({x}) = {gf:R}");
        }
    }

    [Theory]
    [InlineData(ActivationLayer<float>.ParallelElements * 3 + 17)]
    [InlineData((int)(Map.StreamBytes / sizeof(float)) * 2 + 17)]   // both halves written with non-temporal stores
    public void Activations_split_across_threads_give_the_same_result(int n)
    {
        var rng = new Random(1);
        var x = TestUtil.Random<float>(rng, n);
        var dout = TestUtil.Random<float>(rng, n);
        foreach (var kind in Backprop.Models.Kinds.Activations.Select(k => k.Name))
        {
            float[] Run(int threads)
            {
                using var _ = TestUtil.Threads(threads);
                var layer = Backprop.Models.Kinds.Create<float>(kind);
                var y = layer.Forward(x).Span.ToArray();
                return [.. y, .. layer.Backward(dout).Span.ToArray()];
            }
            Assert.Equal(Run(1), Run(2));
        }
    }

    [Fact]
    public void A_training_step_of_a_three_layer_network_allocates_nothing()
    {
        foreach (int threads in new[] { 1, 2 })
        {
            using (TestUtil.Threads(threads))
            {
                var rng = new Random(2);
                var net = new Sequential<float>(
                [
                    new FullyConnected<float>(TestUtil.Random<float>(rng, 784, 256), TestUtil.Random<float>(rng, 256)),
                    new Relu<float>(),
                    new FullyConnected<float>(TestUtil.Random<float>(rng, 256, 128), TestUtil.Random<float>(rng, 128)),
                    new Sigmoid<float>(),
                    new FullyConnected<float>(TestUtil.Random<float>(rng, 128, 10), TestUtil.Random<float>(rng, 10)),
                ], new SoftmaxCrossEntropy<float>());
                var x = TestUtil.Random<float>(rng, 100, 784);
                var t = Tensor<float>.Zeros(100);
                for (int i = 0; i < 100; i++) t[i] = i % 10;
                for (int i = 0; i < 3; i++) { net.ComputeLoss(x, t); net.Backward(); }   // buffers sized, code jitted
                // A step that allocates does so in every window; a per-thread buffer that grew once (a job run on the caller
                // while another process or test held the cores) does not again. Up to three windows of ten steps, one clean.
                var windows = new List<long>();
                for (int w = 0; w < 3 && (windows.Count == 0 || windows[^1] != 0); w++)
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    for (int i = 0; i < 10; i++) { net.ComputeLoss(x, t); net.Backward(); }
                    windows.Add(GC.GetAllocatedBytesForCurrentThread() - before);
                }
                Assert.True(windows[^1] == 0, $"{threads} threads: {string.Join(", ", windows)} bytes in windows of 10 steps");
            }
        }
    }

}
