#:project ../../src/Backprop/Backprop.csproj
#:property Configuration=Release
// resnet_small's two strided 3×3 convolutions (16→32 at 28×28, 32→64 at 14×14; stride 2, pad 1), forward and backward
// with dx at batch 100, as training runs them: the median and the 10th and 90th percentiles of 400 passes after 300
// passes of warm-up (the tiered JIT's first versions run slower). tools/strided_layers/run.sh runs it for two commits.
//   dotnet run tools/strided_layers/layers.cs THREADS
using System.Diagnostics;
using Backprop;
using Backprop.Layers;

Parallelism.MaxThreads = int.Parse(args[0]);
var rng = new Random(1);
foreach (var (C, H, FN) in new[] { (16, 28, 32), (32, 14, 64) })
{
    var layer = new Convolution<float>(FN, C, 3, 3, 2, 1, rng: new Rng(1));
    var x = Tensor<float>.Zeros(100, C, H, H);
    var xs = x.Span;
    for (int i = 0; i < xs.Length; i++) xs[i] = (float)rng.NextDouble() - 0.5f;
    var y = layer.Forward(x);
    var dout = Tensor<float>.Zeros(y.Shape.ToArray());
    var ds = dout.Span;
    for (int i = 0; i < ds.Length; i++) ds[i] = (float)rng.NextDouble() - 0.5f;
    var times = new List<double>();
    for (int it = 0; it < 700; it++)
    {
        var sw = Stopwatch.StartNew();
        layer.Forward(x);
        layer.Backward(dout);
        if (it >= 300) times.Add(sw.Elapsed.TotalMilliseconds);
    }
    times.Sort();
    Console.WriteLine($"{C}x{H}x{H}->{FN}: median {times[200]:F2} ms  p10 {times[40]:F2}  p90 {times[360]:F2}");
}
