// resnet_small's first epoch in Backprop from a start it may share with PyTorch (tools/same_start/run.sh): the
// initial parameters are Backprop's own for SEED (as `train --seed SEED` draws them) or those torch_side.py wrote
// (DIR/init.f32, torch's order, which is this graph's), and the batches follow Backprop's shuffle for SEED or the
// order in DIR/order.i32; adam_torch, lr 0.001, batches of 100, 2 threads. Prints one JSON line: each step's loss,
// the test accuracy after the epoch, and (with --write-order) writes this shuffle's order to DIR/ours-order.i32.
//   dotnet run tools/same_start/ours.cs -- DIR SEED ours|torch ours|torch [--write-order]
#:project ../../src/Backprop/Backprop.csproj
#:property Configuration=Release
using System.Runtime.InteropServices;
using Backprop;
using Backprop.Data;
using Backprop.Kernels;
using Backprop.Models;
using Backprop.Optimizers;
using Backprop.Training;

string dir = args[0], init = args[2], order = args[3];
ulong seed = ulong.Parse(args[1]);
Parallelism.MaxThreads = 2;
var net = Architectures.ResNetSmall().Build<float>(new Rng(seed));
if (init == "torch")
{
    var values = Read<float>(Path.Combine(dir, "init.f32"));
    int at = 0;
    foreach (var p in net.Parameters)
    {
        values.AsSpan(at, p.Value.Length).CopyTo(p.Value.Span);
        at += p.Value.Length;
    }
    if (at != values.Length) throw new InvalidDataException($"init.f32 holds {values.Length} values, the network {at}");
}
var (train, test) = Datasets.LoadIdxFolder(Datasets.FashionMnistDir, "Fashion-MNIST");
(train, test) = (train.WithSampleShape(1, 28, 28), test.WithSampleShape(1, 28, 28));
// The trainer's own shuffle for this seed (Trainer draws its generator so), or torch's order.
var trainer = new Trainer<float>(net, new OptimizerSettings { Kind = OptimizerKind.Parse("adam_torch"), LearningRate = 0.001 },
    new TrainerOptions { Batch = 100, Seed = seed });
var loader = new DataLoader<float>(train, 100, trainer.Rng);
loader.Shuffle();
var rows = order == "torch" ? Read<int>(Path.Combine(dir, "order.i32"))
    : [.. Enumerable.Range(0, train.Count / 100).SelectMany(b => loader.Indices(b).ToArray())];
if (args.Contains("--write-order"))
    File.WriteAllBytes(Path.Combine(dir, "ours-order.i32"), MemoryMarshal.AsBytes(rows.AsSpan()).ToArray());
var losses = new List<double>();
net.Training = true;
for (int i = 0; i + 100 <= rows.Length; i += 100)
{
    var (x, t) = loader.Gather(rows.AsSpan(i, 100));
    losses.Add(net.ComputeLoss(x, t));
    trainer.Optimizer.Step(net);
}
var e = Trainer<float>.Evaluate(net, test);
var inv = System.Globalization.CultureInfo.InvariantCulture;
Console.WriteLine($"{{\"losses\": [{string.Join(", ", losses.Select(l => l.ToString("R", inv)))}], " +
    $"\"test_accuracy\": {e.Accuracy!.Value.ToString("R", inv)}}}");

static TValue[] Read<TValue>(string path) where TValue : unmanaged =>
    MemoryMarshal.Cast<byte, TValue>(File.ReadAllBytes(path)).ToArray();
