using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Tests;

/// <summary>Every GEMM path against the naive loops: transposes, tile edges, odd sizes, both element types.</summary>
[Collection("Global kernel settings")]
public class GemmTests
{
    public static TheoryData<GemmPath, int, int, int> Shapes()
    {
        var data = new TheoryData<GemmPath, int, int, int>();
        int[][] shapes =
        [
            [1, 1, 1], [2, 3, 2], [1, 17, 33], [7, 1, 9], [8, 32, 1], [9, 33, 17], [15, 16, 31], [17, 97, 65],
            [6, 16, 8], [13, 257, 40], [97, 5, 300], [40, 70, 784], [64, 64, 64], [100, 10, 100], [3, 600, 2], [130, 70, 45],
            // narrow products: 8-row blocks and remainders; N at, past and at twice a vector
            [3, 8, 5], [9, 16, 1], [17, 7, 64], [33, 9, 20], [11, 20, 7], [9, 32, 13],
            [100, 100, 10], [5, 301, 16], [4, 13, 3],         // short reductions against a transposed B
            // one or two rows: dot groups (K at and past a vector), outer products, eight-vector rows
            [1, 40, 16], [2, 9, 8], [1, 33, 100], [2, 130, 1], [1, 200, 7],
            // few rows and columns, a long reduction (a convolution's dW): edge blocks, a K tail, several K blocks
            [5, 7, 2100], [17, 3, 2051], [64, 64, 2100],
            // the same in 5×5 blocks: SimpleConvNet's 30×25, and short blocks at both edges
            [30, 25, 600], [29, 24, 2600], [16, 20, 2100],   // (the last in 4×4 blocks)
        ];
        foreach (var path in new[] { GemmPath.Vector512, GemmPath.Vector256, GemmPath.Scalar })
            foreach (var s in shapes) data.Add(path, s[0], s[1], s[2]);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Matches_naive_loops_in_float64(GemmPath path, int M, int N, int K) => Check<double>(path, M, N, K);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Matches_naive_loops_in_float32(GemmPath path, int M, int N, int K) => Check<float>(path, M, N, K);

    private static void Check<T>(GemmPath path, int M, int N, int K) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(M * 1000 + N * 10 + K);
        var saved = Gemm.Path;
        Gemm.Path = path;
        try
        {
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    foreach (bool withBias in new[] { false, true })
                        foreach (bool acc in new[] { false, true })
                        {
                            // Stored operands with padding in the leading dimension, to test lda/ldb/ldc.
                            int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
                            var a = TestUtil.Random<T>(rng, (ta ? K : M) * lda).Span.ToArray();
                            var b = TestUtil.Random<T>(rng, (tb ? N : K) * ldb).Span.ToArray();
                            var bias = withBias ? TestUtil.Random<T>(rng, N).Span.ToArray() : [];
                            var c = TestUtil.Random<T>(rng, M * ldc).Span.ToArray();
                            var c0 = c.Select(v => double.CreateTruncating(v)).ToArray();

                            var opA = new double[M * K];
                            var opB = new double[K * N];
                            for (int i = 0; i < M; i++)
                                for (int k = 0; k < K; k++) opA[i * K + k] = double.CreateTruncating(ta ? a[k * lda + i] : a[i * lda + k]);
                            for (int k = 0; k < K; k++)
                                for (int j = 0; j < N; j++) opB[k * N + j] = double.CreateTruncating(tb ? b[j * ldb + k] : b[k * ldb + j]);
                            var expected = Naive.MatMul(opA, opB, M, K, N, withBias ? bias.Select(v =>
                                double.CreateTruncating(v)).ToArray() : null);
                            var scale = Naive.AbsMatMul(opA, opB, M, K, N);

                            Gemm.Multiply<T>(ta, tb, M, N, K, a, lda, b, ldb, c, ldc, bias, acc);

                            for (int i = 0; i < M; i++)
                            {
                                for (int j = 0; j < N; j++)
                                {
                                    double want = expected[i * N + j] + (acc ? c0[i * ldc + j] : 0);
                                    double got = double.CreateTruncating(c[i * ldc + j]);
                                    double tol = TestUtil.Eps<T>() * (scale[i * N + j] + 3);
                                    Assert.True(Math.Abs(got - want) <= tol,
                                        $"{path} ta={ta} tb={tb} bias={withBias} acc={acc} C[{i},{j}]: expected {want}, got {got}");
                                }
                                for (int j = N; j < ldc; j++)
                                    Assert.Equal(c0[i * ldc + j], double.CreateTruncating(c[i * ldc + j]));   // padding untouched
                            }
                        }
        }
        finally
        {
            Gemm.Path = saved;
        }
    }

    [Theory]
    [InlineData(256, 1024, 300, false, false)]
    [InlineData(1000, 70, 513, false, false)]
    [InlineData(33, 2000, 129, false, false)]
    // Direct products split between cores: rows (dW of a batch of one), columns (y and dx of a batch of one), odd sizes.
    [InlineData(784, 100, 1, true, false)]
    [InlineData(1, 100, 784, false, false)]
    [InlineData(1, 784, 100, false, true)]
    [InlineData(2, 1001, 37, false, false)]
    [InlineData(2, 999, 33, true, true)]
    [InlineData(650, 90, 2, false, true)]
    [InlineData(99, 200, 2, false, false)]
    [InlineData(206, 100, 2, false, false)]   // two threads put rows 100–101 in a pair, one thread in a quad
    [InlineData(206, 100, 2, true, false)]
    [InlineData(30, 25, 4611, false, true)]   // long reductions: rows split in blocks of 5
    [InlineData(29, 24, 4099, false, true)]   // 5×5 blocks, the last row and column blocks short
    [InlineData(25, 31, 2600, false, true)]   // 5×5 blocks, columns split
    [InlineData(16, 145, 3000, false, true)]  // 4×4 blocks, columns split
    public void Results_are_bit_identical_across_thread_counts(int M, int N, int K, bool ta, bool tb)
    {
        if (K > 2000) Assert.Equal(K == 3000 ? 4 : 5, Gemm.LongDotSide(M, N));
        var rng = new Random(5);
        var a = TestUtil.Random<float>(rng, M * K).Span.ToArray();
        var b = TestUtil.Random<float>(rng, K * N).Span.ToArray();
        var bias = TestUtil.Random<float>(rng, N).Span.ToArray();
        float[] Run(int threads)
        {
            using var _ = TestUtil.Threads(threads);
            var c = new float[M * N];
            Gemm.Multiply<float>(ta, tb, M, N, K, a, ta ? M : K, b, tb ? K : N, c, N, bias);
            return c;
        }
        var one = Run(1);
        for (int rep = 0; rep < 3; rep++)
        {
            Assert.Equal(one, Run(2));
            Assert.Equal(one, Run(1));
        }
    }

    // The edge kernels (last rows or last columns of C) must sum every element exactly as the full kernel does: the top
    // left M×N of a product whose tiles are all full (108 = 9·12 rows, 128 columns = whole panels in float and double)
    // is computed again with M×N operands, whose edge tiles take the 4-row, 8-row and one-vector kernels.
    [Theory]
    [InlineData(100, 100)]   // 4 rows and 4 columns past the last full tile
    [InlineData(104, 112)]   // 8 rows; 16 columns (one float vector, a full double panel)
    [InlineData(97, 65)]     // 1 row, 1 column
    [InlineData(101, 40)]    // 5 rows; 8 columns past a float panel (one double vector)
    [InlineData(3, 128)]     // only an edge row block
    public void Edge_tiles_are_bit_identical_to_full_tiles(int M, int N)
    {
        EdgeCheck<float>(M, N);
        EdgeCheck<double>(M, N);
    }

    private static void EdgeCheck<T>(int M, int N) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int FullM = 108, FullN = 128, K = 300;
        var rng = new Random(M * 131 + N);
        foreach (var path in new[] { GemmPath.Vector512, GemmPath.Vector256 })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    foreach (int threads in new[] { 1, 2 })
                    {
                        // op(A) is FullM×K and op(B) K×FullN, stored with those leading dimensions; the small product reads
                        // the same storage with its smaller M and N (a submatrix), so it sees the same values.
                        var a = TestUtil.Random<T>(rng, FullM * K).Span.ToArray();
                        var b = TestUtil.Random<T>(rng, K * FullN).Span.ToArray();
                        var bias = TestUtil.Random<T>(rng, FullN).Span.ToArray();
                        int lda = ta ? FullM : K, ldb = tb ? K : FullN;
                        var full = new T[FullM * FullN];
                        var part = new T[M * N];
                        var saved = Gemm.Path;
                        try
                        {
                            Gemm.Path = path;
                            using var _ = TestUtil.Threads(threads);
                            Gemm.Multiply<T>(ta, tb, FullM, FullN, K, a, lda, b, ldb, full, FullN, bias);
                            Gemm.Multiply<T>(ta, tb, M, N, K, a, lda, b, ldb, part, N, bias.AsSpan(0, N));
                        }
                        finally
                        {
                            Gemm.Path = saved;
                        }
                        for (int i = 0; i < M; i++)
                            for (int j = 0; j < N; j++)
                                if (full[i * FullN + j] != part[i * N + j])
                                    Assert.Fail($"{typeof(T).Name} {path} ta={ta} tb={tb} threads={threads} C[{i},{j}]: full " +
                                        $"tile {full[i * FullN + j]}, edge tile {part[i * N + j]}");
                    }
    }

    [Theory]
    [InlineData(2, 16)]
    [InlineData(3, 17)]
    [InlineData(784, 100)]
    [InlineData(37, 33)]
    [InlineData(5, 8)]
    [InlineData(1, 9)]
    [InlineData(31, 300)]
    public void Outer_products_into_contiguous_C_at_every_alignment(int M, int N)
    {
        OuterProducts<float>(M, N);
        OuterProducts<double>(M, N);
    }

    // K = 1 with ldc = N (dW of a batch of one), C at every offset within its array, on 1 and 2 threads, written or
    // accumulated: every element is exactly x[i]·d[j] (+ bias[j]) (+ old), and nothing outside C is written.
    private static void OuterProducts<T>(int M, int N) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(M + N);
        var x = TestUtil.Random<T>(rng, M).Span.ToArray();
        var d = TestUtil.Random<T>(rng, N).Span.ToArray();
        var bias = TestUtil.Random<T>(rng, N).Span.ToArray();
        var old = TestUtil.Random<T>(rng, M * N).Span.ToArray();
        var sentinel = T.CreateTruncating(7);
        foreach (int threads in new[] { 1, 2 })
            foreach (bool withBias in new[] { false, true })
                foreach (bool ta in new[] { false, true })
                    foreach (bool accumulate in new[] { false, true })
                        for (int offset = 0; offset < 16; offset++)
                        {
                            using var _ = TestUtil.Threads(threads);
                            var store = Enumerable.Repeat(sentinel, offset + M * N + 16).ToArray();
                            old.CopyTo(store, offset);
                            // op(A) is M×1: A stored as M×1 (lda 1) or, transposed, as 1×M (lda M).
                            Gemm.Multiply<T>(ta, false, M, N, 1, x, ta ? M : 1, d, N, store.AsSpan(offset), N, withBias ? bias : default,
                                accumulate);
                            for (int i = 0; i < offset; i++) Assert.Equal(sentinel, store[i]);
                            for (int i = 0; i < M; i++)
                                for (int j = 0; j < N; j++)
                                {
                                    T want = x[i] * d[j];
                                    if (withBias) want += bias[j];
                                    if (accumulate) want += old[i * N + j];
                                    if (store[offset + i * N + j] != want)
                                        Assert.Fail($"{typeof(T).Name} threads={threads} offset {offset} bias={withBias} ta={ta} " +
                                            $"acc={accumulate} C[{i},{j}]: {store[offset + i * N + j]} vs {want}");
                                }
                            for (int i = offset + M * N; i < store.Length; i++) Assert.Equal(sentinel, store[i]);
                        }
    }

    [Theory]
    [InlineData(784, 100, 100)]    // dW of a 784-100 layer, batch 100: packed, rows split
    [InlineData(100, 256, 128)]    // packed, columns split
    [InlineData(1024, 33, 300)]    // packed, rows split, columns past a tile
    [InlineData(784, 100, 1)]      // batch of one: outer product (direct)
    [InlineData(100, 10, 100)]     // narrow output layer
    [InlineData(300, 5, 200)]      // few columns: the product runs transposed
    [InlineData(3, 40, 7)]         // small: direct
    public void Column_sums_of_B_come_with_the_product(int M, int N, int K)
    {
        ColumnSums<float>(M, N, K);
        ColumnSums<double>(M, N, K);
    }

    // columnSums receives Σ_k op(B)[k,j] on every path, for both layouts of B, bit-identical on 1 and 2 threads, and the
    // product itself is unchanged by asking for it.
    private static void ColumnSums<T>(int M, int N, int K) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(M * 7 + N * 3 + K);
        var a = TestUtil.Random<T>(rng, M * K).Span.ToArray();
        var b = TestUtil.Random<T>(rng, K * N).Span.ToArray();
        foreach (bool tb in new[] { false, true })
        {
            T[]? first = null;
            foreach (int threads in new[] { 1, 2 })
            {
                using var _ = TestUtil.Threads(threads);
                var c = new T[M * N];
                var plain = new T[M * N];
                var sums = Enumerable.Repeat(T.CreateTruncating(99), N).ToArray();
                Gemm.Multiply<T>(true, tb, M, N, K, a, M, b, tb ? K : N, c, N, columnSums: sums);
                Gemm.Multiply<T>(true, tb, M, N, K, a, M, b, tb ? K : N, plain, N);
                Assert.Equal(plain, c);
                for (int j = 0; j < N; j++)
                {
                    double want = 0, scale = 0;
                    for (int k = 0; k < K; k++)
                    {
                        double v = double.CreateTruncating(tb ? b[j * K + k] : b[k * N + j]);
                        want += v;
                        scale += Math.Abs(v);
                    }
                    Assert.True(Math.Abs(double.CreateTruncating(sums[j]) - want) <= TestUtil.Eps<T>() * (scale + 1),
                        $"{typeof(T).Name} tb={tb} threads={threads} sum[{j}]: {sums[j]} vs {want}");
                }
                first ??= sums;
                Assert.Equal(first, sums);
            }
        }
    }

    [Fact]
    public void Rejects_operands_that_are_too_small()
    {
        var a = new double[5];
        var b = new double[6];
        var c = new double[6];
        Assert.Throws<ArgumentException>(() => Gemm.Multiply<double>(false, false, 2, 3, 3, a, 3, b, 3, c, 3));
    }
}

[CollectionDefinition("Global kernel settings", DisableParallelization = true)]
public class GlobalKernelSettingsCollection;

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

[Collection("Global kernel settings")]
public class GemmRowStartTests
{
    // B given by where each row starts, the rows overlapping (a convolution's shifted views of one plane): packed and long
    // dot-product shapes, both orientations, every path, against the naive product of the B those rows spell out.
    [Theory]
    [InlineData(13, 70, 37)]
    [InlineData(16, 144, 784)]
    [InlineData(64, 395, 576)]
    [InlineData(1, 1, 1)]
    [InlineData(9, 49, 601)]   // past a row block, a column tile and two reduction blocks of the unpacked path
    [InlineData(40, 90, 300)]  // with transB, Cᵀ in place: 12×2W tiles, the last ones partial
    [InlineData(70, 91, 300)]  // 6×4W tiles, partial
    public void Products_over_row_starts_match_naive_loops(int M, int N, int K)
    {
        foreach (var path in new[] { GemmPath.Scalar, GemmPath.Vector256, GemmPath.Vector512 })
        {
            if (path > Gemm.BestPath) continue;
            Gemm.Path = path;
            try
            {
                foreach (bool transB in new[] { false, true })
                {
                    RowStarts<double>(M, N, K, transB, 1e-12);
                    RowStarts<float>(M, N, K, transB, 1e-5);
                }
            }
            finally
            {
                Gemm.Path = GemmPath.Auto;
            }
        }
    }

    private static unsafe void RowStarts<T>(int M, int N, int K, bool transB, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(M + N + K);
        int rows = transB ? N : K, length = transB ? K : N;
        var offsets = new long[rows];
        for (int r = 0; r < rows; r++) offsets[r] = r * 3L + r % 5;           // rows overlap and step unevenly
        var buffer = new T[offsets.Max() + length + Gemm.RowStartsOverread<T>()];
        for (int i = 0; i < buffer.Length; i++) buffer[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        var a = new T[M * K];
        for (int i = 0; i < a.Length; i++) a[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        var opB = new double[K * N];                                          // op(B)[k, j]
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++) opB[k * N + j] = double.CreateTruncating(transB ? buffer[offsets[j] + k] : buffer[offsets[k] + j]);
        var ad = a.Select(double.CreateTruncating).ToArray();
        var expected = Naive.MatMul(ad, opB, M, K, N);
        var c = new T[M * N];
        var scale = Naive.AbsMatMul(ad, opB, M, K, N);
        fixed (T* pa = a, pb = buffer, pc = c)
        fixed (long* po = offsets)
            Gemm.MultiplyRows(transB, M, N, K, pa, K, pb, po, pc, N);
        TestUtil.Close(expected, c.Select(double.CreateTruncating).ToArray(), tol * 10, scale,
            what: $"C ({typeof(T).Name}, transB {transB}, {Gemm.Path})");
        if (transB || !Gemm.RowStartsDirect) return;
        // The unpacked path (AVX-512): B read in place, only A packed.
        var packA = new T[Gemm.RowStartsScratch(M, K)];
        Array.Clear(c);
        fixed (T* pa = a, pb = buffer, pc = c, pp = packA)
        fixed (long* po = offsets)
            Gemm.MultiplyRowStarts(M, N, K, pa, K, pb, po, pc, N, pp);
        TestUtil.Close(expected, c.Select(double.CreateTruncating).ToArray(), tol * 10, scale, what: $"C ({typeof(T).Name}, unpacked)");
    }

    // M, N, K: one element; 6×4W tiles with the last rows and lanes partial (N = 4W + 1 takes a second column block);
    // 8×2W and 8×W tiles; a prime reduction.
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(13, 65, 37)]
    [InlineData(23, 30, 25)]
    [InlineData(17, 16, 101)]
    [InlineData(9, 3, 7)]
    [InlineData(64, 64, 576)]
    public unsafe void Gathered_products_match_naive_loops(int M, int N, int K)
    {
        if (!Gemm.RowStartsDirect) return;   // AVX-512 only
        foreach (bool accumulate in new[] { false, true })
        {
            Check<double>(1e-12, accumulate);
            Check<float>(1e-5, accumulate);
        }

        // With accumulate, C starts at 7 and the product is added to it.
        void Check<T>(double tol, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rng = new Random(M * 7 + N + K);
            // A[i, k] = a[rowOffsets[i] + colOffsets[k]]: rows and columns that step unevenly and overlap.
            var rowOffsets = Enumerable.Range(0, M).Select(i => i * 5L + i % 3).ToArray();
            var colOffsets = Enumerable.Range(0, K).Select(k => k * 2L + k % 7).ToArray();
            var buffer = new T[rowOffsets.Max() + colOffsets.Max() + 1];
            for (int i = 0; i < buffer.Length; i++) buffer[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
            var b = new T[K * N];
            for (int i = 0; i < b.Length; i++) b[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
            var ad = new double[M * K];
            for (int i = 0; i < M; i++)
                for (int k = 0; k < K; k++) ad[i * K + k] = double.CreateTruncating(buffer[rowOffsets[i] + colOffsets[k]]);
            var bd = b.Select(double.CreateTruncating).ToArray();
            var expected = Naive.MatMul(ad, bd, M, K, N);
            if (accumulate) expected = expected.Select(e => e + 7).ToArray();
            var scale = Naive.AbsMatMul(ad, bd, M, K, N);
            int ldc = N + 3;                                                   // C's rows apart: nothing written between them
            var c = Enumerable.Repeat(T.CreateTruncating(7), M * ldc).ToArray();
            fixed (T* pa = buffer, pb = b, pc = c)
            fixed (long* pr = rowOffsets, pk = colOffsets)
                Gemm.MultiplyGathered(M, N, K, pa, pr, pk, pb, N, pc, ldc, accumulate);
            var got = new double[M * N];
            for (int i = 0; i < M; i++)
                for (int j = 0; j < ldc; j++)
                    if (j < N) got[i * N + j] = double.CreateTruncating(c[i * ldc + j]);
                    else Assert.Equal(T.CreateTruncating(7), c[i * ldc + j]);
            TestUtil.Close(expected, got, tol * 10, scale, what: $"gathered C ({typeof(T).Name})");
        }
    }
}
