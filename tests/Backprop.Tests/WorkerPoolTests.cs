using Backprop.Kernels;

namespace Backprop.Tests;

/// <summary>The fork-join pool: every part runs exactly once, on whichever thread claims it, and failures surface.</summary>
[Collection("Global kernel settings")]
public class WorkerPoolTests
{
    private sealed class Recorder(int parts, int throwAt = -1) : WorkerPool.IJob
    {
        public readonly int[] Runs = new int[parts];
        public readonly int[] Threads = new int[parts];

        public void Execute(int part, int count)
        {
            Assert.Equal(parts, count);
            Interlocked.Increment(ref Runs[part]);
            Threads[part] = Environment.CurrentManagedThreadId;
            if (part == throwAt) throw new InvalidOperationException($"part {part} failed");
        }
    }

    [Fact]
    public void Every_part_runs_exactly_once()
    {
        int parts = WorkerPool.Shared.Capacity;
        for (int job = 0; job < 2000; job++)
        {
            var r = new Recorder(parts);
            WorkerPool.Shared.Run(r, parts);
            Assert.All(r.Runs, n => Assert.Equal(1, n));
        }
    }

    [Fact]
    public void The_caller_runs_the_parts_of_a_worker_that_does_not_come()
    {
        if (WorkerPool.Shared.Capacity < 2) return;   // one core: no workers, every part runs on the caller anyway
        WorkerPool.BeforeWorkerClaims = () => Thread.Sleep(100);
        try
        {
            var r = new Recorder(2);
            WorkerPool.Shared.Run(r, 2);
            Assert.Equal([1, 1], r.Runs);
            Assert.Equal([Environment.CurrentManagedThreadId, Environment.CurrentManagedThreadId], r.Threads);

            // A product split between threads, its worker late for every job: still bit-identical to one thread.
            var rng = new Random(3);
            int M = 300, N = 200, K = 150;
            var a = TestUtil.Random<float>(rng, M * K).Span.ToArray();
            var b = TestUtil.Random<float>(rng, K * N).Span.ToArray();
            float[] Product(int threads)
            {
                using var _ = TestUtil.Threads(threads);
                var c = new float[M * N];
                Gemm.Multiply<float>(false, false, M, N, K, a, K, b, N, c, N);
                return c;
            }
            var two = Product(2);
            WorkerPool.BeforeWorkerClaims = null;
            Assert.Equal(Product(1), two);
        }
        finally
        {
            WorkerPool.BeforeWorkerClaims = null;
        }
        // Late workers from the jobs above find nothing left to claim, and later jobs run every part once.
        for (int job = 0; job < 200; job++)
        {
            var r = new Recorder(2);
            WorkerPool.Shared.Run(r, 2);
            Assert.Equal([1, 1], r.Runs);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_failing_part_is_reported_after_every_part_has_finished(int failing)
    {
        int parts = Math.Min(2, WorkerPool.Shared.Capacity);
        if (failing >= parts) return;
        var r = new Recorder(parts, failing);
        var e = Assert.Throws<AggregateException>(() => WorkerPool.Shared.Run(r, parts));
        Assert.Contains($"part {failing} failed", e.InnerException!.Message);
        Assert.All(r.Runs, n => Assert.Equal(1, n));
        var next = new Recorder(parts);
        WorkerPool.Shared.Run(next, parts);   // the pool is free again
        Assert.All(next.Runs, n => Assert.Equal(1, n));
    }
}
