using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;

namespace Backprop.Tests;

/// <summary>Graph networks exported to ONNX run in ONNX Runtime to Backprop's own outputs: a residual block (a fork into
/// an Add) and a concatenation of two convolution branches with batch normalization and global average pooling; PyTorch's
/// residual network and branches, imported and exported again.</summary>
public class GraphOnnxTests
{
    private static void Check(GraphNetwork<float> net, Tensor<float> x, string what)
    {
        net.Training = false;
        var expected = net.Forward(x).Clone();
        string path = Path.Combine(Path.GetTempPath(), $"bp-graph-{what}-{Environment.ProcessId}.onnx");
        try
        {
            OnnxFile.Export(net, path, new OnnxExportOptions(17, Probabilities: true));
            OnnxTests.Same(expected, OnnxTests.RunOrt(path, x), what);
            var model = IO.OnnxModel.Parse(File.ReadAllBytes(path), path);
            Assert.Contains(model.Initializers, t => t.Name.StartsWith("nodes.", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("resblock")]
    [InlineData("branches")]
    public void PyTorchs_graphs_imported_then_exported_again_run_in_onnx_runtime_as_in_backprop(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Data", "onnx");
        var net = Assert.IsType<GraphNetwork<float>>(OnnxFile.Import<float>(Path.Combine(dir, $"{name}-float32.onnx")));
        var x = TestUtil.Random<float>(new Random(8), 3, 2, 7, 6);
        Check(net, x, name);
        // and through a model file: the graph saved and loaded again gives the same bits
        string path = Path.Combine(Path.GetTempPath(), $"bp-graph-{name}-{Environment.ProcessId}.safetensors");
        try
        {
            net.Save(path);
            Assert.Equal(net.Infer(x).Span.ToArray(), Network<float>.Load(path).Infer(x).Span.ToArray());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_residual_block_runs_in_onnx_runtime_as_in_backprop()
    {
        var rng = new Rng(1);
        var net = new GraphNetwork<float>(
        [
            GraphNode<float>.Of("fc1", new FullyConnected<float>(6, 6, rng: rng), "x"),
            GraphNode<float>.Of("a1", new Relu<float>(), "fc1"),
            GraphNode<float>.Of("fc2", new FullyConnected<float>(6, 6, rng: rng), "a1"),
            GraphNode<float>.Add("sum", "x", "fc2", "a1"),
            GraphNode<float>.Of("a2", new Relu<float>(), "sum"),
            GraphNode<float>.Of("out", new FullyConnected<float>(6, 3, rng: rng), "a2"),
        ], "out", new SoftmaxCrossEntropy<float>());
        foreach (int batch in new[] { 1, 7 }) Check(net, TestUtil.Random<float>(new Random(batch), batch, 6), $"residual-{batch}");
    }

    [Fact]
    public void A_concatenation_of_convolution_branches_runs_in_onnx_runtime_as_in_backprop()
    {
        var rng = new Rng(2);
        var bn = new BatchNormalization2d<float>(5);
        var random = new Random(3);
        foreach (var p in bn.Parameters)
            for (int i = 0; i < p.Value.Length; i++) p.Value.Span[i] = (float)(random.NextDouble() + 0.5);
        var net = new GraphNetwork<float>(
        [
            GraphNode<float>.Of("c1", new Convolution<float>(2, 1, 3, 3, pad: 1, rng: rng), "x"),
            GraphNode<float>.Of("c2", new Convolution<float>(3, 1, 1, 1, rng: rng), "x"),
            GraphNode<float>.Concat("cat", "c1", "c2"),
            GraphNode<float>.Of("bn", bn, "cat"),
            GraphNode<float>.Of("act", new Relu<float>(), "bn"),
            GraphNode<float>.Of("gap", new GlobalAveragePooling<float>(), "act"),
            GraphNode<float>.Of("fc", new FullyConnected<float>(5, 4, rng: rng), "gap"),
        ], "fc", new SoftmaxCrossEntropy<float>());
        Check(net, TestUtil.Random<float>(new Random(4), 3, 1, 6, 5), "concat");
    }
}
