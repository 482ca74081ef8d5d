using System.Runtime.InteropServices;

namespace Backprop.Training;

/// <summary>
/// The processes <c>mpirun</c> started, over Open MPI's <c>libmpi</c> (Debian: <c>openmpi-bin</c>, <c>libopenmpi-dev</c>),
/// reached through P/Invoke: MPI_Init_thread, MPI_Comm_rank and MPI_Comm_size on MPI_COMM_WORLD, MPI_Allgather,
/// MPI_Allgatherv, MPI_Send, MPI_Recv, MPI_Sendrecv and MPI_Bcast of bytes, MPI_Abort and MPI_Finalize; the handles (MPI_COMM_WORLD,
/// MPI_BYTE, MPI_INT64_T) are the addresses of the objects Open MPI exports (<c>ompi_mpi_comm_world</c>, …). MPI carries
/// the bytes; nothing here does.
/// </summary>
public sealed unsafe class MpiProcessGroup : ProcessGroup
{
    private readonly nint _world, _byte, _int64;
    private readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> _allgather;
    private readonly delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int> _allgatherv;
    private readonly delegate* unmanaged<nint, int, int> _abort;
    private readonly delegate* unmanaged<void*, int, nint, int, int, nint, int> _send;
    private readonly delegate* unmanaged<void*, int, nint, int, int, nint, void*, int> _recv;
    private readonly delegate* unmanaged<void*, int, nint, int, nint, int> _bcast;
    private readonly delegate* unmanaged<void*, int, nint, int, int, void*, int, nint, int, int, nint, void*, int> _sendrecv;
    private readonly delegate* unmanaged<int> _finalize;
    private bool _finalized;
    private byte[] _received = [];

    /// <summary>True in a process that <c>mpirun</c> (Open MPI) started.</summary>
    public static bool Launched => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    private MpiProcessGroup(nint lib)
    {
        nint Export(string name) => NativeLibrary.TryGetExport(lib, name, out var a) ? a
            : throw new InvalidInputException($"libmpi has no '{name}': Open MPI's library is needed (apt-get install openmpi-bin " +
                "libopenmpi-dev)");
        _world = Export("ompi_mpi_comm_world");
        _byte = Export("ompi_mpi_byte");
        _int64 = Export("ompi_mpi_int64_t");
        _allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Export("MPI_Allgather");
        _allgatherv = (delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int>)Export("MPI_Allgatherv");
        _abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        _send = (delegate* unmanaged<void*, int, nint, int, int, nint, int>)Export("MPI_Send");
        _recv = (delegate* unmanaged<void*, int, nint, int, int, nint, void*, int>)Export("MPI_Recv");
        _bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast");
        _sendrecv = (delegate* unmanaged<void*, int, nint, int, int, void*, int, nint, int, int, nint, void*, int>)Export("MPI_Sendrecv");
        _finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        var init = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        var commRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        var commSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        // MPI_THREAD_SERIALIZED (2 in Open MPI's mpi.h): the trainer's exchange thread calls MPI while the main thread waits.
        int provided;
        Check(init(null, null, 2, &provided), "MPI_Init_thread");
        AnyThread = provided >= 2;
        int rank, size;
        Check(commRank(_world, &rank), "MPI_Comm_rank");
        Check(commSize(_world, &size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
    }

    /// <summary>Initializes MPI in this process (once; <see cref="ProcessGroup.Dispose()"/> finalizes it).</summary>
    /// <exception cref="InvalidInputException">No Open MPI library on this machine.</exception>
    public static MpiProcessGroup Start()
    {
        foreach (var name in new[] { "libmpi.so.40", "libmpi.so" })
            if (NativeLibrary.TryLoad(name, out var lib)) return new MpiProcessGroup(lib);
        throw new InvalidInputException("Open MPI's libmpi is not installed (apt-get install openmpi-bin libopenmpi-dev)");
    }

    /// <inheritdoc/>
    public override int Rank { get; }

    /// <inheritdoc/>
    public override int Size { get; }

    /// <inheritdoc/>
    public override ReadOnlyMemory<byte>[] AllGather(ReadOnlyMemory<byte> mine)
    {
        ObjectDisposedException.ThrowIf(_finalized, this);
        long length = mine.Length;
        var lengths = new long[Size];
        fixed (long* pl = lengths)
            Check(_allgather(&length, 1, _int64, pl, 1, _int64, _world), "MPI_Allgather");
        long total = lengths.Sum();
        if (total > int.MaxValue) throw new InvalidInputException($"MPI: {total} bytes in one exchange exceed 2 GiB");
        var counts = lengths.Select(l => (int)l).ToArray();
        var offsets = new int[Size];
        for (int r = 1; r < Size; r++) offsets[r] = offsets[r - 1] + counts[r - 1];
        // One receive buffer, grown as needed and reused: a step's exchange allocates nothing once it has run.
        if (_received.Length < total) _received = new byte[total];
        var all = _received;
        fixed (byte* send = mine.Span, recv = all)
        fixed (int* pc = counts, po = offsets)
            Check(_allgatherv(send, mine.Length, _byte, recv, pc, po, _byte, _world), "MPI_Allgatherv");
        var blocks = new ReadOnlyMemory<byte>[Size];
        for (int r = 0; r < Size; r++) blocks[r] = all.AsMemory(offsets[r], counts[r]);
        return blocks;
    }

    /// <inheritdoc/>
    public override void Send(ReadOnlySpan<byte> data, int to)
    {
        ObjectDisposedException.ThrowIf(_finalized, this);
        fixed (byte* p = data) Check(_send(p, data.Length, _byte, to, 0, _world), "MPI_Send");
    }

    /// <inheritdoc/>
    public override void Receive(Span<byte> data, int from)
    {
        ObjectDisposedException.ThrowIf(_finalized, this);
        fixed (byte* p = data) Check(_recv(p, data.Length, _byte, from, 0, _world, null), "MPI_Recv");   // MPI_STATUS_IGNORE
    }

    /// <inheritdoc/>
    public override void SendReceive(ReadOnlySpan<byte> data, int to, Span<byte> into, int from)
    {
        ObjectDisposedException.ThrowIf(_finalized, this);
        fixed (byte* p = data, q = into)
            Check(_sendrecv(p, data.Length, _byte, to, 0, q, into.Length, _byte, from, 0, _world, null), "MPI_Sendrecv");
    }

    /// <inheritdoc/>
    public override bool AnyThread { get; }

    /// <inheritdoc/>
    public override void Broadcast(Span<byte> data, int root)
    {
        ObjectDisposedException.ThrowIf(_finalized, this);
        fixed (byte* p = data) Check(_bcast(p, data.Length, _byte, root, _world), "MPI_Bcast");
    }

    /// <summary>Ends every process of the group with <paramref name="exitCode"/> (MPI_Abort): one process's error must not
    /// leave the others waiting for it.</summary>
    public void Abort(int exitCode)
    {
        if (!_finalized) _abort(_world, exitCode);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (_finalized) return;
        _finalized = true;
        _finalize();
    }

    private static void Check(int code, string call)
    {
        if (code != 0) throw new InvalidOperationException($"{call} failed with MPI error {code}");
    }
}
