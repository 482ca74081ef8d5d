using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Tests;

/// <summary>The FMA-rate measurement beside the benchmark rows: it runs on every path and thread count and reports a rate.</summary>
[Collection("Global kernel settings")]
public class FmaPeakTests
{
    [Theory]
    [InlineData(GemmPath.Auto, 1)]
    [InlineData(GemmPath.Auto, 2)]
    [InlineData(GemmPath.Vector256, 1)]
    [InlineData(GemmPath.Scalar, 2)]
    public void Every_path_reports_a_finite_positive_rate(GemmPath path, int threads)
    {
        var saved = Gemm.Path;
        try
        {
            Gemm.Path = path;
            Check<float>(threads);
            Check<double>(threads);
        }
        finally
        {
            Gemm.Path = saved;
        }
    }

    private static void Check<T>(int threads) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double gflops = FmaPeak.Measure<T>(threads, 0.002);
        Assert.True(double.IsFinite(gflops) && gflops > 0, $"{typeof(T).Name} on {threads} threads: {gflops}");
        // Every chain x ← 0.999·x + 0.001 starts at its fixed point 1, so the sum of the twelve (per lane) stays near 12·lanes.
        Assert.True(double.IsFinite(FmaPeak.Sink) && FmaPeak.Sink >= 12 * 0.99, $"{typeof(T).Name}: chains summed to {FmaPeak.Sink}");
    }

    [Theory]
    [InlineData(0, 0.01)]
    [InlineData(1, 0)]
    [InlineData(1, double.NaN)]
    [InlineData(1, 61)]
    public void Bad_arguments_throw(int threads, double seconds) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => FmaPeak.Measure<float>(threads, seconds));
}
