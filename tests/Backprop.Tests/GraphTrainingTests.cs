using Backprop.Data;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.Tests;

/// <summary>
/// Graph networks in training and in files: a chain built as a graph trains to the chain's bits (fusion included); a graph
/// is described as schema version 3, saved and loaded to the same outputs, and its checkpoints resume bit-identically;
/// chains are still written as version 2; a bad graph in a file is refused naming the node.
/// </summary>
public class GraphTrainingTests
{
    private static string Temp() => Path.Combine(Path.GetTempPath(), $"bp-graph-{Guid.NewGuid():N}.safetensors");

    private static LayerDescription L(string kind, params (string Name, object Value)[] values) =>
        new(kind, values.ToDictionary(v => v.Name, v => v.Value));

    private static LayerDescription N(string node, string from, LayerDescription d) => d with { Node = node, From = [from] };

    private static LayerDescription Join(string kind, string node, params string[] from) =>
        new(kind, new Dictionary<string, object>()) { Node = node, From = from };

    // 10×10 one-channel images of 3 classes: the class is where a bright square sits, with noise.
    private static Dataset Images(int n, int seed)
    {
        var rng = new Random(seed);
        var f = new float[n * 100];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = rng.Next(3);
            for (int p = 0; p < 100; p++) f[i * 100 + p] = (float)(rng.NextDouble() * 0.3);
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 3; c++) f[i * 100 + (1 + r + 3 * labels[i]) * 10 + 2 + c] += 1;
        }
        return new Dataset("squares", f, labels, 100, 3).WithSampleShape(1, 10, 10);
    }

    private static LayerDescription Conv(int filters, int channels, int kernel, int pad = 0, int stride = 1) =>
        L("convolution", ("filters", filters), ("channels", channels), ("kernel_h", kernel), ("kernel_w", kernel), ("pad", pad),
            ("stride", stride));

    // A convolution chain with the fused forms (convolution → ReLU → pooling), as a chain and as a graph.
    private static ModelDescription Chain(string dtype) => new(dtype,
    [
        Conv(4, 1, 3), L("relu"), L("max_pooling", ("pool_h", 2), ("pool_w", 2), ("stride", 2)),
        L("fully_connected", ("inputs", 4 * 4 * 4), ("outputs", 7)), L("relu"), L("fully_connected", ("inputs", 7), ("outputs", 3)),
    ], "softmax_cross_entropy");

    private static ModelDescription AsGraph(ModelDescription chain) => chain with
    {
        Layers = [.. chain.Layers.Select((d, i) => N($"n{i}", i == 0 ? "x" : $"n{i - 1}", d))],
        Output = $"n{chain.Layers.Count - 1}",
    };

    // A residual block with batch normalization, a concatenation and dropout: every kind of state a checkpoint keeps.
    private static ModelDescription Residual(string dtype) => new(dtype,
    [
        N("stem", "x", Conv(4, 1, 3, pad: 1)), N("bn", "stem", L("batch_norm_2d", ("channels", 4))), N("relu", "bn", L("relu")),
        N("c1", "relu", Conv(4, 4, 3, pad: 1)), N("bn1", "c1", L("batch_norm_2d", ("channels", 4))), N("r1", "bn1", L("relu")),
        N("c2", "r1", Conv(4, 4, 3, pad: 1)), Join("add", "sum", "c2", "relu"), N("r2", "sum", L("relu")),
        N("side", "relu", Conv(2, 4, 1)), Join("concat", "cat", "r2", "side"),
        N("pool", "cat", L("global_average_pooling")), N("flat", "pool", L("flatten")), N("drop", "flat", L("dropout", ("p", 0.3))),
        N("fc", "drop", L("fully_connected", ("inputs", 6), ("outputs", 3))),
    ], "softmax_cross_entropy")
    { Output = "fc" };

    public static TheoryData<string, bool> Runs() => new() { { "sgd", false }, { "sgd", true }, { "adam", false } };

    [Theory]
    [MemberData(nameof(Runs))]
    public void A_chain_built_as_a_graph_trains_to_the_chains_bits(string optimizer, bool twoThreads)
    {
        using var _ = TestUtil.Threads(twoThreads ? 2 : 1);
        var data = Images(30, 1);
        var weights = new List<float[]>[2];
        foreach (bool graph in new[] { false, true })
        {
            var d = graph ? AsGraph(Chain("float32")) : Chain("float32");
            var net = d.Build<float>(new Rng(5));
            Assert.IsType(graph ? typeof(GraphNetwork<float>) : typeof(Sequential<float>), net);
            var trainer = new Trainer<float>(net, new OptimizerSettings { Kind = OptimizerSettings.Parse(optimizer), LearningRate = 0.05 },
                new TrainerOptions { Batch = 7, Seed = 3 });
            trainer.RunEpoch(data, null);
            trainer.RunEpoch(data, null);
            weights[graph ? 1 : 0] = [.. net.Parameters.Select(p => p.Value.Span.ToArray())];
        }
        Assert.Equal(weights[0].Count, weights[1].Count);
        for (int i = 0; i < weights[0].Count; i++) Assert.Equal(weights[0][i], weights[1][i]);
    }

    [Fact]
    public void A_graph_is_saved_as_version_3_and_loads_to_the_same_outputs()
    {
        var d = Residual("float64");
        var net = (GraphNetwork<double>)d.Build<double>(new Rng(2));
        var trainer = new Trainer<double>(net, new OptimizerSettings { Kind = OptimizerKind.Adam }, new TrainerOptions { Batch = 8 });
        trainer.RunEpoch(Images(24, 2), null);   // running statistics away from their start
        string path = Temp();
        try
        {
            net.Save(path);
            var contents = ModelFile.Read(path);
            Assert.Contains("\"version\":3", contents.Metadata["model"], StringComparison.Ordinal);
            Assert.Contains("\"output\":\"fc\"", contents.Metadata["model"], StringComparison.Ordinal);
            Assert.Contains(contents.Tensors, e => e.Name == "nodes.bn1.running_var");
            Assert.Equal(d, contents.Description);
            var loaded = Network<double>.Load(path);
            Assert.IsType<GraphNetwork<double>>(loaded);
            var x = TestUtil.Random<double>(new Random(4), 3, 1, 10, 10);
            Assert.Equal(net.Infer(x).Span.ToArray(), loaded.Infer(x).Span.ToArray());
            var e = Assert.Throws<InvalidFileException>(() => Sequential<double>.Load(path));
            Assert.Contains("a graph network", e.Message, StringComparison.Ordinal);

            // a chain's file is what it was: version 2, layers.{i} tensors
            Chain("float64").Build<double>(new Rng(1)).Save(path);
            Assert.Contains("\"version\":2", ModelFile.Read(path).Metadata["model"], StringComparison.Ordinal);
            Assert.IsType<Sequential<double>>(Sequential<double>.Load(path));
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    public void A_graph_checkpoint_resumes_bit_identically(string optimizer)
    {
        var data = Images(40, 3);
        var settings = new OptimizerSettings { Kind = OptimizerSettings.Parse(optimizer), LearningRate = 0.01 };
        var options = new TrainerOptions { Batch = 8, Seed = 9 };
        var straight = new Trainer<float>(Residual("float32").Build<float>(new Rng(7)), settings, options);
        var first = new Trainer<float>(Residual("float32").Build<float>(new Rng(7)), settings, options);
        string path = Temp();
        try
        {
            straight.RunEpoch(data, null);
            straight.RunEpoch(data, null);
            first.RunEpoch(data, null);
            first.SaveCheckpoint(path);
            var resumed = Trainer<float>.LoadCheckpoint(path);
            Assert.IsType<GraphNetwork<float>>(resumed.Net);
            var r = resumed.RunEpoch(data, null);
            Assert.Equal(straight.History[1].TrainLoss, r.TrainLoss);
            for (int i = 0; i < straight.Net.Parameters.Count; i++)
                Assert.Equal(straight.Net.Parameters[i].Value.Span.ToArray(), resumed.Net.Parameters[i].Value.Span.ToArray());
            var stats = ModelFile.Tensors(straight.Net).Zip(ModelFile.Tensors(resumed.Net));
            foreach (var (a, b) in stats) Assert.Equal(a.Value.Span.ToArray(), b.Value.Span.ToArray());
        }
        finally { File.Delete(path); }
    }

    public static TheoryData<string, string> BadGraphs() => new()
    {
        { """[{"node": "a", "from": ["b"], "kind": "relu"}, {"node": "b", "from": ["a"], "kind": "relu"}]""", "node 'a': a cycle" },
        { """[{"node": "a", "from": ["y"], "kind": "relu"}]""", "node 'a': its input 'y' is neither x nor a node" },
        { """[{"node": "a", "from": ["x"], "kind": "relu"}, {"node": "b", "from": ["x"], "kind": "tanh"}]""",
            "node 'b': the output 'a' does not depend on it" },
        { """[{"node": "a", "from": ["x", "x"], "kind": "relu"}]""", "node 'a': a layer takes one input, not 2" },
        { """[{"node": "a", "from": ["x"], "kind": "add"}]""", "node 'a': add joins two inputs or more" },
        { """[{"node": "a", "from": ["x", "x"], "kind": "add", "alpha": 1}]""", "(add): takes no hyper-parameters" },
        { """[{"node": "a", "kind": "relu"}]""", "'from' must be an array" },
        { """[{"from": ["x"], "kind": "relu"}]""", "has no 'node' name" },
    };

    [Theory]
    [MemberData(nameof(BadGraphs))]
    public void A_bad_graph_in_a_file_is_refused_naming_the_node(string layers, string expected)
    {
        string json = """{"version": 3, "dtype": "float32", "layers": """ + layers + """, "output": "a", "loss": {"kind": "mse"}}""";
        var e = Record.Exception(() => ModelDescription.FromJson(json, "m.json").Build<float>(new Rng(0)));
        Assert.NotNull(e);
        Assert.True(e is InvalidInputException or InvalidFileException, e.GetType().Name);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shapes_that_add_or_concat_cannot_join_are_refused_naming_the_node()
    {
        var add = new ModelDescription("float32",
            [N("a", "x", L("fully_connected", ("inputs", 4), ("outputs", 3))), Join("add", "sum", "a", "x")], "mse")
        { Output = "sum" };
        var e = Assert.Throws<ShapeMismatchException>(() => add.Build<float>(new Rng(0)).Forward(Tensor<float>.Zeros(2, 4)));
        Assert.Contains("node 'sum' (add): 'x' has shape (2, 4), 'a' (2, 3)", e.Message, StringComparison.Ordinal);
        var cat = new ModelDescription("float32",
            [N("p", "x", L("max_pooling", ("pool_h", 2), ("pool_w", 2), ("stride", 2))), Join("concat", "cat", "x", "p")], "mse")
        { Output = "cat" };
        e = Assert.Throws<ShapeMismatchException>(() => cat.Build<float>(new Rng(0)).Forward(Tensor<float>.Zeros(1, 2, 4, 4)));
        Assert.Contains("node 'cat' (concat): 'p' has shape (1, 2, 2, 2)", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void The_plain_trace_is_the_oracle_of_the_graphs_fast_passes(int threads)
    {
        // resnet_small at batch 2 in float64 and the suite's residual graph whose one value feeds three nodes: the fast
        // passes (runs of layers as Sequential, fused where they can, forks summed in reused buffers) against every layer
        // run on its own and every fork summed plainly: the same bits.
        using var _ = TestUtil.Threads(threads);
        var rng = new Random(21);
        var nets = new List<(Network<double> Net, Tensor<double> X, Tensor<double> T)>
        {
            (Architectures.ResNetSmall("float64").Build<double>(new Rng(4)), TestUtil.Random<double>(rng, 2, 1, 28, 28),
                new Tensor<double>([3, 7], 2)),
            Gradients.GradientCheckSuite.ResidualGraph(rng),
        };
        foreach (var (net, x, t) in nets)
        {
            double loss = net.ComputeLoss(x, t);
            var dx = net.Backward().Span.ToArray();
            var grads = net.Parameters.Select(p => p.Grad.Span.ToArray()).ToList();
            var (plainLoss, values, plain) = net.TraceBackward(x, t);
            Assert.Equal(loss, plainLoss);
            Assert.Equal(dx, plain["x"].Span.ToArray());
            for (int i = 0; i < grads.Count; i++) Assert.Equal(grads[i], net.Parameters[i].Grad.Span.ToArray());
            Assert.Equal(net.Forward(x).Span.ToArray(), values[net.OutputNode].Span.ToArray());
        }
    }
}
