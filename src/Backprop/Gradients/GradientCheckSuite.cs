using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;

namespace Backprop.Gradients;

/// <summary>
/// The standard gradient check: every registered layer kind on each of its samples (<see cref="LayerKind.Examples"/>),
/// every registered loss, a three-layer network and a residual graph whose one value feeds three nodes, on seeded random
/// inputs in float64, each input element at least 0.1 from a kink.
/// </summary>
public static class GradientCheckSuite
{
    /// <summary>The bound every row must stay under.</summary>
    public const double Tolerance = 1e-7;

    /// <summary>Runs the whole suite.</summary>
    public static IReadOnlyList<GradientCheckResult> Run(int seed = 0)
    {
        var rng = new Random(seed);
        var results = new List<GradientCheckResult>();

        // Every registered layer kind, on each of its samples: built from its hyper-parameters, in float64.
        foreach (var kind in Kinds.Layers)
            foreach (var example in kind.Examples)
            {
                var layer = kind.Create<double>(Kinds.Configure(kind, example.Hyperparameters, example.Label, new Rng((ulong)seed)));
                layer.Training = example.Training;
                var input = example.Distinct ? Distinct(rng, example.InputShape) : AwayFromZero(rng, example.InputShape, example.Kink);
                results.AddRange(GradientCheck.Layer(layer, input, seed, target: example.Label));
            }

        var logits = Random(rng, 4, 3);
        var oneHot = Tensor<double>.Zeros(4, 3);
        var indices = Tensor<double>.Zeros(4);
        for (int i = 0; i < 4; i++)
        {
            int c = rng.Next(3);
            oneHot[i, c] = 1;
            indices[i] = c;
        }
        // Every registered loss: one that classifies with one-hot and with class-index targets, any other with values.
        foreach (var kind in Kinds.Losses)
        {
            var loss = kind.Create<double>();
            string name = loss.GetType().Name.Split('`')[0];
            if (loss.Classifies)
            {
                results.Add(GradientCheck.Loss(loss, logits, oneHot, target: $"{name} (one-hot)"));
                results.Add(GradientCheck.Loss(kind.Create<double>(), logits, indices, target: $"{name} (indices)"));
            }
            else results.Add(GradientCheck.Loss(loss, Random(rng, 4, 3), Random(rng, 4, 3), target: name));
        }

        var (net, x, t) = ThreeLayerNetwork(rng);
        results.AddRange(GradientCheck.Network(net, x, t));
        var (graph, gx, gt) = ResidualGraph(rng);
        results.AddRange(GradientCheck.Network(graph, gx, gt, name: "residual graph"));
        return results;
    }

    /// <summary>
    /// A residual block with a third branch: convolution 2→3 3×3 pad 1, batch norm (training), tanh, whose value a feeds
    /// three nodes (a convolution 3→3 3×3 pad 1 added back to a, and a 1×1 convolution 3→2 beside it); the sum and the
    /// side joined along the channels, global average pooling, flatten, affine 5→3; softmax cross-entropy on a batch of 3
    /// images 2×5×4. Tanh instead of ReLU keeps the check away from kinks.
    /// </summary>
    public static (GraphNetwork<double> Net, Tensor<double> X, Tensor<double> T) ResidualGraph(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var r = new Rng((ulong)rng.Next());
        GraphNode<double> Of(string name, Layer<double> layer, string input) => GraphNode<double>.Of(name, layer, input);
        var net = new GraphNetwork<double>(
        [
            Of("stem", new Convolution<double>(3, 2, 3, 3, pad: 1, rng: r), "x"),
            Of("bn", new BatchNormalization2d<double>(3), "stem"),
            Of("a", new Tanh<double>(), "bn"),
            Of("conv", new Convolution<double>(3, 3, 3, 3, pad: 1, rng: r), "a"),
            GraphNode<double>.Add("sum", "conv", "a"),
            Of("side", new Convolution<double>(2, 3, 1, 1, rng: r), "a"),
            GraphNode<double>.Concat("cat", "sum", "side"),
            Of("pool", new GlobalAveragePooling<double>(), "cat"),
            Of("flat", new Flatten<double>(), "pool"),
            Of("fc", new FullyConnected<double>(5, 3, rng: r), "flat"),
        ], "fc", new SoftmaxCrossEntropy<double>());
        var x = Random(rng, 3, 2, 5, 4);
        var t = Tensor<double>.Zeros(3);
        for (int i = 0; i < 3; i++) t[i] = rng.Next(3);
        return (net, x, t);
    }

    /// <summary>
    /// The textbook's three-layer chain f1, g1, f2, g2, f3, then softmax with cross-entropy: affine 6→5, ReLU,
    /// affine 5→4, sigmoid, affine 4→3, on a batch of 4 with class-index targets. ReLU inputs are kept away from 0.
    /// </summary>
    public static (Sequential<double> Net, Tensor<double> X, Tensor<double> T) ThreeLayerNetwork(Random rng)
    {
        while (true)
        {
            var net = new Sequential<double>(
            [
                new FullyConnected<double>(Random(rng, 6, 5), Random(rng, 5)),
                new Relu<double>(),
                new FullyConnected<double>(Random(rng, 5, 4), Random(rng, 4)),
                new Sigmoid<double>(),
                new FullyConnected<double>(Random(rng, 4, 3), Random(rng, 3)),
            ], new SoftmaxCrossEntropy<double>());
            var x = Random(rng, 4, 6);
            var t = Tensor<double>.Zeros(4);
            for (int i = 0; i < 4; i++) t[i] = rng.Next(3);
            var z = net.Layers[0].Forward(x);
            bool farFromKink = true;
            foreach (double v in z.Span) farFromKink &= Math.Abs(v) > 0.05;
            if (farFromKink) return (net, x, t);
        }
    }

    private static Tensor<double> Random(Random rng, params int[] shape)
    {
        var t = Tensor<double>.Zeros(shape);
        for (int i = 0; i < t.Length; i++) t.Span[i] = rng.NextDouble() * 2 - 1;
        return t;
    }

    // |x| in [0.1, 2] with a random sign: clear of the kink at 0 (and of `kink`) by far more than the step.
    private static Tensor<double> AwayFromZero(Random rng, int[] shape, double kink = 0)
    {
        var t = Tensor<double>.Zeros(shape);
        for (int i = 0; i < t.Length; i++)
        {
            double v;
            do v = (0.1 + 1.9 * rng.NextDouble()) * (rng.Next(2) == 0 ? -1 : 1);
            while (Math.Abs(v - kink) < 0.1);
            t.Span[i] = v;
        }
        return t;
    }

    // Distinct values 0.31 apart in a random order: no two tie (in a max-pooling window, a tie moves the derivative).
    private static Tensor<double> Distinct(Random rng, int[] shape)
    {
        var t = Tensor<double>.Zeros(shape);
        var order = Enumerable.Range(0, t.Length).OrderBy(_ => rng.Next()).ToArray();
        for (int i = 0; i < t.Length; i++) t.Span[i] = order[i] * 0.31 - 12;
        return t;
    }
}
