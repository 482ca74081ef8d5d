using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// The fused multiply-add rate the machine gives right now: twelve independent FMA chains held in registers (no memory
/// traffic), on the vectors the matrix products use (<see cref="Gemm.Path"/>), on the threads they use.
/// </summary>
/// <remarks>
/// A product's GFLOP/s divided by this figure is the share of the machine's arithmetic it uses. On a shared or virtual
/// host the figure itself moves from minute to minute (two virtual cores may land on one physical core), so measure it
/// beside what it is compared with, as <c>backprop bench</c> does for every fully connected row.
/// </remarks>
internal static unsafe class FmaPeak
{
    private const int Chains = 12;   // more than FMA latency × FMA ports on current x86 cores: the loop never waits

    /// <summary>
    /// GFLOP/s (an FMA counts as two) of <paramref name="threads"/> threads (at most the processor count) running FMA
    /// chains for about <paramref name="seconds"/> seconds.
    /// </summary>
    public static double Measure<T>(int threads, double seconds) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), $"FmaPeak: threads must be at least 1, not {threads}");
        if (!(seconds > 0 && seconds <= 60)) throw new ArgumentOutOfRangeException(nameof(seconds),
            $"FmaPeak: seconds must be in (0, 60], not {seconds}");
        var path = Gemm.EffectivePath;
        int lanes = path switch { GemmPath.Vector512 => Vector512<T>.Count, GemmPath.Vector256 => Vector256<T>.Count, _ => 1 };
        int parts = Math.Min(threads, WorkerPool.Shared.Capacity);

        // Calibrate on this thread: double the count until one run takes a tenth of the time asked for.
        long iterations = 1024;
        while (true)
        {
            long t0 = Stopwatch.GetTimestamp();
            Sink = Chain<T>(path, iterations);
            if (Stopwatch.GetElapsedTime(t0).TotalSeconds * 10 >= seconds || iterations >= 1L << 40) break;
            iterations *= 2;
        }
        long perPart = iterations * 10;

        var job = new Job<T>(path, perPart);
        long start = Stopwatch.GetTimestamp();
        WorkerPool.Shared.Run(job, parts);
        double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        Sink = job.Result;
        return parts * (double)perPart * Chains * 2 * lanes / elapsed / 1e9;
    }

    /// <summary>Where each run's result goes, so the chains are never optimized away.</summary>
    internal static double Sink;

    private sealed class Job<T>(GemmPath path, long iterations) : WorkerPool.IJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        public double Result;

        public void Execute(int part, int parts)
        {
            double r = Chain<T>(path, iterations);
            if (part == 0) Result = r;
        }
    }

    // x ← x·m + c in each chain; m < 1 and c small keep every value finite and normal for any number of iterations.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double Chain<T>(GemmPath path, long iterations) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T m = T.CreateTruncating(0.999), c = T.CreateTruncating(0.001);
        switch (path)
        {
            case GemmPath.Vector512:
            {
                var vm = Vector512.Create(m); var vc = Vector512.Create(c);
                var x0 = Vector512.Create(T.One); var x1 = x0; var x2 = x0; var x3 = x0; var x4 = x0; var x5 = x0;
                var x6 = x0; var x7 = x0; var x8 = x0; var x9 = x0; var x10 = x0; var x11 = x0;
                for (long i = 0; i < iterations; i++)
                {
                    x0 = Simd.Fma(x0, vm, vc); x1 = Simd.Fma(x1, vm, vc); x2 = Simd.Fma(x2, vm, vc); x3 = Simd.Fma(x3, vm, vc);
                    x4 = Simd.Fma(x4, vm, vc); x5 = Simd.Fma(x5, vm, vc); x6 = Simd.Fma(x6, vm, vc); x7 = Simd.Fma(x7, vm, vc);
                    x8 = Simd.Fma(x8, vm, vc); x9 = Simd.Fma(x9, vm, vc); x10 = Simd.Fma(x10, vm, vc); x11 = Simd.Fma(x11, vm, vc);
                }
                return double.CreateTruncating(Vector512.Sum(((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)) + ((x8 + x9) + (x10
                    + x11))));
            }
            case GemmPath.Vector256:
            {
                var vm = Vector256.Create(m); var vc = Vector256.Create(c);
                var x0 = Vector256.Create(T.One); var x1 = x0; var x2 = x0; var x3 = x0; var x4 = x0; var x5 = x0;
                var x6 = x0; var x7 = x0; var x8 = x0; var x9 = x0; var x10 = x0; var x11 = x0;
                for (long i = 0; i < iterations; i++)
                {
                    x0 = Simd.Fma(x0, vm, vc); x1 = Simd.Fma(x1, vm, vc); x2 = Simd.Fma(x2, vm, vc); x3 = Simd.Fma(x3, vm, vc);
                    x4 = Simd.Fma(x4, vm, vc); x5 = Simd.Fma(x5, vm, vc); x6 = Simd.Fma(x6, vm, vc); x7 = Simd.Fma(x7, vm, vc);
                    x8 = Simd.Fma(x8, vm, vc); x9 = Simd.Fma(x9, vm, vc); x10 = Simd.Fma(x10, vm, vc); x11 = Simd.Fma(x11, vm, vc);
                }
                return double.CreateTruncating(Vector256.Sum(((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)) + ((x8 + x9) + (x10
                    + x11))));
            }
            default:
            {
                T x0 = T.One, x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0, x11 = x0;
                for (long i = 0; i < iterations; i++)
                {
                    x0 = T.FusedMultiplyAdd(x0, m, c); x1 = T.FusedMultiplyAdd(x1, m, c); x2 = T.FusedMultiplyAdd(x2, m, c);
                    x3 = T.FusedMultiplyAdd(x3, m, c); x4 = T.FusedMultiplyAdd(x4, m, c); x5 = T.FusedMultiplyAdd(x5, m, c);
                    x6 = T.FusedMultiplyAdd(x6, m, c); x7 = T.FusedMultiplyAdd(x7, m, c); x8 = T.FusedMultiplyAdd(x8, m, c);
                    x9 = T.FusedMultiplyAdd(x9, m, c); x10 = T.FusedMultiplyAdd(x10, m, c); x11 = T.FusedMultiplyAdd(x11, m, c);
                }
                return double.CreateTruncating(((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)) + ((x8 + x9) + (x10 + x11)));
            }
        }
    }
}
