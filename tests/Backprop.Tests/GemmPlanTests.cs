using Backprop.Kernels;

namespace Backprop.Tests;

public class GemmPlanTests
{
    [Theory]
    [InlineData(0, 5, 5, GemmMethod.Empty)]
    [InlineData(5, 5, 0, GemmMethod.BiasOnly)]
    [InlineData(1, 100, 784, GemmMethod.Direct)]          // forward of a batch of one
    [InlineData(100, 100, 784, GemmMethod.Packed)]        // forward of 100×784×100
    [InlineData(1000, 3, 200, GemmMethod.PackedTransposed)]   // few columns, many rows: Cᵀ
    public void Plans_follow_the_shape_on_the_256_bit_path(int M, int N, int K, GemmMethod method) =>
        Assert.Equal(method, Gemm.Plan<float>(GemmPath.Vector256, false, false, M, N, K, 1).Method);

    [Fact]
    public void An_empty_reduction_gives_the_bias_or_adds_it()
    {
        var c = new double[] { 1, 2, 3, 4, 5, 6 };
        Gemm.Multiply<double>(transA: false, transB: false, 2, 3, 0, [], 1, [], 3, c, 3, bias: [10, 20, 30]);
        Assert.Equal([10, 20, 30, 10, 20, 30], c);
        Gemm.Multiply<double>(transA: false, transB: false, 2, 3, 0, [], 1, [], 3, c, 3, bias: [1, 1, 1], accumulate: true);
        Assert.Equal([11, 21, 31, 11, 21, 31], c);
    }

    [Fact]
    public void Short_reductions_against_a_transposed_B_transpose_it_once()
    {
        // dx = dout·Wᵀ of a 100-100-10 layer: M = 100, N = 100, K = 10.
        Assert.Equal(GemmMethod.ShortTransposedB, Gemm.Plan<float>(GemmPath.Vector256, false, true, 100, 100, 10, 2).Method);
        Assert.Equal(GemmMethod.Packed, Gemm.Plan<float>(GemmPath.Scalar, false, true, 100, 100, 10, 2).Method);
    }

    [SkippableFact]
    public void Narrow_products_keep_rows_in_masked_512_bit_registers()
    {
        Skip.IfNot(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, "needs AVX-512");
        Assert.Equal(GemmMethod.Narrow, Gemm.Plan<float>(GemmPath.Vector512, false, false, 100, 10, 100, 2).Method);
        Assert.Equal(GemmMethod.Narrow2, Gemm.Plan<float>(GemmPath.Vector512, false, false, 100, 20, 100, 2).Method);
        Assert.Equal(GemmMethod.Narrow2, Gemm.Plan<double>(GemmPath.Vector512, false, false, 100, 10, 100, 2).Method);
    }

    [SkippableFact]
    public void Long_reductions_of_few_rows_and_columns_skip_packing()
    {
        Skip.IfNot(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, "needs AVX-512");
        // SimpleConvNet's dW = dout·colᵀ: 30 filters × 25 taps over 57 600 pixels.
        var plan = Gemm.Plan<float>(GemmPath.Vector512, false, true, 30, 25, 57600, 2);
        Assert.Equal((GemmMethod.LongDot, 2, true), (plan.Method, plan.Parts, plan.SplitRows));
        Assert.Equal(GemmMethod.Packed, Gemm.Plan<float>(GemmPath.Vector256, false, true, 30, 25, 57600, 2).Method);
        // DeepConvNet's second convolution, one sample: 16 filters × 144 taps over 784 pixels.
        Assert.Equal(GemmMethod.LongDot, Gemm.Plan<float>(GemmPath.Vector512, false, true, 16, 144, 784, 1).Method);
        // A short reduction (the dx = dout·Wᵀ of a small batch) keeps the packed path.
        Assert.NotEqual(GemmMethod.LongDot, Gemm.Plan<float>(GemmPath.Vector512, false, true, 3, 784, 256, 1).Method);
        Assert.NotEqual(GemmMethod.LongDot, Gemm.Plan<float>(GemmPath.Vector512, false, true, 30, 25, 100, 2).Method);
    }

    [SkippableFact]
    public void The_processor_signature_is_the_one_Linux_reports()
    {
        Skip.IfNot(System.Runtime.Intrinsics.X86.X86Base.IsSupported && File.Exists("/proc/cpuinfo"), "needs x86 Linux");
        // The kernel decodes CPUID's leaf 1 itself: its "cpu family" and "model" of the first processor are the oracle.
        string Field(string name) => File.ReadLines("/proc/cpuinfo").First(l => l.Split(':')[0].Trim() == name).Split(':')[1].Trim();
        Assert.Equal((int.Parse(Field("cpu family")), int.Parse(Field("model"))), Processor.Signature);
        Assert.Contains($"family {Processor.Signature.Family} model {Processor.Signature.Model}", Processor.Describe());
        if (Processor.Vendor == "AuthenticAMD" && Processor.Signature.Family == 26) Assert.Equal("Zen 5", Processor.Core);
    }

    [Fact]
    public void The_packed_depth_follows_the_L1_cache_the_processor_reports()
    {
        var (l1, l2) = Processor.Caches;
        Assert.InRange(l1, 8 << 10, 4 << 20);
        Assert.InRange(l2, 64 << 10, 1 << 30);
        // A's MR×KC micro-panel (12 rows) in L1d, a multiple of 8, at least 64 and at most 512 deep
        foreach (var (kc, size) in new[] { (Gemm.KC<float>(GemmPath.Vector512), 4), (Gemm.KC<double>(GemmPath.Vector512), 8) })
        {
            Assert.True(12 * kc * size <= l1 || kc == 64, $"KC {kc}: A's micro-panel of {12 * kc * size} bytes exceeds L1d ({l1})");
            Assert.True(kc == 512 || 12 * (kc + 8) * size > l1, $"KC {kc} is not the deepest that fits L1d ({l1})");
            Assert.Equal(0, kc % 8);
            Assert.InRange(kc, 64, 512);
        }
        Assert.Contains($"KC {Gemm.KC<float>(GemmPath.Vector512)}", Gemm.Blocking<float>(GemmPath.Vector512));
    }

    [Theory]
    [InlineData(256, 784, 200)]   // four blocks of 200, 200, 200 and 184, not 256, 256, 256 and 16
    [InlineData(256, 256, 256)]
    [InlineData(256, 257, 136)]   // 136 and 121
    [InlineData(256, 100, 104)]   // one block (the buffers hold min(depth, K))
    [InlineData(128, 1024, 128)]
    public void Blocks_of_K_are_as_equal_as_multiples_of_8_allow(int kc, int K, int depth)
    {
        Assert.Equal(depth, Gemm.Depth(kc, K));
        int blocks = (K + depth - 1) / depth;
        Assert.Equal((K + kc - 1) / kc, blocks);   // no more blocks than kc needs
    }

    [Fact]
    public void Large_products_split_between_threads_and_small_ones_do_not()
    {
        var big = Gemm.Plan<float>(GemmPath.Vector256, false, false, 1024, 1024, 1024, 2);
        Assert.Equal((GemmMethod.Packed, 2, true), (big.Method, big.Parts, big.SplitRows));
        Assert.Equal(1, Gemm.Plan<float>(GemmPath.Vector256, false, false, 1024, 1024, 1024, 1).Parts);
        Assert.Equal(1, Gemm.Plan<float>(GemmPath.Vector256, false, false, 20, 20, 20, 2).Parts);
        var wide = Gemm.Plan<float>(GemmPath.Vector256, true, false, 784, 100, 1, 2);   // dW of a batch of one
        Assert.Equal((GemmMethod.Direct, 2, true), (wide.Method, wide.Parts, wide.SplitRows));
        Assert.Contains("2 threads by rows", wide.ToString());
    }

    [Fact]
    public void The_naive_reference_tests_reach_every_method_on_every_path()
    {
        // GemmTests.Shapes with the four transposes, as Check runs them, planned on one and two threads: no method goes
        // untested against the naive loops (the narrow ones exist on the 512-bit path only; BiasOnly has its own test).
        foreach (var path in new[] { GemmPath.Vector512, GemmPath.Vector256, GemmPath.Scalar })
        {
            if (path == GemmPath.Vector512 && !System.Runtime.Intrinsics.X86.Avx512F.IsSupported) continue;
            var seen = new HashSet<GemmMethod>();
            foreach (var row in GemmTests.Shapes())
                if ((GemmPath)row[0] == path)
                    foreach (bool ta in new[] { false, true })
                        foreach (bool tb in new[] { false, true })
                            foreach (int threads in new[] { 1, 2 })
                                seen.Add(Gemm.Plan<float>(path, ta, tb, (int)row[1], (int)row[2], (int)row[3], threads).Method);
            var expected = path switch
            {
                GemmPath.Vector512 => new[] { GemmMethod.Narrow, GemmMethod.Narrow2, GemmMethod.ShortTransposedB, GemmMethod.Direct,
                    GemmMethod.PackedTransposed, GemmMethod.Packed },
                GemmPath.Vector256 => new[] { GemmMethod.ShortTransposedB, GemmMethod.Direct, GemmMethod.PackedTransposed,
                    GemmMethod.Packed },
                _ => new[] { GemmMethod.PackedTransposed, GemmMethod.Packed },
            };
            foreach (var m in expected) Assert.True(seen.Contains(m), $"{path}: no test shape takes {m}");
        }
    }
}
