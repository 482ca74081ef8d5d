using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Backprop;
using Backprop.Cli.Support;
using Backprop.Kernels;
using Backprop.Layers;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop bench</c>: fully connected forward + backward and element-wise activations, timed.</summary>
internal static partial class BenchCommand
{
    public const string Usage =
        "backprop bench [--ops all|fc|elementwise|convnet|training] [--dtype float32|float64|both] [--threads 1|2|both] " +
        "[--shapes B,N,M;…] " +
        "[--epochs N] [--images N] [--data DIR] [--quick] [--json]";

    public static readonly int[][] DefaultShapes =
    [
        [2, 2, 3], [1, 784, 100], [100, 784, 100], [100, 100, 10], [128, 784, 256], [256, 1024, 1024], [1024, 1024, 1024], [64, 4096, 4096],
    ];

    private static readonly int[] ElementSizes = [1000, 100_000, 10_000_000];

    public sealed record Record(string Op, string Dtype, int Threads, int B, int N, int M, long Elements, double MedianS, double MinS,
        double MaxS, double Rate,
        string? Optimizer = null, int Epochs = 0, double FirstS = 0, double Accuracy = 0, double PeakGflops = 0, string? Plan = null,
        string? Layer = null);

    public static string Run(Args args, TextWriter live)
    {
        if (args.Positionals.Count > 0) throw new InvalidInputException($"bench: unexpected argument '{args.Positionals[0]}'; " +
            $"usage: {Usage}");
        string ops = args.Choice("ops", "all", "all", "fc", "elementwise", "convnet", "training", "data");
        if (ops == "data") return DataLoading(args);
        string dtypeArg = args.Choice("dtype", ops == "training" ? "float32" : "both", "float32", "float64", "both");
        string[] dtypes = dtypeArg == "both" ? ["float32", "float64"] : [dtypeArg];
        int[] threads = ParseThreads(args.Value("threads") ?? "both");
        int[][] shapes = args.Value("shapes") is { } s ? ParseShapes(s) : DefaultShapes;
        bool quick = args.Flag("quick"), json = args.Flag("json");
        int epochs = args.Int("epochs", quick ? 3 : 6, 2, 1000);
        var records = new List<Record>();
        void Add(Record r, string dtype, int t)   // a measured row, labelled and printed as it comes
        {
            records.Add(r with { Dtype = dtype, Threads = t });
            if (!json) live.WriteLine(Line(records[^1]));
        }
        int savedThreads = Parallelism.MaxThreads;
        try
        {
            if (ops is "all" or "fc")
            {
                foreach (var dtype in dtypes)
                    foreach (int t in threads)
                        foreach (var sh in shapes)
                        {
                            Parallelism.MaxThreads = t;
                            var r = dtype == "float32" ? FullyConnected<float>(sh, t, quick) : FullyConnected<double>(sh, t, quick);
                            Add(r, dtype, t);
                        }
            }
            if (ops is "all" or "elementwise")
            {
                foreach (var dtype in dtypes)
                    foreach (int t in threads)
                        foreach (string op in new[] { "relu", "sigmoid", "tanh" })
                            foreach (int n in ElementSizes)
                            {
                                Parallelism.MaxThreads = t;
                                var r = dtype == "float32" ? Elementwise<float>(op, n, quick) : Elementwise<double>(op, n, quick);
                                Add(r, dtype, t);
                            }
            }
            if (ops is "all" or "convnet")
            {
                foreach (var dtype in dtypes)
                    foreach (int t in threads)
                    {
                        Parallelism.MaxThreads = t;
                        foreach (var r in dtype == "float32" ? ConvNet<float>(quick) : ConvNet<double>(quick))
                        {
                            Add(r, dtype, t);
                        }
                    }
            }
            if (ops == "training")
            {
                var (train, test) = DataOptions.LoadFashionMnist(args.Value("data"));
                int images = args.Int("images", train.Count, 100, train.Count);
                if (images < train.Count) train = train.Subset(Enumerable.Range(0, images).ToArray(), train.Name);
                foreach (var dtype in dtypes)
                    foreach (string optimizer in new[] { "sgd", "adam" })
                        foreach (int t in threads)
                        {
                            Parallelism.MaxThreads = t;
                            var r = dtype == "float32" ? Training<float>(optimizer, epochs, train, test) : Training<double>(optimizer,
                                epochs, train, test);
                            Add(r, dtype, t);
                        }
            }
        }
        finally
        {
            Operands.Clear();
            Parallelism.MaxThreads = savedThreads;
        }
        return json ? Json(records) : $"\nprocessor: {Processor.Describe()}\nGEMM blocking: float32 " +
            $"{Gemm.Blocking<float>(Gemm.BestPath)}; float64 {Gemm.Blocking<double>(Gemm.BestPath)}\n" + Table(records);
    }

    private static int[] ParseThreads(string v) => v switch
    {
        "both" => Environment.ProcessorCount >= 2 ? [1, 2] : [1],
        _ when int.TryParse(v, out int t) && t >= 1 && t <= 256 => [t],
        _ => throw new InvalidInputException($"--threads must be a positive whole number or 'both', not '{v}'"),
    };

    private static int[][] ParseShapes(string v)
    {
        var list = new List<int[]>();
        foreach (var part in v.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dims = part.Split(',', StringSplitOptions.TrimEntries);
            if (dims.Length != 3 || dims.Any(d => !int.TryParse(d, out int x) || x < 1 || x > 1 << 16))
                throw new InvalidInputException($"--shapes takes B,N,M triples of positive whole numbers separated by ';', not '{part}'");
            list.Add(dims.Select(int.Parse).ToArray());
        }
        if (list.Count == 0) throw new InvalidInputException("--shapes is empty");
        return list.ToArray();
    }

    // The row's FMA peak is the higher of two short measurements on the same threads, just before and just after it: on
    // this kind of shared host the rate a core gives moves by up to 2× from minute to minute, and the row's share of it
    // is what says whether the code or the host changed.
    private static Record FullyConnected<T>(int[] shape, int threads, bool quick) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = shape[0], N = shape[1], M = shape[2];
        var rng = new Rng(1);
        var layer = new FullyConnected<T>(Rand<T>(rng, N, M), Rand<T>(rng, M));
        var x = Rand<T>(rng, B, N);
        var dout = Rand<T>(rng, B, M);
        double peakSeconds = quick ? 0.002 : 0.03;
        double before = FmaPeak.Measure<T>(threads, peakSeconds);
        var (med, min, max) = Time(() => { layer.Forward(x); layer.Backward(dout); }, quick);
        double after = FmaPeak.Measure<T>(threads, peakSeconds);
        double flops = 6.0 * B * N * M;
        // The products' plans (the same choice Gemm.Multiply makes; layers this small that they use plain loops say so).
        string plan = (long)B * N * M <= 64 ? "plain loops"
            : $"y {Gemm.Plan<T>(false, false, B, M, N)}; dx {Gemm.Plan<T>(false, true, B, N, M)}; dW {Gemm.Plan<T>(true, false, N, M, B)}";
        return new Record("fully_connected", "", 0, B, N, M, 0, med, min, max, flops / med / 1e9, PeakGflops: Math.Max(before, after),
            Plan: plan);
    }

    private static readonly Dictionary<(Type Type, int N), (object X, object Dout)> Operands = new();

    private static Record Elementwise<T>(string op, int n, bool quick) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Layer<T> layer = op switch { "relu" => new Relu<T>(), "sigmoid" => new Sigmoid<T>(), _ => new Tanh<T>() };
        // The same operands for every op and thread count of one size (drawing 10⁷ numbers twice a row cost seconds).
        if (!Operands.TryGetValue((typeof(T), n), out var pair))
        {
            if (Operands.Keys.Any(k => k.Type != typeof(T))) Operands.Clear();   // one element type's operands at a time
            var rng = new Rng(2);
            Operands[(typeof(T), n)] = pair = (Rand<T>(rng, n), Rand<T>(rng, n));
        }
        var (x, dout) = ((Tensor<T>)pair.X, (Tensor<T>)pair.Dout);
        var (med, min, max) = Time(() => { layer.Forward(x); layer.Backward(dout); }, quick);
        // Bytes touched: forward reads x and writes y; backward reads x or y and dout and writes dx.
        double bytes = 5.0 * n * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        return new Record(op, "", 0, 0, 0, 0, n, med, min, max, bytes / med / 1e9);
    }

    // The issue's training benchmark: MLP 784-256-10, ReLU, softmax cross-entropy, batch 100, on all training images;
    // SGD lr 0.1 or Adam lr 0.001. Epoch seconds are the training loop alone (as the peers' scripts time it). The first
    // epoch (which includes compiling the code) is reported apart; median, min and max are over the later ones.
    private static Record Training<T>(string optimizer, int epochs, Data.Dataset train, Data.Dataset test) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        var net = new Models.MlpSpec { Sizes = [784, 256, 10] }.Build<T>(new Rng(0));
        var settings = new Optimizers.OptimizerSettings
        {
            Kind = Optimizers.OptimizerSettings.Parse(optimizer),
            LearningRate = optimizer == "sgd" ? 0.1 : 0.001
        };
        var trainer = new Training.Trainer<T>(net, settings, new Training.TrainerOptions { Batch = 100 });
        var seconds = new List<double>();
        Training.EpochResult last = null!;
        for (int e = 0; e < epochs; e++)
        {
            last = trainer.RunEpoch(train, null, test);
            seconds.Add(last.Seconds);
        }
        var later = seconds.Skip(1).Order().ToArray();
        return new Record("mlp_epoch", "", 0, 100, 784, 256, train.Count, later[later.Length / 2], later[0], later[^1],
            train.Count / later[later.Length / 2],
            optimizer, epochs, seconds[0], last.TestAccuracy ?? 0);
    }

    // Every convolution and pooling layer of SimpleConvNet and DeepConvNet at batch 100, forward + backward as training
    // runs it (no dx for a network's first layer), then one whole training step of each network (forward, softmax
    // cross-entropy, backward, Adam). GFLOP/s counts 2·N·FN·C·FH·FW·OH·OW per product (three products, two without dx).
    // --quick runs the same rows at batch 10: a smoke test, not a measurement.
    private static IEnumerable<Record> ConvNet<T>(bool quick) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(3);
        int batch = quick ? 10 : 100;
        foreach (var name in Models.Architectures.Names)
        {
            var net = Models.Architectures.Named(name, Models.ModelDescription.DtypeOf<T>())!.Build<T>(new Rng(0));
            var x = Rand<T>(rng, batch, 1, 28, 28);
            var t = Tensor<T>.Zeros(batch);
            for (int i = 0; i < batch; i++) t.Span[i] = T.CreateTruncating(i % 10);
            // Each layer from its own input (a graph's nodes read the values they name).
            var values = net.Trace(x);
            foreach (var node in net.Nodes)
            {
                if (node.Layer is not (Convolution<T> or PoolingLayer<T>)) continue;
                var layer = node.Layer;
                var layerInput = values[node.Inputs[0]];
                var output = values[node.Name];
                var dout = Rand<T>(rng, output.Shape.ToArray());
                bool needDx = node.Inputs[0] != "x";
                var (med, min, max) = Time(() => { layer.Forward(layerInput); layer.Backward(dout, needDx); }, quick);
                string what = $"{name}[{node.Name}] {Shape(layerInput)}→{Shape(output)}";
                if (layer is Convolution<T> conv)
                {
                    double flops = 2.0 * output.Length * conv.W.Length / conv.W.Dim(0) * (needDx ? 3 : 2);
                    yield return new Record("convolution", "", 0, batch, 0, 0, (long)flops, med, min, max, flops / med / 1e9,
                        Layer: what + $" {conv.W.Dim(2)}×{conv.W.Dim(3)} s{conv.Stride} p{conv.Pad}; {conv.PlanFor(layerInput)}");
                }
                else
                {
                    var pool = (PoolingLayer<T>)layer;
                    // Bytes: forward reads x and writes y; backward reads dout and writes dx.
                    double bytes = 2.0 * (layerInput.Length + output.Length) * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
                    yield return new Record(layer.Kind, "", 0, batch, 0, 0, output.Length, med, min, max, bytes / med / 1e9,
                        Layer: what + $" {pool.PoolH}×{pool.PoolW} s{pool.Stride} p{pool.Pad}");
                }
            }
            var optimizer = new Optimizers.Adam<T>(net.Parameters);
            net.Training = true;
            var (m, lo, hi) = Time(() =>
            {
                net.ComputeLoss(x, t);
                optimizer.Step(net);   // the backward pass and the update
            }, quick);
            yield return new Record("network_step", "", 0, batch, 0, 0, batch, m, lo, hi, batch / m, Layer: $"{name}, batch {batch}, Adam");
        }
    }

    private static string Shape<T>(Tensor<T> t) where T : unmanaged, IFloatingPointIeee754<T> =>
        string.Join("×", t.Shape.ToArray()[1..].Select(d => d.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Median, min and max seconds per call over several samples, each long enough to time reliably.</summary>
    public static (double Median, double Min, double Max) Time(Action body, bool quick)
    {
        var sw = Stopwatch.StartNew();
        int warm = 0;
        // --quick is a smoke test of every row (a few calls each, the whole bench in seconds); the full bench times them.
        while (sw.Elapsed.TotalSeconds < (quick ? 0.005 : 0.2) || warm < (quick ? 1 : 3)) { body(); warm++; }
        // Calibrate after the warm-up: the first calls include compiling the code, which would make a sub-microsecond
        // body look slow and leave one call per sample (below the timer's resolution).
        double perCall = sw.Elapsed.TotalSeconds / warm;
        if (!quick || perCall < 0.01)
        {
            sw.Restart();
            int calls = 0;
            while (sw.Elapsed.TotalSeconds < (quick ? 0.001 : 0.005) || calls < (quick ? 1 : 3)) { body(); calls++; }
            perCall = sw.Elapsed.TotalSeconds / calls;
        }
        double sampleTarget = quick ? 0.002 : 0.04;
        int inner = Math.Max(1, (int)(sampleTarget / Math.Max(perCall, 1e-9)));
        int samples = quick ? (perCall > 0.01 ? 1 : 3) : 21;   // quick: one sample of a slow row (a network's step)
        var times = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < inner; i++) body();
            times[s] = Stopwatch.GetElapsedTime(t0).TotalSeconds / inner;
        }
        Array.Sort(times);
        return (times[samples / 2], times[0], times[^1]);
    }

    private static Tensor<T> Rand<T>(Rng rng, params int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = Tensor<T>.Zeros(shape);
        for (int i = 0; i < t.Length; i++) t.Span[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        return t;
    }

    private static string Time(double s) => s switch
    {
        < 1e-6 => string.Create(CultureInfo.InvariantCulture, $"{s * 1e9:0.0} ns"),
        < 1e-3 => string.Create(CultureInfo.InvariantCulture, $"{s * 1e6:0.00} µs"),
        < 1 => string.Create(CultureInfo.InvariantCulture, $"{s * 1e3:0.00} ms"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{s:0.000} s"),
    };

    private static string Rate(Record r) => r.Op switch
    {
        "convolution" => string.Create(CultureInfo.InvariantCulture, $"{r.Rate:0.0} GFLOP/s"),
        "network_step" => string.Create(CultureInfo.InvariantCulture, $"{r.Rate:0} images/s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{r.Rate:0.0} GB/s"),
    };

    private static string Line(Record r) => r.Layer is not null
        ? string.Create(CultureInfo.InvariantCulture, $"  {r.Op} {r.Dtype} threads={r.Threads} {r.Layer}: {Time(r.MedianS)} ({Rate(r)})")
        : r.Op == "fully_connected"
        ? string.Create(CultureInfo.InvariantCulture,
            $"  {r.Op} {r.Dtype} threads={r.Threads} {r.B}x{r.N}x{r.M}: {Time(r.MedianS)} ({r.Rate:0.0} GFLOP/s; FMA peak beside " +
            $"it {r.PeakGflops:0}); {r.Plan}")
        : r.Op == "mlp_epoch"
        ? string.Create(CultureInfo.InvariantCulture,
            $"  {r.Op} {r.Dtype} threads={r.Threads} {r.Optimizer}: {Time(r.MedianS)} per epoch (first {Time(r.FirstS)}), test " +
            $"accuracy {r.Accuracy * 100:0.00}% after {r.Epochs} epochs")
        : string.Create(CultureInfo.InvariantCulture, $"  {r.Op} {r.Dtype} n={r.Elements}: {Time(r.MedianS)} ({r.Rate:0.0} GB/s)");

    public static string Table(List<Record> records)
    {
        var sb = new StringBuilder();
        var fc = records.Where(r => r.Op == "fully_connected").ToList();
        if (fc.Count > 0)
        {
            sb.AppendLine("Fully connected forward + backward (y = x·W + b, dx, dW, db); GFLOP/s counts 6·B·N·M;");
            sb.AppendLine("FMA peak: GFLOP/s of register-only FMA chains on the same threads, measured just before and after the row " +
                "(the higher)");
            sb.AppendLine($"| dtype   | threads | {"B×N×M",-16} | {"median",10} | {"min – max",21} | GFLOP/s | FMA peak | of peak |");
            sb.AppendLine("|---------|--------:|------------------|-----------:|----------------------:|--------:|---------:|--------:|");
            foreach (var r in fc)
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Dtype,-7} | {r.Threads,7} | {$"{r.B}×{r.N}×{r.M}",-16} | {Time(r.MedianS),10} " +
                        $"| {Time(r.MinS) + " – " + Time(r.MaxS),21} | {r.Rate,7:0.0} | {r.PeakGflops,8:0} " +
                        $"| {r.Rate / r.PeakGflops,7:0%} |"));
        }
        var ew = records.Where(r => r.Op is not "fully_connected" and not "mlp_epoch" && r.Layer is null).ToList();
        if (ew.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Element-wise forward + backward; GB/s counts 5 arrays of n elements moved");
            sb.AppendLine($"| dtype   | threads | op      | {"n",10} | {"median",10} | {"min – max",21} | ns/element | GB/s |");
            sb.AppendLine("|---------|--------:|---------|-----------:|-----------:|----------------------:|-----------:|-----:|");
            foreach (var r in ew)
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Dtype,-7} | {r.Threads,7} | {r.Op,-7} | {r.Elements,10} | {Time(r.MedianS),10} " +
                        $"| {Time(r.MinS) + " – " + Time(r.MaxS),21} | {r.MedianS / r.Elements * 1e9,10:0.000} | {r.Rate,4:0.0} |"));
        }
        var cnn = records.Where(r => r.Layer is not null).ToList();
        if (cnn.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine($"Convolutional networks at batch {cnn[0].B}: each convolution and pooling layer forward + backward as " +
                "training runs it (no dx for the first layer; GFLOP/s counts the products), and a whole training step (forward, " +
                "loss, backward, Adam)");
            sb.AppendLine($"| dtype   | threads | {"layer",-52} | {"median",10} | {"min – max",21} | rate            |");
            sb.AppendLine("|---------|--------:|" + new string('-', 54) + "|-----------:|----------------------:|-----------------|");
            foreach (var r in cnn)
            {
                string rate = Rate(r);
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Dtype,-7} | {r.Threads,7} | {r.Op + " " + r.Layer,-52} | {Time(r.MedianS),10} " +
                        $"| {Time(r.MinS) + " – " + Time(r.MaxS),21} | {rate,-15} |"));
            }
        }
        var mlp = records.Where(r => r.Op == "mlp_epoch").ToList();
        if (mlp.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"Training epoch: MLP 784-256-10 ReLU, batch 100, {mlp[0].Elements} Fashion-MNIST images; seconds of the training loop; " +
                    $"median and spread over epochs 2..{mlp[0].Epochs}"));
            sb.AppendLine("| dtype   | threads | optimizer | median s | min – max s   | first epoch s | images/s | test acc |");
            sb.AppendLine("|---------|--------:|-----------|---------:|---------------|--------------:|---------:|---------:|");
            foreach (var r in mlp)
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Dtype,-7} | {r.Threads,7} | {r.Optimizer,-9} | {r.MedianS,8:0.000} | {r.MinS:0.000} – {r.MaxS:0.000} " +
                        $"| {r.FirstS,13:0.000} | {r.Rate,8:0} | {r.Accuracy * 100,7:0.00}% |"));
        }
        return sb.ToString();
    }

    private static string Json(List<Record> records)
    {
        string processor = Processor.Describe();
        string json = Support.Json.Render(w =>
        {
            w.WriteStartArray();
            foreach (var r in records)
            {
                w.WriteStartObject();
                w.WriteString("op", r.Op);
                w.WriteString("dtype", r.Dtype);
                w.Number("threads", r.Threads);
                if (r.Op == "fully_connected")
                {
                    w.Number("B", r.B);
                    w.Number("N", r.N);
                    w.Number("M", r.M);
                }
                else if (r.Op == "mlp_epoch")
                {
                    w.WriteString("optimizer", r.Optimizer);
                    w.Number("epochs", r.Epochs);
                    w.Number("images", r.Elements);
                    w.Number("first_s", r.FirstS);
                    w.Number("test_accuracy", r.Accuracy);
                }
                else w.Number("n", r.Elements);
                w.Number("median_s", r.MedianS);
                w.Number("min_s", r.MinS);
                w.Number("max_s", r.MaxS);
                w.Number(r.Op switch
                {
                    "fully_connected" or "convolution" => "gflops",
                    "mlp_epoch" or "network_step" => "images_per_s",
                    _ => "gbps",
                }, r.Rate);
                if (r.Op == "fully_connected") w.Number("peak_gflops", r.PeakGflops);
                if (r.Plan is not null) w.WriteString("plan", r.Plan);
                if (r.Layer is not null) w.WriteString("layer", r.Layer);
                // The machine beside every record, as the text's last lines give it: results from several machines
                // can then be pooled and still told apart.
                w.WriteString("processor", processor);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
        return json + "\n";
    }
}
