using Backprop;
using Backprop.Cli.Support;
using Backprop.Layers;
using Backprop.Losses;

namespace Backprop.Cli.Grading;

/// <summary>An array with its shape, in float64, as the grader sends and receives it.</summary>
internal sealed record Array64(int[] Shape, double[] Data)
{
    public static Array64 Of(Tensor<double> t) => new(t.Shape.ToArray(), t.Span.ToArray());

    public string ShapeText => Tensor<double>.ShapeText(Shape);

    /// <summary>Writes <c>"name": {"shape": […], "data": […]}</c>, the grading protocol's form of an array.</summary>
    public void Write(System.Text.Json.Utf8JsonWriter w, string name)
    {
        w.WriteStartObject(name);
        w.WriteStartArray("shape");
        foreach (int d in Shape) w.WriteNumberValue(d);
        w.WriteEndArray();
        w.WriteStartArray("data");
        foreach (double v in Data) w.Number(v);
        w.WriteEndArray();
        w.WriteEndObject();
    }
}

/// <summary>One graded case: its inputs, the reference outputs, and how to describe it.</summary>
internal sealed record Case(string Name, IReadOnlyDictionary<string, Array64> Inputs, IReadOnlyDictionary<string, Array64> Expected,
    bool OneHot = false);

/// <summary>The layers the grader knows: the book's class names and how to make and check their cases.</summary>
internal static class GradedLayers
{
    public static readonly IReadOnlyDictionary<string, string[]> Classes = new Dictionary<string, string[]>
    {
        ["fully_connected"] = ["FullyConnected", "Affine"],
        ["relu"] = ["Relu"],
        ["sigmoid"] = ["Sigmoid"],
        ["tanh"] = ["Tanh"],
        ["softmax_cross_entropy"] = ["SoftmaxWithLoss"],
    };

    /// <summary>The textbook sample first, then <paramref name="count"/> − 1 random cases from the exercise's description.</summary>
    public static List<Case> Make(string layer, int count, int seed)
    {
        var rng = new Random(seed);
        var cases = new List<Case>();
        for (int k = 0; k < count; k++)
            cases.Add(layer switch
            {
                "fully_connected" => k == 0 ? FcSample() : Fc(rng, k),
                "softmax_cross_entropy" => Loss(rng, k),
                _ => Activation(layer, rng, k),
            });
        return cases;
    }

    private static Tensor<double> Normal(Random rng, int[] shape, double offset = 0)
    {
        var t = Tensor<double>.Zeros(shape);
        for (int i = 0; i < t.Length; i++)
        {
            double u = 1 - rng.NextDouble(), v = rng.NextDouble();
            t.Span[i] = Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v) + offset;
        }
        return t;
    }

    private static Case FcSample()
    {
        var W = new Tensor<double>([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 2, 3);
        var b = new Tensor<double>([0.1, 0.2, 0.3], 3);
        var x = new Tensor<double>([1, 2, 3, 4], 2, 2);
        var dout = new Tensor<double>([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 2, 3);
        return FcCase("the textbook sample", W, b, x, dout);
    }

    // Batch sizes including 1, x of rank 2, 3 and 4 (the exercise: the input's shape may vary and must come back in dx),
    // N ≠ M and M ≠ B so that a transpose cannot pass, dout with a mean away from 0 so that a missing batch sum shows;
    // case 2 has a square W, where a bias added to dx broadcasts instead of failing.
    private static Case Fc(Random rng, int k)
    {
        int[] batches = [1, 3, 2, 5, 1, 4, 7];
        int B = batches[k % batches.Length], rank = 2 + k % 3;
        int[] trailing = rank switch
        {
            2 => [k == 2 ? 4 : 3 + rng.Next(9)],
            3 => [2 + rng.Next(3), 2 + rng.Next(3)],
            _ => [2, 1 + rng.Next(3), 2 + rng.Next(2)],
        };
        int N = trailing.Aggregate(1, (a, c) => a * c);
        int M = k == 2 ? N : 2 + rng.Next(7);
        while (k != 2 && (M == N || M == B)) M++;
        var W = Normal(rng, [N, M]);
        var b = Normal(rng, [M]);
        var x = Normal(rng, [B, .. trailing]);
        var dout = Normal(rng, [B, M], offset: 0.5);
        return FcCase($"B={B}, x {x.ShapeString}, W {W.ShapeString}", W, b, x, dout);
    }

    private static Case FcCase(string name, Tensor<double> W, Tensor<double> b, Tensor<double> x, Tensor<double> dout)
    {
        var layer = new FullyConnected<double>(W.Clone(), b.Clone());
        var y = layer.Forward(x).Clone();
        var dx = layer.Backward(dout).Clone();
        return new Case(name,
            new Dictionary<string, Array64>
            {
                ["W"] = Array64.Of(W),
                ["b"] = Array64.Of(b),
                ["x"] = Array64.Of(x),
                ["dout"] = Array64.Of(dout)
            },
            new Dictionary<string, Array64>
            {
                ["y"] = Array64.Of(y),
                ["dx"] = Array64.Of(dx),
                ["dW"] = Array64.Of(layer.dW),
                ["db"] = Array64.Of(layer.db)
            });
    }

    // Rank 2 to 4; ReLU's inputs include exact zeros (its gradient there is 0, the book's mask x <= 0).
    private static Case Activation(string layer, Random rng, int k)
    {
        int B = 1 + k % 4;
        int[] shape = (k % 3) switch { 0 => [B, 3 + rng.Next(5)], 1 => [B, 2, 3], _ => [B, 2, 2, 3] };
        var x = Normal(rng, shape);
        for (int i = 0; i < x.Length; i++) x.Span[i] *= 2;
        if (layer == "relu") for (int i = 0; i < x.Length; i += 4) x.Span[i] = 0;
        var dout = Normal(rng, shape, offset: 0.25);
        Layer<double> l = layer switch
        {
            "relu" => new Relu<double>(),
            "sigmoid" => new Sigmoid<double>(),
            _ => new Tanh<double>(),
        };
        var y = l.Forward(x).Clone();
        var dx = l.Backward(dout).Clone();
        return new Case($"x {x.ShapeString}",
            new Dictionary<string, Array64> { ["x"] = Array64.Of(x), ["dout"] = Array64.Of(dout) },
            new Dictionary<string, Array64> { ["y"] = Array64.Of(y), ["dx"] = Array64.Of(dx) });
    }

    // Logits (B, C), targets one-hot in even cases and class indices in odd ones, as the book's class accepts both.
    private static Case Loss(Random rng, int k)
    {
        int B = 1 + k % 5, C = 3 + rng.Next(4);
        var x = Normal(rng, [B, C]);
        var labels = Enumerable.Range(0, B).Select(_ => rng.Next(C)).ToArray();
        bool oneHot = k % 2 == 0;
        Tensor<double> t;
        if (oneHot)
        {
            t = Tensor<double>.Zeros(B, C);
            for (int i = 0; i < B; i++) t[i, labels[i]] = 1;
        }
        else t = new Tensor<double>(labels.Select(l => (double)l).ToArray(), B);
        var loss = new SoftmaxCrossEntropy<double>();
        double L = loss.Forward(x, t);
        var dx = loss.Backward().Clone();
        return new Case($"x {x.ShapeString}, t {(oneHot ? "one-hot" : "class indices")}",
            new Dictionary<string, Array64> { ["x"] = Array64.Of(x), ["t"] = Array64.Of(t) },
            new Dictionary<string, Array64> { ["y"] = new([], [L]), ["dx"] = Array64.Of(dx) }, OneHot: oneHot);
    }
}
