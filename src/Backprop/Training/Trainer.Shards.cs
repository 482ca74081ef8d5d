using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Backprop.Layers;
using Backprop.Models;

namespace Backprop.Training;

// Data-parallel training: each batch cut into TrainerOptions.Shards shards, each process computing its shards' gradients,
// every shard's gradients gathered on every process and summed in shard order, so that 1, 2 or 4 processes give the same
// bits. Per shard, as each replica of DistributedDataParallel sees its part of the batch: batch normalization's batch
// statistics are the shard's, and dropout draws from a generator derived from (seed, step, shard, layer); the running
// statistics kept are shard 0's (DDP broadcasts rank 0's buffers; in a batch smaller than the shards, the first shard's
// with rows).
public sealed partial class Trainer<T>
{
    /// <summary>The processes this trainer trains with (<see cref="ProcessGroup.Single"/> by default). More than one needs
    /// <see cref="TrainerOptions.Shards"/>; every process must run the same trainer on the same data.</summary>
    public ProcessGroup Group
    {
        get => _group;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _group = value;
            _agreed = false;
        }
    }

    private ProcessGroup _group = ProcessGroup.Single;
    private byte[] _payload = [];
    private bool _agreed;
    private Tensor<T>? _shardX, _shardT;
    private T[][]? _startBuffers;

    /// <summary>The seconds of the last epoch spent exchanging gradients between processes (with shards; on one process the
    /// exchange is a copy).</summary>
    public double CommunicationSeconds { get; private set; }

    /// <summary>The bytes of gradients each link between processes carries a sharded step (and the broadcast of the sum).</summary>
    public long CommunicationBytes { get; private set; }

    // Every process must train the same model on the same data the same way: compared once before the first sharded step.
    private void AgreeOnce(Data.Dataset train)
    {
        if (_agreed) return;
        if (Options.Shards is null && Group.Size > 1)
            throw new InvalidInputException($"training over {Group.Size} processes needs a number of shards per batch (--shards S)");
        if (Group.Size > 1)
            Group.Agree("training run", JsonSerializer.Serialize(new
            {
                options = Options,
                model = ModelDescription.Of(Net).ToJson(),
                optimizer = Optimizer.Settings.ToString(),
                steps = Optimizer.Steps,
                epoch = Epoch,
                data = $"{train.Name} {train.Count}×{train.Dim}",
            }));
        _agreed = true;
    }

    // One sharded backward pass of batch x, t (rows = the batch's sample indices): every parameter's Grad is then the batch's;
    // returns the batch's mean loss and correct count.
    private (double Loss, long Correct) ShardedStep(Tensor<T> x, Tensor<T> t, ReadOnlySpan<int> rows, int[] labels)
    {
        int S = Options.Shards!.Value, B = x.Dim(0);
        long step = Optimizer.Steps;
        var parameters = Net.Parameters;
        var buffers = Net.Layers.SelectMany(l => l.Buffers.Select(b => b.Value)).ToList();
        _startBuffers ??= [.. buffers.Select(b => new T[b.Length])];
        for (int i = 0; i < buffers.Count; i++) buffers[i].Span.CopyTo(_startBuffers[i]);
        var (first, end) = ProcessGroup.ShardsOf(Group.Rank, Group.Size, S);
        int keeper = KeeperOf(B, S);
        // This process's shards' records, in a buffer kept between steps: shard, rows, then (with rows) loss and correct
        // count, and for the keeper the running statistics (their gradients are the exchange's).
        int size = SizeOf<T>(), P = parameters.Sum(p => p.Grad.Length);
        long need = (end - first) * 24L + buffers.Sum(b => (long)b.Length) * size;
        if ((long)(end - first) * P * size > int.MaxValue || (long)P * size > int.MaxValue)
            throw new InvalidInputException($"the shards' gradients ({(long)(end - first) * P * size} bytes a step) exceed 2 GiB");
        if (_payload.Length < need) _payload = new byte[need];
        var exchange = _exchange ??= new Exchange(this);
        exchange.Begin(first, end, B, S, P);
        var w = new Writer(_payload);
        for (int s = first; s < end; s++)
        {
            var (lo, hi) = ShardRows(B, S, s);
            int n = hi - lo;
            w.Int(s);
            w.Int(n);
            if (n == 0) continue;   // a batch smaller than the shards: this shard has no rows and adds nothing
            for (int i = 0; i < buffers.Count; i++) _startBuffers[i].CopyTo(buffers[i].Span);
            SeedDropout(step, s);
            var (xs, ts) = n == B ? (x, t) : (Rows(ref _shardX, x, lo, n), Rows(ref _shardT, t, lo, n));   // one shard: the batch
            T loss = Net.ComputeLoss(xs, ts);
            long correct = Classifier ? CountCorrect(Net.Loss.Probabilities!, labels, rows[lo..hi]) : 0;
            // The shard's mean loss weighted by its share of the batch: the shards' gradients add up to the batch mean's. Each
            // layer's gradients are copied out as its backward pass ends; the last shard's hand their buckets over as they fill.
            exchange.Shard = s;
            Net.Backward(T.CreateTruncating((double)n / B), inputGradient: false, via: exchange);
            exchange.EndShard();
            w.Double(double.CreateTruncating(loss));
            w.Long(correct);
            if (s == keeper) foreach (var b in buffers) w.Values(b.Span);
        }
        CommunicationBytes = (long)P * size;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        exchange.Finish();   // every parameter's Grad the shards' sum in shard order, on every process
        var result = Combine(Group.AllGather(_payload.AsMemory(0, w.Offset)), S, B, buffers);
        CommunicationSeconds += sw.Elapsed.TotalSeconds;
        SeedDropout(step, S);   // the layers' generators after the step: the same whichever process ran the last shard
        return result;   // the caller checks the loss, then clips and updates
    }

    // Shard s's rows of a batch of B in S shards: [⌊B·s/S⌋, ⌊B·(s + 1)/S⌋).
    private static (int Lo, int Hi) ShardRows(int B, int S, int s) => ((int)((long)B * s / S), (int)((long)B * (s + 1) / S));

    // The shard whose running statistics are kept: the first with rows (shard 0 but in a batch smaller than the shards).
    private static int KeeperOf(int B, int S)
    {
        int s = 0;
        while (ShardRows(B, S, s) is var (lo, hi) && lo == hi) s++;
        return s;
    }

    // Every shard's record in shard order (the blocks are in rank order, each rank's shards contiguous): the losses weighted
    // by the shards' rows, the correct counts, and the first shard's running statistics kept.
    private static (double Loss, long Correct) Combine(ReadOnlyMemory<byte>[] blocks, int S, int B, List<Tensor<T>> buffers)
    {
        int keeper = KeeperOf(B, S);
        double loss = 0;
        long correct = 0;
        int expected = 0;
        foreach (var block in blocks)
        {
            var r = new Reader(block.Span);
            while (r.Offset < block.Length)
            {
                int s = r.Int(), n = r.Int();
                if (s != expected++) throw new InvalidOperationException($"shard {s} arrived where shard {expected - 1} belongs");
                if (n == 0) continue;
                loss += r.Double() * n / B;
                correct += r.Long();
                if (s == keeper) foreach (var b in buffers) r.Values<T>(b.Length).CopyTo(b.Span);
            }
        }
        if (expected != S) throw new InvalidOperationException($"{expected} of {S} shards arrived");
        return (loss, correct);
    }

    // Each dropout layer (the j-th that draws) gets a generator of its own for (seed, step, shard): the same draws whichever
    // process computes the shard.
    private void SeedDropout(long step, int shard)
    {
        int j = 0;
        foreach (var layer in Net.Layers)
            if (layer is IStochasticLayer s)
            {
                ulong mixed = Options.Seed ^ 0x9E3779B97F4A7C15UL * (ulong)(step + 1) ^ 0xC2B2AE3D27D4EB4FUL * (ulong)(shard + 1)
                    ^ 0x165667B19E3779F9UL * (ulong)++j;
                s.Rng.SetState(new Rng(mixed).GetState());
            }
    }

    // Rows [lo, lo + n) of a batch tensor (its first axis), in a buffer kept between steps.
    private static Tensor<T> Rows(ref Tensor<T>? buffer, Tensor<T> all, int lo, int n)
    {
        var shape = all.Shape.ToArray();
        int row = all.Length / shape[0];
        shape[0] = n;
        var b = TensorBuffer.Ensure(ref buffer, shape);
        all.Span.Slice(lo * row, n * row).CopyTo(b.Span);
        return b;
    }

    private static int SizeOf<TValue>() where TValue : unmanaged => System.Runtime.CompilerServices.Unsafe.SizeOf<TValue>();

    // The records' bytes, written and read in place (native byte order: every process of a group runs on one architecture).
    private ref struct Writer(Span<byte> to)
    {
        private readonly Span<byte> _to = to;
        public int Offset { get; private set; }

        public void Int(int v) => Put(v);
        public void Long(long v) => Put(v);
        public void Double(double v) => Put(v);

        public void Values(ReadOnlySpan<T> v)
        {
            MemoryMarshal.AsBytes(v).CopyTo(_to[Offset..]);
            Offset += v.Length * SizeOf<T>();
        }

        private void Put<TValue>(TValue v) where TValue : unmanaged
        {
            MemoryMarshal.Write(_to[Offset..], in v);
            Offset += SizeOf<TValue>();
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> from)
    {
        private readonly ReadOnlySpan<byte> _from = from;
        public int Offset { get; private set; }

        public int Int() => Get<int>();
        public long Long() => Get<long>();
        public double Double() => Get<double>();

        public ReadOnlySpan<TValue> Values<TValue>(int count) where TValue : unmanaged
        {
            var v = MemoryMarshal.Cast<byte, TValue>(_from.Slice(Offset, count * SizeOf<TValue>()));
            Offset += count * SizeOf<TValue>();
            return v;
        }

        private TValue Get<TValue>() where TValue : unmanaged
        {
            var v = MemoryMarshal.Read<TValue>(_from[Offset..]);
            Offset += SizeOf<TValue>();
            return v;
        }
    }
}
