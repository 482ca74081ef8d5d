using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Backprop.Layers;
using Backprop.Networks;

namespace Backprop.Training;

// The shards' gradients summed in shard order on every process, bucket by bucket. The gradient vector (every parameter's,
// one after the other) is cut into buckets of whole parameters from the last parameter back, as the backward pass makes
// them ready; each process owns a part of each bucket (the N parts in rank order). For a bucket: every process sends every
// other its shards' values of the other's part (and receives the others' shards of its own), the owner sums its part over
// all shards in shard order, g₀ + g₁ + …, and the parts are sent to every process. Each process sends and receives about
// 2·(N − 1)/N of the gradients a step, a ring all-reduce's bytes, in N − 1 rounds of pairs, and the sum is the one a
// single process makes in shard order, whoever computed which shard. With OverlapExchange, a thread of the trainer's
// exchanges the buckets while the last shard's backward pass goes on (DistributedDataParallel's buckets).
public sealed partial class Trainer<T>
{
    private Exchange? _exchange;

    /// <summary>
    /// Whether the gradients' exchange between processes overlaps the last shard's backward pass: buckets of parameters are
    /// handed to a thread of the trainer's as soon as their gradients are ready, as DistributedDataParallel does. Off by
    /// default: on a machine without a core to spare for that thread it competes with the backward pass (see
    /// docs/DISTRIBUTED.md). The weights are the same bits either way. Needs a group that may be called from any thread
    /// (<see cref="ProcessGroup.AnyThread"/>); without one, the exchange follows the backward pass.
    /// </summary>
    public bool OverlapExchange { get; set; }

    /// <summary>The bytes of gradients a bucket gathers before it is exchanged (whole parameters; the tests make it small).</summary>
    internal int BucketBytes { get; set; } = 256 << 10;

    /// <summary>The buckets the last sharded step exchanged the gradients in.</summary>
    internal int Buckets => _exchange?.Count ?? 0;

    private sealed class Exchange(Trainer<T> trainer) : ILayerBackward<T>
    {
        private readonly Dictionary<Parameter<T>, int> _index = new(ReferenceEqualityComparer.Instance);
        private int[] _offset = [], _bucketOf = [], _missing = [];
        private bool[] _seen = [];
        private (int FirstParam, int EndParam, int Lo, int Hi, int Compact)[] _buckets = [];
        // This process's shards' gradients, one after the other (P values each); the sum of every shard's; the other
        // processes' shards' values of this process's parts.
        private T[] _local = [], _total = [], _gathered = [];
        private int _first, _end, _batch, _shards, _count, _mine, _lastShard, _seenCount, _bucketBytes;
        private IReadOnlyList<Parameter<T>>? _parameters;
        private ProcessGroup? _planned;
        private ProcessGroup Group => trainer.Group;

        public int Count => _buckets.Length;

        /// <summary>The shard whose backward pass runs.</summary>
        public int Shard { get; set; }

        // The overlapping thread's state: buckets handed over (in order) and exchanged, under _gate.
        private readonly object _gate = new();
        private Thread? _thread;
        private int _handed, _exchanged;
        private bool _stop;
        private Exception? _error;

        // A step's start: this process's shards [first, end) of S for a batch of B, P gradient values in all.
        public void Begin(int first, int end, int batch, int shards, int count)
        {
            var parameters = trainer.Net.Parameters;
            if (!ReferenceEquals(parameters, _parameters) || count != _count || shards != _shards || !ReferenceEquals(Group, _planned)
                || _bucketBytes != trainer.BucketBytes)
                Plan(parameters, shards, count);
            lock (_gate)
            {
                while (_exchanged < _handed && _error is null) Monitor.Wait(_gate);   // the last step's exchange is over
                (_handed, _exchanged) = (0, 0);
            }
            if (_local.Length < (end - first) * count) _local = new T[(end - first) * count];
            if (_total.Length != count) _total = new T[count];
            (_first, _end, _batch) = (first, end, batch);
            _lastShard = -1;
            for (int s = first; s < end; s++) if (HasRows(s)) _lastShard = s;
            for (int b = 0; b < _buckets.Length; b++) _missing[b] = _buckets[b].EndParam - _buckets[b].FirstParam;
            Array.Clear(_seen);   // (a step that failed midway left some marked)
            _seenCount = 0;
        }

        // The buckets (of the last parameters first) and this process's part of each.
        private void Plan(IReadOnlyList<Parameter<T>> parameters, int shards, int count)
        {
            (_parameters, _shards, _count, _planned, _bucketBytes) = (parameters, shards, count, Group, trainer.BucketBytes);
            _index.Clear();
            _offset = new int[parameters.Count + 1];
            for (int i = 0; i < parameters.Count; i++)
            {
                _index[parameters[i]] = i;
                _offset[i + 1] = _offset[i] + parameters[i].Grad.Length;
            }
            var buckets = new List<(int, int, int, int, int)>();
            _bucketOf = new int[parameters.Count];
            int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), compact = 0;
            for (int hi = parameters.Count; hi > 0;)
            {
                int lo = hi - 1;
                while (lo > 0 && (long)(_offset[hi] - _offset[lo]) * size < _bucketBytes) lo--;
                var (a, b) = Part(_offset[lo], _offset[hi], Group.Rank);
                for (int i = lo; i < hi; i++) _bucketOf[i] = buckets.Count;
                buckets.Add((lo, hi, _offset[lo], _offset[hi], compact));
                compact += b - a;
                hi = lo;
            }
            _buckets = [.. buckets];
            _mine = compact;
            _missing = new int[_buckets.Length];
            _seen = new bool[parameters.Count];
            _gathered = new T[(long)shards * compact > int.MaxValue ? throw new InvalidInputException(
                $"the shards' parts of the gradients ({(long)shards * compact} values) exceed what one array holds") : shards * compact];
        }

        // Process q's part [Lo, Hi) of the values [lo, hi).
        private (int Lo, int Hi) Part(int lo, int hi, int q) =>
            (lo + (int)((long)(hi - lo) * q / Group.Size), lo + (int)((long)(hi - lo) * (q + 1) / Group.Size));

        private bool HasRows(int s) => ShardRows(_batch, _shards, s) is var (lo, hi) && hi > lo;

        // Runs one layer's backward pass, keeps its parameters' gradients as the shard's, and, in this process's last shard,
        // hands over every bucket that is then complete.
        public Tensor<T>? Backward(Layer<T> layer, Tensor<T> dout, bool needDx)
        {
            var dx = layer.Backward(dout, needDx);
            foreach (var p in layer.Parameters)
                if (_index.TryGetValue(p, out int i)) Keep(i);
            return dx;
        }

        private void Keep(int i)
        {
            if (_seen[i]) return;
            _seen[i] = true;
            _seenCount++;
            if (Group.Size == 1 && Shard == _lastShard) return;   // one process: the last shard's gradients are added in place
            _parameters![i].Grad.Span.CopyTo(_local.AsSpan((Shard - _first) * _count + _offset[i]));
            if (Shard == _lastShard && --_missing[_bucketOf[i]] == 0) HandOver();
        }

        // After a shard's backward pass: a parameter whose layer's backward did not run through here (none in the networks
        // built today) still gives its stored gradient.
        public void EndShard()
        {
            if (_seenCount < _seen.Length)
                for (int i = 0; i < _seen.Length; i++) Keep(i);
            Array.Clear(_seen);
            _seenCount = 0;
        }

        // The complete buckets at the front of the order go to the thread (whose exchanges follow the bucket order, the
        // same on every process).
        private void HandOver()
        {
            if (!Overlaps) return;
            lock (_gate)
            {
                int before = _handed;
                while (_handed < _buckets.Length && _missing[_handed] == 0) _handed++;
                if (_handed == before) return;
                if (_thread is null)
                {
                    _stop = false;
                    _thread = new Thread(Run) { IsBackground = true, Name = "Backprop gradient exchange" };
                    _thread.Start();
                }
                Monitor.PulseAll(_gate);
            }
        }

        private bool Overlaps => trainer.OverlapExchange && Group.Size > 1 && Group.AnyThread;

        private void Run()
        {
            while (true)
            {
                int b;
                lock (_gate)
                {
                    while (_exchanged == _handed && !_stop) Monitor.Wait(_gate);
                    if (_stop) return;
                    b = _exchanged;
                }
                try { Sum(b); }
                catch (Exception e)
                {
                    lock (_gate) _error ??= e;
                }
                lock (_gate)
                {
                    _exchanged++;
                    Monitor.PulseAll(_gate);
                }
            }
        }

        // The step's end: every bucket summed (on this thread, or awaited from the overlapping one), and every parameter's
        // Grad the batch's.
        public void Finish()
        {
            if (Group.Size == 1)
            {
                SumInPlace();
                return;
            }
            if (Overlaps) Await();
            else for (int b = 0; b < _buckets.Length; b++) Sum(b);
            foreach (var (i, p) in _parameters!.Index()) _total.AsSpan(_offset[i], p.Grad.Length).CopyTo(p.Grad.Span);
        }

        // One process: the shards before the last summed in order, then the last shard's gradients, still in Grad, added to
        // that sum there (x + y is y + x, bit for bit): the additions of the sum in shard order, without copying the last.
        private void SumInPlace()
        {
            var total = _total;
            bool have = false;
            for (int s = _first; s < _lastShard; s++)
            {
                if (!HasRows(s)) continue;
                var g = _local.AsSpan((s - _first) * _count, _count);
                if (!have) g.CopyTo(total);
                else TensorPrimitives.Add(total, g, total);
                have = true;
            }
            if (!have) return;   // the last shard is the only one with rows: its gradients are the batch's
            foreach (var (i, p) in _parameters!.Index())
                TensorPrimitives.Add(total.AsSpan(_offset[i], p.Grad.Length), p.Grad.Span, p.Grad.Span);
        }

        private void Await()
        {
            Array.Clear(_missing);
            HandOver();
            lock (_gate)
            {
                while (_exchanged < _buckets.Length && _error is null) Monitor.Wait(_gate);
                if (_error is { } e)
                {
                    _error = null;
                    throw new InvalidOperationException($"the gradients' exchange failed: {e.Message}", e);
                }
            }
        }

        // Ends the overlapping thread (at the end of an epoch); the next hand-over starts another.
        public void Stop()
        {
            Thread? t;
            lock (_gate)
            {
                (t, _thread) = (_thread, null);
                _stop = true;
                Monitor.PulseAll(_gate);
            }
            t?.Join();
        }

        // Bucket b: the shards' values of each part to its owner, the owner's sum in shard order, the sums to everyone.
        private void Sum(int b)
        {
            int N = Group.Size, rank = Group.Rank, P = _count;
            var bucket = _buckets[b];
            var (lo, hi) = Part(bucket.Lo, bucket.Hi, rank);
            for (int k = 1; k < N; k++)
            {
                int to = (rank + k) % N, from = (rank - k + N) % N;
                var (tlo, thi) = Part(bucket.Lo, bucket.Hi, to);
                var (ff, fe) = ProcessGroup.ShardsOf(from, N, _shards);
                for (int j = 0; j < Math.Max(_end - _first, fe - ff); j++)
                {
                    int ms = _first + j, ts = ff + j;
                    bool sending = ms < _end && HasRows(ms) && thi > tlo, receiving = ts < fe && HasRows(ts) && hi > lo;
                    Transfer(sending ? _local.AsSpan((ms - _first) * P + tlo, thi - tlo) : default, sending, to,
                        receiving ? _gathered.AsSpan(ts * _mine + bucket.Compact, hi - lo) : default, receiving, from);
                }
            }
            var total = _total.AsSpan(lo, hi - lo);
            bool have = false;
            for (int s = 0; s < _shards; s++)
            {
                if (!HasRows(s)) continue;
                ReadOnlySpan<T> g = s >= _first && s < _end ? _local.AsSpan((s - _first) * P + lo, hi - lo)
                    : _gathered.AsSpan(s * _mine + bucket.Compact, hi - lo);
                if (!have) g.CopyTo(total);
                else TensorPrimitives.Add(total, g, total);
                have = true;
            }
            for (int k = 1; k < N; k++)
            {
                int to = (rank + k) % N, from = (rank - k + N) % N;
                var (flo, fhi) = Part(bucket.Lo, bucket.Hi, from);
                Transfer(total, hi > lo, to, _total.AsSpan(flo, fhi - flo), fhi > flo, from);
            }
        }

        // Both sides of a pair decide alike what goes: each send meets its receive, and nothing else.
        private void Transfer(Span<T> send, bool sending, int to, Span<T> receive, bool receiving, int from)
        {
            if (sending && receiving) Group.SendReceive(MemoryMarshal.AsBytes(send), to, MemoryMarshal.AsBytes(receive), from);
            else if (sending) Group.Send(MemoryMarshal.AsBytes(send), to);
            else if (receiving) Group.Receive(MemoryMarshal.AsBytes(receive), from);
        }
    }
}
