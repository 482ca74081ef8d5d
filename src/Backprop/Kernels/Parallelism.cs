namespace Backprop;

/// <summary>How many threads Backprop's kernels may use, and which matrix-multiply path they take.</summary>
public static class Parallelism
{
    private static int _maxThreads = Environment.ProcessorCount;

    /// <summary>
    /// The most threads one matrix product may use (default: the processor count). Products too small to
    /// gain from a second thread always run on the caller's thread. Results are bit-identical for every value.
    /// </summary>
    public static int MaxThreads
    {
        get => _maxThreads;
        set
        {
            if (value < 1) throw new InvalidInputException($"Parallelism.MaxThreads must be at least 1, not {value}");
            _maxThreads = value;
        }
    }
}

/// <summary>The instruction set a matrix product runs on.</summary>
public enum GemmPath
{
    /// <summary>The widest the processor accelerates: Vector512, then Vector256, then scalar.</summary>
    Auto,
    /// <summary>512-bit vectors with fused multiply-add (AVX-512).</summary>
    Vector512,
    /// <summary>256-bit vectors with fused multiply-add (AVX2 + FMA).</summary>
    Vector256,
    /// <summary>Plain scalar code that runs on any processor .NET supports.</summary>
    Scalar,
}

/// <summary>
/// A fixed set of background threads for fork-join work without allocation. One job runs at a time;
/// a caller that finds the pool busy runs its job alone on its own thread.
/// </summary>
/// <remarks>
/// Between jobs a worker spins for up to <see cref="SpinMicroseconds"/> before it blocks: a training step issues a
/// parallel product every few tens of microseconds, and waking a blocked thread costs about as much as the product.
/// Parts are claimed, not assigned: the caller takes part 0, and whoever is free takes the next unclaimed part. A worker
/// that the operating system (or the host of a virtual machine) has descheduled thus costs at most the caller doing its
/// part too, instead of a wait for the worker to run again. What a part computes depends only on its index, so results
/// do not depend on which thread ran it.
/// </remarks>
internal sealed class WorkerPool
{
    internal interface IJob
    {
        void Execute(int part, int parts);
    }

    public static readonly WorkerPool Shared = new(Math.Max(0, Environment.ProcessorCount - 1));

    private const int SpinMicroseconds = 1000;
    private const int Closed = 1 << 30;   // a claim count no job reaches: claims made between jobs get nothing

    /// <summary>Tests only: runs in a worker after it wakes for a job and before it claims a part.</summary>
    internal static Action? BeforeWorkerClaims;

    private readonly SemaphoreSlim[] _start;
    private readonly int[] _sleeping;
    private IJob? _job;
    private int _parts;
    private int _claimed;   // parts handed out so far (Closed while a job is being set up or after it)
    private int _done;      // parts finished
    private int _busy;
    private int _generation;
    private Exception? _error;

    private WorkerPool(int workers)
    {
        _start = new SemaphoreSlim[workers];
        _sleeping = new int[workers];
        for (int w = 0; w < workers; w++)
        {
            _start[w] = new SemaphoreSlim(0);
            int worker = w;
            var t = new Thread(() => Loop(worker)) { IsBackground = true, Name = $"backprop-worker-{worker + 1}" };
            t.Start();
        }
    }

    /// <summary>The most parts a job can be split into (workers plus the caller).</summary>
    public int Capacity => _start.Length + 1;

    /// <summary>
    /// Part <paramref name="part"/> of <paramref name="parts"/> of the range [0, n), cut at multiples of
    /// <paramref name="align"/> (the last part takes the remainder; a part may be empty).
    /// </summary>
    public static (int Lo, int Hi) Part(int n, int align, int part, int parts)
    {
        long blocks = (n + (long)align - 1) / align;
        return ((int)Math.Min(n, blocks * part / parts * align), (int)Math.Min(n, blocks * (part + 1) / parts * align));
    }

    /// <summary>
    /// Runs <paramref name="job"/> as <paramref name="parts"/> parts: part 0 on the caller, the others on whichever
    /// thread claims them first (a worker, or the caller once its own part is done).
    /// </summary>
    public void Run(IJob job, int parts)
    {
        parts = Math.Min(parts, Capacity);
        if (parts <= 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int p = 0; p < parts; p++) job.Execute(p, parts);
            return;
        }
        try
        {
            // Claims stay closed until the job is published, so a late worker never takes a part of a half-set job.
            Volatile.Write(ref _claimed, Closed);
            _job = job;
            _parts = parts;
            _error = null;
            Volatile.Write(ref _done, 0);
            Volatile.Write(ref _claimed, 1);   // part 0 is the caller's
            Interlocked.Increment(ref _generation);
            for (int w = 0; w < _start.Length; w++)
                if (Interlocked.Exchange(ref _sleeping[w], 0) == 1) _start[w].Release();
            try
            {
                job.Execute(0, parts);
            }
            catch (Exception e)
            {
                _error = e;   // thrown once every claimed part has finished, so no worker outlives the job
            }
            Interlocked.Increment(ref _done);
            RunClaimed(job, parts);
            var spin = new SpinWait();
            while (Volatile.Read(ref _done) != parts) spin.SpinOnce(-1);
            Volatile.Write(ref _claimed, Closed);
            _job = null;
            if (_error is { } error) throw new AggregateException("A part of a parallel job failed", error);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    // Runs unclaimed parts of the current job until none is left. A part's index is claimed before the job's fields are
    // read, and the job cannot change until every claimed part is done, so the fields read belong to the claimed part.
    private void RunClaimed(IJob? callerJob, int callerParts)
    {
        while (true)
        {
            int part = Interlocked.Increment(ref _claimed) - 1;
            int parts = callerJob == null ? Volatile.Read(ref _parts) : callerParts;
            if (part >= parts) return;
            var job = callerJob ?? _job!;
            try
            {
                job.Execute(part, parts);
            }
            catch (Exception e)
            {
                _error = e;
            }
            Interlocked.Increment(ref _done);
        }
    }

    private void Loop(int worker)
    {
        int w = worker;
        int seen = 0;   // the generation when the pool was built: a job published before this thread starts still counts
        long spinTicks = System.Diagnostics.Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
        while (true)
        {
            long until = System.Diagnostics.Stopwatch.GetTimestamp() + spinTicks;
            while (Volatile.Read(ref _generation) == seen)
            {
                if (System.Diagnostics.Stopwatch.GetTimestamp() < until)
                {
                    // One pause between looks: Thread.SpinWait(30) here made an empty fork-join take 1.1 µs instead of 0.3.
                    Thread.SpinWait(1);
                    continue;
                }
                // Announce the sleep (a full fence), then look again: a job published meanwhile either sees the flag
                // and releases the semaphore, or finds it cleared by us.
                Interlocked.Exchange(ref _sleeping[w], 1);
                if (Volatile.Read(ref _generation) != seen && Interlocked.Exchange(ref _sleeping[w], 0) == 1) break;
                _start[w].Wait();
                break;
            }
            seen = Volatile.Read(ref _generation);
            BeforeWorkerClaims?.Invoke();
            RunClaimed(null, 0);
        }
    }
}
