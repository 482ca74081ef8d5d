using Backprop.Data;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.Tests;

/// <summary>
/// Data-parallel training with a fixed number of shards per batch: 1, 2 and 4 processes (here threads in one process,
/// exchanging through <see cref="ThreadGroup"/> what MPI carries between machines) give bit-identical weights, losses
/// and checkpoints for an MLP, a small convolutional network and a network with batch normalization and dropout; a
/// checkpoint written by 2 resumes on 1 and 4; the combined gradient is the shards' gradients, each computed on its own
/// rows by a separate network, summed in shard order; mismatched processes are refused.
/// </summary>
public class ShardedTrainingTests
{
    /// <summary>In-process members of a group: each a thread's trainer, AllGather through shared slots and a barrier. With
    /// <c>rendezvous</c>, a send returns only once its receive has taken it (MPI's large messages), so that an exchange
    /// whose sends and receives do not pair up deadlocks here as it would under MPI.</summary>
    private sealed class ThreadGroup(int rank, ThreadGroup.Shared shared) : ProcessGroup
    {
        public sealed class Shared(int size, bool rendezvous)
        {
            public readonly bool Rendezvous = rendezvous;
            public readonly Barrier Barrier = new(size);
            public readonly byte[][] Slots = new byte[size][];
            public readonly System.Collections.Concurrent.BlockingCollection<(byte[] Data, ManualResetEventSlim Taken)>[] Links =
                [.. Enumerable.Range(0, size * size).Select(_ => new System.Collections.Concurrent.BlockingCollection<(byte[],
                    ManualResetEventSlim)>())];
        }

        public override int Rank => rank;
        public override int Size => shared.Slots.Length;

        public override ReadOnlyMemory<byte>[] AllGather(ReadOnlyMemory<byte> mine)
        {
            shared.Slots[rank] = mine.ToArray();
            shared.Barrier.SignalAndWait();
            var all = shared.Slots.Select(b => (ReadOnlyMemory<byte>)b).ToArray();
            shared.Barrier.SignalAndWait();   // nobody writes the next exchange before everyone has read this one
            return all;
        }

        public override void Send(ReadOnlySpan<byte> data, int to) => Wait(Post(data, to));

        public override void Receive(Span<byte> data, int from)
        {
            var (got, taken) = shared.Links[from * Size + rank].Take();
            Assert.Equal(data.Length, got.Length);
            got.CopyTo(data);
            taken.Set();
        }

        // MPI_Sendrecv: the send posted, the receive taken, then the send awaited.
        public override void SendReceive(ReadOnlySpan<byte> data, int to, Span<byte> into, int from)
        {
            var sent = Post(data, to);
            Receive(into, from);
            Wait(sent);
        }

        private ManualResetEventSlim Post(ReadOnlySpan<byte> data, int to)
        {
            var taken = new ManualResetEventSlim();
            shared.Links[rank * Size + to].Add((data.ToArray(), taken));
            return taken;
        }

        private void Wait(ManualResetEventSlim taken)
        {
            if (shared.Rendezvous && !taken.Wait(TimeSpan.FromMinutes(2)))
                throw new InvalidOperationException($"process {rank}: a send was never received (the exchange deadlocks)");
        }

        public override void Broadcast(Span<byte> data, int root)
        {
            if (rank == root) shared.Slots[root] = data.ToArray();
            shared.Barrier.SignalAndWait();
            if (rank != root) shared.Slots[root].CopyTo(data);
            shared.Barrier.SignalAndWait();
        }

        public void Leave() => shared.Barrier.RemoveParticipant();

        public static ThreadGroup[] Of(int size, bool rendezvous = false)
        {
            var s = new Shared(size, rendezvous);
            return [.. Enumerable.Range(0, size).Select(r => new ThreadGroup(r, s))];
        }
    }

    private static LayerDescription L(string kind, params (string Name, object Value)[] values) =>
        new(kind, values.ToDictionary(v => v.Name, v => v.Value));

    private static Dataset Images(int n, int seed)
    {
        var rng = new Random(seed);
        var f = new float[n * 64];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = rng.Next(3);
            for (int p = 0; p < 64; p++) f[i * 64 + p] = (float)rng.NextDouble() + (p % 3 == labels[i] ? 0.5f : 0);
        }
        return new Dataset("dots", f, labels, 64, 3).WithSampleShape(1, 8, 8);
    }

    public static TheoryData<string> Networks() => ["mlp", "convnet", "batchnorm_dropout"];

    private static ModelDescription Describe(string name) => name switch
    {
        "mlp" => new("float32", [L("fully_connected", ("inputs", 64), ("outputs", 12)), L("tanh"),
            L("fully_connected", ("inputs", 12), ("outputs", 3))], "softmax_cross_entropy"),
        "convnet" => new("float32", [L("convolution", ("filters", 3), ("channels", 1), ("kernel_h", 3), ("kernel_w", 3)), L("relu"),
            L("max_pooling", ("pool_h", 2), ("pool_w", 2), ("stride", 2)), L("fully_connected", ("inputs", 27), ("outputs", 3))],
            "softmax_cross_entropy"),
        _ => new("float32", [L("convolution", ("filters", 4), ("channels", 1), ("kernel_h", 3), ("kernel_w", 3), ("pad", 1)),
            L("batch_norm_2d", ("channels", 4)), L("relu"), L("flatten"), L("dropout", ("p", 0.3)),
            L("fully_connected", ("inputs", 256), ("outputs", 3))], "softmax_cross_entropy"),
    };

    private static TrainerOptions Options(int shards) => new() { Batch = 10, Seed = 5, Shards = shards };

    // Runs `size` trainers side by side, each in its own thread, each `epochs` epochs; returns rank 0's trainer.
    private static Trainer<float> Run(string net, int size, int epochs, Func<int, Trainer<float>> make, Dataset data,
        Action<Trainer<float>>? setup = null, bool rendezvous = false)
    {
        var groups = ThreadGroup.Of(size, rendezvous);
        var trainers = new Trainer<float>[size];
        Exception? error = null;
        var threads = Enumerable.Range(0, size).Select(r => new Thread(() =>
        {
            try
            {
                var t = make(r);
                t.Group = groups[r];
                setup?.Invoke(t);
                for (int e = 0; e < epochs; e++) t.RunEpoch(data, null);
                trainers[r] = t;
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref error, e, null);
                groups[r].Leave();   // the others' exchanges no longer wait for this one
            }
        })).ToArray();
        foreach (var th in threads) th.Start();
        foreach (var th in threads) th.Join();
        if (error is not null) throw new Xunit.Sdk.XunitException($"{net} on {size}: {error}");
        // every replica holds the same weights
        for (int r = 1; r < size; r++) AssertSame(trainers[0], trainers[r]);
        return trainers[0];
    }

    private static void AssertSame(Trainer<float> a, Trainer<float> b)
    {
        Assert.Equal(a.History.Select(h => h.TrainLoss), b.History.Select(h => h.TrainLoss));
        Assert.Equal(a.History.Select(h => h.TrainAccuracy), b.History.Select(h => h.TrainAccuracy));
        foreach (var (x, y) in ModelFile.Tensors(a.Net).Zip(ModelFile.Tensors(b.Net)))
        {
            Assert.Equal(x.Name, y.Name);
            Assert.Equal(x.Value.Span.ToArray(), y.Value.Span.ToArray());
        }
        foreach (var (x, y) in a.Optimizer.State.Zip(b.Optimizer.State)) Assert.Equal(x.Value.Span.ToArray(), y.Value.Span.ToArray());
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void One_two_and_four_processes_give_the_same_bits(string name)
    {
        var data = Images(42, 1);   // 5 batches, the last of 2 rows: shards of 0, 1, 0 and 1 rows
        Trainer<float> Make(int _) =>
            new(Describe(name).Build<float>(new Rng(3)), new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.01 },
                Options(4));
        var one = Run(name, 1, 2, Make, data);
        AssertSame(one, Run(name, 2, 2, Make, data));
        AssertSame(one, Run(name, 4, 2, Make, data));
        Assert.True(one.History[^1].TrainLoss < one.History[0].TrainLoss * 1.5, "training runs");
        // More processes than shards: process 0 computes none, and the sum passes through it.
        Trainer<float> Three(int _) =>
            new(Describe(name).Build<float>(new Rng(3)), new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.01 },
                Options(3));
        AssertSame(Run(name, 1, 1, Three, data), Run(name, 4, 1, Three, data));
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void Buckets_exchanged_after_the_backward_pass_or_beside_it_give_the_same_bits(string name)
    {
        // Buckets of one parameter each (parts of 0 or 1 values where a bias has fewer values than there are processes),
        // exchanged by the trainer's thread while the last shard's backward pass goes on, or after it.
        var data = Images(42, 5);
        Trainer<float> Make(int _) =>
            new(Describe(name).Build<float>(new Rng(4)), new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.01 },
                Options(4));
        var one = Run(name, 1, 2, Make, data);
        // Sends that wait for their receive: 3 processes hold 1, 1 and 2 of the 4 shards, so that some pairs only send or
        // only receive.
        foreach (bool overlap in new[] { false, true })
            foreach (int size in new[] { 2, 3, 4 })
                AssertSame(one, Run(name, size, 2, Make, data, t => (t.OverlapExchange, t.BucketBytes) = (overlap, 4), rendezvous: true));
        AssertSame(one, Run(name, 2, 2, Make, data, t => t.OverlapExchange = true));   // one bucket
    }

    [Fact]
    public void A_checkpoint_written_by_two_processes_resumes_on_one_and_four()
    {
        var data = Images(40, 2);
        var settings = new OptimizerSettings { Kind = OptimizerKind.Momentum, LearningRate = 0.05 };
        string path = Path.Combine(Path.GetTempPath(), $"bp-shards-{Guid.NewGuid():N}.safetensors");
        try
        {
            var straight = Run("batchnorm_dropout", 1, 2, _ => new(Describe("batchnorm_dropout").Build<float>(new Rng(3)), settings,
                Options(4)), data);
            var two = Run("batchnorm_dropout", 2, 1, _ => new(Describe("batchnorm_dropout").Build<float>(new Rng(3)), settings,
                Options(4)), data);
            two.SaveCheckpoint(path);
            Assert.Equal(4, Trainer<float>.LoadCheckpoint(path).Options.Shards);
            foreach (int size in new[] { 1, 4 })
                AssertSame(straight, Run("batchnorm_dropout", size, 1, _ => Trainer<float>.LoadCheckpoint(path), data));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void The_combined_gradient_is_each_shards_own_summed_in_shard_order()
    {
        // One batch of 10 rows in 3 shards (rows 0–2, 3–5, 6–9): the naive reference runs a separate copy of the network on
        // each shard's rows, scales its gradient by rows/10 and adds them in order.
        var data = Images(10, 3);
        var d = Describe("mlp") with { Dtype = "float64" };
        var sharded = new Trainer<double>(d.Build<double>(new Rng(1)), new OptimizerSettings { Kind = OptimizerKind.Sgd },
            new TrainerOptions { Batch = 10, Shards = 3 });
        var reference = d.Build<double>(new Rng(1));
        var loader = new DataLoader<double>(data, 10, new Rng(0));
        var (x, t) = loader.Gather([.. Enumerable.Range(0, 10)]);
        var expected = reference.Parameters.Select(p => new double[p.Value.Length]).ToArray();
        foreach (var (lo, hi) in new[] { (0, 3), (3, 6), (6, 10) })
        {
            var xs = new Tensor<double>(x.Span[(lo * 64)..(hi * 64)].ToArray(), hi - lo, 64);
            var ts = new Tensor<double>(t.Span[lo..hi].ToArray(), hi - lo);
            reference.ComputeLoss(xs, ts);
            reference.Backward();
            for (int p = 0; p < expected.Length; p++)
                for (int i = 0; i < expected[p].Length; i++)
                    expected[p][i] = lo == 0 ? reference.Parameters[p].Grad.Span[i] * (hi - lo) / 10.0
                        : expected[p][i] + reference.Parameters[p].Grad.Span[i] * (hi - lo) / 10.0;
        }
        // the trainer's epoch of one batch with a zero learning rate leaves the combined gradient in place
        var net = (Sequential<double>)sharded.Net;
        sharded.Optimizer.LearningRate = 0;
        sharded.RunEpoch(data, null);
        for (int p = 0; p < expected.Length; p++)
            TestUtil.Close(expected[p], net.Parameters[p].Grad.Span.ToArray(), 1e-14, what: $"parameter {p}");
    }

    [Fact]
    public void Processes_with_different_options_are_refused_and_many_processes_need_shards()
    {
        var data = Images(20, 4);
        var e = Assert.Throws<Xunit.Sdk.XunitException>(() => Run("mlp", 2, 1, r => new(Describe("mlp").Build<float>(new Rng(3)),
            new OptimizerSettings { Kind = OptimizerKind.Adam }, Options(r == 0 ? 2 : 4)), data));
        Assert.Contains("process 1 of 2 has another training run than process 0", e.Message);
        e = Assert.Throws<Xunit.Sdk.XunitException>(() => Run("mlp", 2, 1, _ => new(Describe("mlp").Build<float>(new Rng(3)),
            new OptimizerSettings { Kind = OptimizerKind.Adam }, new TrainerOptions { Batch = 10 }), data));
        Assert.Contains("needs a number of shards per batch (--shards S)", e.Message);
    }
}
