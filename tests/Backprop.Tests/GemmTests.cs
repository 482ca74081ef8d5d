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
