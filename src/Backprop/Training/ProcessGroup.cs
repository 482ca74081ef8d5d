using System.Text;

namespace Backprop.Training;

/// <summary>
/// The processes that train one model together, data-parallel: every process holds the model, computes the gradients of
/// its shards of each batch, and the shards' gradients are summed in shard order on every process (see
/// <see cref="TrainerOptions.Shards"/>). <see cref="Single"/> is one process; <see cref="MpiProcessGroup"/> is the
/// processes <c>mpirun</c> started.
/// </summary>
public abstract class ProcessGroup : IDisposable
{
    /// <summary>This process's index, 0 to <see cref="Size"/> − 1.</summary>
    public abstract int Rank { get; }

    /// <summary>The number of processes.</summary>
    public abstract int Size { get; }

    /// <summary>Every process's block of bytes (of any length), in rank order, on every process. The blocks may live in a
    /// buffer of the group's, valid until its next exchange.</summary>
    public abstract ReadOnlyMemory<byte>[] AllGather(ReadOnlyMemory<byte> mine);

    /// <summary>Sends <paramref name="data"/> to process <paramref name="to"/> (which receives it with the same length).</summary>
    public abstract void Send(ReadOnlySpan<byte> data, int to);

    /// <summary>Receives into <paramref name="data"/> what process <paramref name="from"/> sends, in the order it sent.</summary>
    public abstract void Receive(Span<byte> data, int from);

    /// <summary>
    /// Sends <paramref name="data"/> to process <paramref name="to"/> while receiving into <paramref name="into"/> what
    /// process <paramref name="from"/> sends (MPI_Sendrecv): the pairs of an exchange where every process sends and
    /// receives at once. The default sends, then receives, which suits a group whose sends do not wait for the receive.
    /// </summary>
    public virtual void SendReceive(ReadOnlySpan<byte> data, int to, Span<byte> into, int from)
    {
        Send(data, to);
        Receive(into, from);
    }

    /// <summary>Whether any thread may call the group, one at a time (the trainer's exchange thread, see
    /// <see cref="Trainer{T}.OverlapExchange"/>); true by default.</summary>
    public virtual bool AnyThread => true;

    /// <summary>Process <paramref name="root"/>'s <paramref name="data"/> into every process's (of the same length).</summary>
    public abstract void Broadcast(Span<byte> data, int root);

    /// <summary>One process: training as without a group.</summary>
    public static ProcessGroup Single { get; } = new SingleProcess();

    /// <summary>
    /// The shards <paramref name="rank"/> computes of <paramref name="shards"/>: a contiguous range, so that concatenating
    /// the processes' blocks in rank order lists the shards in order.
    /// </summary>
    public static (int First, int End) ShardsOf(int rank, int size, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, size);
        return ((int)((long)shards * rank / size), (int)((long)shards * (rank + 1) / size));
    }

    /// <summary>
    /// Throws unless every process gives the same <paramref name="value"/> (what it trains, on what, how), naming the first
    /// process that differs from rank 0: processes started with different options are refused before any step.
    /// </summary>
    /// <exception cref="InvalidInputException">A process that differs.</exception>
    public void Agree(string what, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var all = AllGather(Encoding.UTF8.GetBytes(value));
        for (int r = 1; r < all.Length; r++)
            if (!all[r].Span.SequenceEqual(all[0].Span))
                throw new InvalidInputException($"process {r} of {all.Length} has another {what} than process 0: " +
                    $"'{Encoding.UTF8.GetString(all[r].Span)}' against '{Encoding.UTF8.GetString(all[0].Span)}'; start every " +
                    "process with the same options");
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the group's resources.</summary>
    protected virtual void Dispose(bool disposing) { }

    private sealed class SingleProcess : ProcessGroup
    {
        public override int Rank => 0;
        public override int Size => 1;
        public override ReadOnlyMemory<byte>[] AllGather(ReadOnlyMemory<byte> mine) => [mine];
        public override void Send(ReadOnlySpan<byte> data, int to) => throw new InvalidOperationException("one process has no peer");
        public override void Receive(Span<byte> data, int from) => throw new InvalidOperationException("one process has no peer");
        public override void Broadcast(Span<byte> data, int root) { }
    }
}
