using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;

namespace Backprop.Gradients;

/// <summary>
/// The standard gradient check: every layer, every loss and a three-layer network on seeded random inputs in float64,
/// each input element at least 0.1 from a kink.
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

        var fc = new FullyConnected<double>(Random(rng, 4, 5), Random(rng, 5));
        results.AddRange(GradientCheck.Layer(fc, Random(rng, 3, 2, 2), seed, target: "FullyConnected (x rank 3)"));

        foreach (var kind in Kinds.Activations)
        {
            var layer = Kinds.Create<double>(kind.Name);
            results.AddRange(GradientCheck.Layer(layer, AwayFromZero(rng, 3, 4), seed, target: layer.GetType().Name.Split('`')[0]));
        }
        results.AddRange(GradientCheck.Layer(new Gelu<double>(tanhApproximation: true), AwayFromZero(rng, 3, 4), seed,
            target: "Gelu (tanh)"));
        results.AddRange(GradientCheck.Layer(new LeakyRelu<double>(0.2), AwayFromZero(rng, 3, 4), seed, target: "LeakyRelu (alpha 0.2)"));
        results.AddRange(GradientCheck.Layer(new Softplus<double>(2.0, 3.0), AwayFromZero(rng, 3, 4, kink: 1.5), seed,
            target: "Softplus (beta 2, threshold 3)"));

        var conv = new Convolution<double>(Random(rng, 3, 2, 3, 2), Random(rng, 3), stride: 2, pad: 1);
        results.AddRange(GradientCheck.Layer(conv, Random(rng, 2, 2, 5, 4), seed, target: "Convolution (stride 2, pad 1)"));
        // Distinct inputs: a tie inside a window would make max pooling's derivative jump within the difference step.
        var images = Tensor<double>.Zeros(2, 2, 4, 5);
        var order = Enumerable.Range(0, images.Length).OrderBy(_ => rng.Next()).ToArray();
        for (int i = 0; i < images.Length; i++) images.Span[i] = order[i] * 0.31 - 12;
        results.AddRange(GradientCheck.Layer(new MaxPooling<double>(2, 3, stride: 1, pad: 1), images, seed,
            target: "MaxPooling (2×3, pad 1)"));
        results.AddRange(GradientCheck.Layer(new AveragePooling<double>(3, 2, stride: 2, pad: 1), images, seed,
            target: "AveragePooling (3×2)"));

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
        return results;
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
    private static Tensor<double> AwayFromZero(Random rng, int rows, int cols, double kink = 0)
    {
        var t = Tensor<double>.Zeros(rows, cols);
        for (int i = 0; i < t.Length; i++)
        {
            double v;
            do v = (0.1 + 1.9 * rng.NextDouble()) * (rng.Next(2) == 0 ? -1 : 1);
            while (Math.Abs(v - kink) < 0.1);
            t.Span[i] = v;
        }
        return t;
    }
}
