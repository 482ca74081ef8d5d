using Backprop.Gradients;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Networks;

namespace Backprop.Tests;

/// <summary>
/// Networks that are graphs: a chain built as a graph gives the chain's bits; a residual block, a value feeding three
/// nodes, a branch that joins itself after two paths, and a concatenation of two convolutions pass the numerical
/// gradient check (§5's rule: a fork's gradient is the sum of its branches'); a bad graph is refused naming the node.
/// </summary>
public class GraphNetworkTests
{
    private static FullyConnected<double> Fc(Random rng, int n, int m) =>
        new(TestUtil.Random<double>(rng, n, m), TestUtil.Random<double>(rng, m));

    private static void CheckGradients(GraphNetwork<double> net, Tensor<double> x, Tensor<double> t)
    {
        net.Training = true;
        net.ComputeLoss(x, t);
        var dx = net.Backward().Span.ToArray();
        var analytic = net.Parameters.Select(p => p.Grad.Span.ToArray()).ToArray();
        double F() => net.ComputeLoss(x, t);
        var rows = new List<GradientCheckResult> { GradientCheck.Compare("graph", "x", dx, GradientCheck.Numeric(x, F)) };
        for (int i = 0; i < net.Parameters.Count; i++)
            rows.Add(GradientCheck.Compare("graph", $"{net.Parameters[i].Name}#{i}", analytic[i],
                GradientCheck.Numeric(net.Parameters[i].Value, F)));
        foreach (var r in rows) Assert.True(r.MaxRelativeError < 1e-7, $"{r.Parameter}: {r.MaxRelativeError:E2}");
    }

    private static (Tensor<double> X, Tensor<double> T) Batch(Random rng, int batch, int features, int classes)
    {
        var x = TestUtil.Random<double>(rng, batch, features);
        var t = Tensor<double>.Zeros(batch);
        for (int i = 0; i < batch; i++) t[i] = rng.Next(classes);
        return (x, t);
    }

    [Fact]
    public void A_chain_built_as_a_graph_gives_the_chains_bits()
    {
        var rng = new Random(1);
        var (w1, b1, w2, b2) = (TestUtil.Random<double>(rng, 5, 7), TestUtil.Random<double>(rng, 7), TestUtil.Random<double>(rng, 7, 3),
            TestUtil.Random<double>(rng, 3));
        var chain = new Sequential<double>([new FullyConnected<double>(w1.Clone(), b1.Clone()), new Relu<double>(),
            new FullyConnected<double>(w2.Clone(), b2.Clone())], new SoftmaxCrossEntropy<double>());
        var graph = new GraphNetwork<double>(
        [
            GraphNode<double>.Of("fc1", new FullyConnected<double>(w1.Clone(), b1.Clone()), "x"),
            GraphNode<double>.Of("relu", new Relu<double>(), "fc1"),
            GraphNode<double>.Of("fc2", new FullyConnected<double>(w2.Clone(), b2.Clone()), "relu"),
        ], "fc2", new SoftmaxCrossEntropy<double>());
        var (x, t) = Batch(rng, 4, 5, 3);
        Assert.Equal(chain.ComputeLoss(x, t), graph.ComputeLoss(x, t));
        Assert.Equal(chain.Backward().Span.ToArray(), graph.Backward().Span.ToArray());
        for (int p = 0; p < chain.Parameters.Count; p++)
            Assert.Equal(chain.Parameters[p].Grad.Span.ToArray(), graph.Parameters[p].Grad.Span.ToArray());
    }

    [Fact]
    public void A_residual_block_passes_the_gradient_check()
    {
        // y = tanh(x + fc2(tanh(fc1(x)))), then fc3 and softmax cross-entropy: x feeds fc1 and the sum.
        var rng = new Random(2);
        var net = new GraphNetwork<double>(
        [
            GraphNode<double>.Of("fc1", Fc(rng, 6, 6), "x"),
            GraphNode<double>.Of("a1", new Tanh<double>(), "fc1"),
            GraphNode<double>.Of("fc2", Fc(rng, 6, 6), "a1"),
            GraphNode<double>.Add("sum", "x", "fc2"),
            GraphNode<double>.Of("a2", new Tanh<double>(), "sum"),
            GraphNode<double>.Of("fc3", Fc(rng, 6, 3), "a2"),
        ], "fc3", new SoftmaxCrossEntropy<double>());
        var (x, t) = Batch(rng, 5, 6, 3);
        CheckGradients(net, x, t);
    }

    [Fact]
    public void A_value_feeding_three_nodes_and_a_branch_joining_itself_pass_the_gradient_check()
    {
        var rng = new Random(3);
        // a feeds tanh, sigmoid and the sum itself; then two different paths from b join again.
        var net = new GraphNetwork<double>(
        [
            GraphNode<double>.Of("a", Fc(rng, 4, 5), "x"),
            GraphNode<double>.Of("t", new Tanh<double>(), "a"),
            GraphNode<double>.Of("s", new Sigmoid<double>(), "a"),
            GraphNode<double>.Add("b", "t", "s", "a"),
            GraphNode<double>.Of("p1", Fc(rng, 5, 5), "b"),
            GraphNode<double>.Of("p1t", new Tanh<double>(), "p1"),
            GraphNode<double>.Of("p2", Fc(rng, 5, 5), "b"),
            GraphNode<double>.Add("join", "p1t", "p2", "b"),
            GraphNode<double>.Of("out", Fc(rng, 5, 2), "join"),
        ], "out", new SoftmaxCrossEntropy<double>());
        var (x, t) = Batch(rng, 1, 4, 2);   // batch 1
        CheckGradients(net, x, t);
    }

    [Fact]
    public void A_concatenation_of_two_convolutions_passes_the_gradient_check()
    {
        var rng = new Random(4);
        var net = new GraphNetwork<double>(
        [
            GraphNode<double>.Of("c1", new Convolution<double>(TestUtil.Random<double>(rng, 2, 1, 3, 3), TestUtil.Random<double>(rng, 2),
                pad: 1), "x"),
            GraphNode<double>.Of("c2", new Convolution<double>(TestUtil.Random<double>(rng, 3, 1, 1, 1), TestUtil.Random<double>(rng, 3)),
                "x"),
            GraphNode<double>.Concat("cat", "c1", "c2"),
            GraphNode<double>.Of("act", new Tanh<double>(), "cat"),
            GraphNode<double>.Of("fc", Fc(rng, 5 * 4 * 3, 3), "act"),
        ], "fc", new SoftmaxCrossEntropy<double>());
        var x = TestUtil.Random<double>(rng, 2, 1, 4, 3);
        var t = new Tensor<double>([0.0, 2.0], 2);
        CheckGradients(net, x, t);
        // The concatenation itself: per sample, channels 0-1 are c1's and 2-4 c2's.
        var c1 = net.Nodes.First(n => n.Name == "c1").Layer!;
        var c2 = net.Nodes.First(n => n.Name == "c2").Layer!;
        var a = c1.Forward(x).Clone();
        var b = c2.Forward(x).Clone();
        var cat = new GraphNetwork<double>([GraphNode<double>.Of("c1", c1, "x"), GraphNode<double>.Of("c2", c2, "x"),
            GraphNode<double>.Concat("cat", "c1", "c2")], "cat", new MeanSquaredError<double>()).Forward(x);
        Assert.Equal([2, 5, 4, 3], cat.Shape.ToArray());
        for (int s = 0; s < 2; s++)
            for (int c = 0; c < 5; c++)
                for (int k = 0; k < 12; k++)
                    Assert.Equal(c < 2 ? a.Span[(s * 2 + c) * 12 + k] : b.Span[(s * 3 + c - 2) * 12 + k], cat.Span[(s * 5 + c) * 12 + k]);
    }

    [Fact]
    public void A_bad_graph_is_refused_naming_the_node()
    {
        var rng = new Random(5);
        string Why(Func<GraphNetwork<double>> build) => Assert.ThrowsAny<BackpropException>(() => build()).Message;
        Assert.Contains("node 'a': a cycle through it", Why(() => new(
            [GraphNode<double>.Add("a", "x", "b"), GraphNode<double>.Add("b", "a", "x")],
            "a", new MeanSquaredError<double>())));
        Assert.Contains("node 'a': its input 'nope'", Why(() => new([GraphNode<double>.Of("a", new Relu<double>(), "nope")], "a",
            new MeanSquaredError<double>())));
        Assert.Contains("node 'lost': the output 'a' does not depend on it", Why(() => new(
            [GraphNode<double>.Of("a", new Relu<double>(), "x"),
            GraphNode<double>.Of("lost", new Relu<double>(), "x")], "a", new MeanSquaredError<double>())));
        var shared = new Relu<double>();
        Assert.Contains("another node's too", Why(() => new(
            [GraphNode<double>.Of("a", shared, "x"), GraphNode<double>.Of("b", shared, "a")],
            "b", new MeanSquaredError<double>())));
        var mismatch = new GraphNetwork<double>([GraphNode<double>.Of("f", Fc(rng, 3, 2), "x"), GraphNode<double>.Add("s", "x", "f")], "s",
            new MeanSquaredError<double>());
        var e = Assert.Throws<ShapeMismatchException>(() => mismatch.Forward(TestUtil.Random<double>(rng, 2, 3)));
        Assert.Contains("node 's' (add)", e.Message);
    }
}
