using Backprop;
using Backprop.Layers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Backprop.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(FullyConnectedBenchmarks).Assembly).Run(args);

/// <summary>Fully connected forward + backward (the three products and the bias gradient).</summary>
[MemoryDiagnoser]
public class FullyConnectedBenchmarks
{
    private FullyConnected<float> _layer = null!;
    private Tensor<float> _x = null!, _dout = null!;

    [Params("2,2,3", "1,784,100", "100,784,100", "100,100,10", "128,784,256", "1024,1024,1024")]
    public string Shape { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var s = Shape.Split(',').Select(int.Parse).ToArray();
        var rng = new Random(1);
        _layer = new FullyConnected<float>(Rand(rng, s[1], s[2]), Rand(rng, s[2]));
        _x = Rand(rng, s[0], s[1]);
        _dout = Rand(rng, s[0], s[2]);
        Parallelism.MaxThreads = Threads;
    }

    [Benchmark]
    public Tensor<float> ForwardBackward()
    {
        _layer.Forward(_x);
        return _layer.Backward(_dout);
    }

    internal static Tensor<float> Rand(Random rng, params int[] shape)
    {
        var t = Tensor<float>.Zeros(shape);
        for (int i = 0; i < t.Length; i++) t.Span[i] = (float)(rng.NextDouble() * 2 - 1);
        return t;
    }
}

/// <summary>ReLU, Sigmoid and Tanh forward + backward.</summary>
[MemoryDiagnoser]
public class ActivationBenchmarks
{
    private Layer<float> _layer = null!;
    private Tensor<float> _x = null!, _dout = null!;

    [Params("relu", "sigmoid", "tanh")]
    public string Kind { get; set; } = "";

    [Params(1_000, 100_000, 10_000_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(2);
        _layer = Backprop.Models.Kinds.Create<float>(Kind);
        _x = FullyConnectedBenchmarks.Rand(rng, N);
        _dout = FullyConnectedBenchmarks.Rand(rng, N);
    }

    [Benchmark]
    public Tensor<float> ForwardBackward()
    {
        _layer.Forward(_x);
        return _layer.Backward(_dout);
    }
}

/// <summary>
/// One training step of the MLP (784-256-10, ReLU, softmax cross-entropy, batch 100, float32): forward, loss,
/// backward and the optimizer update. An epoch of 60 000 images is 600 steps plus the batch gathering;
/// `backprop bench --ops training` times whole epochs on Fashion-MNIST.
/// </summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    private Backprop.Networks.Sequential<float> _net = null!;
    private Backprop.Optimizers.Optimizer<float> _optimizer = null!;
    private Tensor<float> _x = null!, _t = null!;

    [Params("sgd", "adam")]
    public string Optimizer { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        var spec = new Backprop.Models.MlpSpec { Sizes = [784, 256, 10] };
        _net = spec.Build<float>(new Backprop.Rng(1));
        _optimizer = Backprop.Optimizers.Optimizer<float>.Create(Optimizer, _net.Parameters, Optimizer == "sgd" ? 0.1 : 0.001);
        _x = FullyConnectedBenchmarks.Rand(rng, 100, 784);
        _t = new Tensor<float>(Enumerable.Range(0, 100).Select(i => (float)(i % 10)).ToArray(), 100);
        Parallelism.MaxThreads = Threads;
    }

    [Benchmark]
    public float Step()
    {
        float loss = _net.ComputeLoss(_x, _t);
        _optimizer.Step(_net);   // the trainer's step: plain SGD fused into the backward pass
        return loss;
    }
}
