using System.Numerics;

namespace Backprop.Tests;

internal static class TestUtil
{
    public static Tensor<T> Random<T>(Random rng, params int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = Tensor<T>.Zeros(shape);
        for (int i = 0; i < t.Length; i++) t.Span[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        return t;
    }

    public static double[] ToDouble<T>(Tensor<T> t) where T : unmanaged, IFloatingPointIeee754<T> =>
        t.Span.ToArray().Select(v => double.CreateTruncating(v)).ToArray();

    /// <summary>Sets <see cref="Parallelism.MaxThreads"/> until the returned scope is disposed, then restores it.</summary>
    public static IDisposable Threads(int threads)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        return new Restore(() => Parallelism.MaxThreads = saved);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    /// <summary>The element-wise tolerance scale: 1e-5 relative in float32; far tighter in float64.</summary>
    public static double Eps<T>() => typeof(T) == typeof(float) ? 1e-5 : 1e-12;

    /// <summary>Asserts |actual − expected| ≤ tol·(scale or 1) element by element, naming the first failure.</summary>
    public static void Close(double[] expected, double[] actual, double tol, double[]? scale = null, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double s = Math.Max(1.0, scale?[i] ?? Math.Abs(expected[i]));
            double err = Math.Abs(actual[i] - expected[i]);
            Assert.True(err <= tol * s, $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (error {err:E2} > {tol * s:E2})");
        }
    }

    /// <summary>The repository's folder (the one with Backprop.slnx above the test binaries).</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Backprop.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("the repository above the test folder");
    }

    public static (int Code, string Out, string Err) Cli(string stdin, params string[] args)
    {
        var oldIn = Console.In;
        var o = new StringWriter();
        var e = new StringWriter();
        lock (CliLock)
        {
            try
            {
                Console.SetIn(new StringReader(stdin));
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                int code = Backprop.Cli.Program.Run(args, o, e);
                LastCliTime = System.Diagnostics.Stopwatch.GetElapsedTime(start);
                return (code, o.ToString(), e.ToString());
            }
            finally
            {
                Console.SetIn(oldIn);
            }
        }
    }

    private static readonly object CliLock = new();

    /// <summary>How long this thread's last <see cref="Cli"/> command ran, not counting the wait for another test's command.</summary>
    [ThreadStatic] public static TimeSpan LastCliTime;

    public const string TextbookInput = """
        W:
        [[0.1, 0.2, 0.3],
        [0.4, 0.5, 0.6]]
        b:
        [0.1, 0.2, 0.3]
        x:
        [[1, 2],
        [3, 4]]
        dout:
        [[0.1, 0.2, 0.3],
        [0.4, 0.5, 0.6]]
        """;
}
