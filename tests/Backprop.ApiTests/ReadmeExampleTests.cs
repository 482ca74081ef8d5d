using Backprop.Data;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.ApiTests;

public class ReadmeExampleTests
{
    [Fact]
    public void The_readme_library_example_runs()
    {
        string dir = Directory.CreateTempSubdirectory("bp-readme-lib-").FullName;
        string model = Path.Combine(dir, "spiral.safetensors"), run = Path.Combine(dir, "spiral-run.safetensors");
        try
        {
            // As in README.md, section Library (paths in a temporary folder).
            var W = new Tensor<double>([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 2, 3);
            var b = new Tensor<double>([0.1, 0.2, 0.3], 3);
            var fc = new FullyConnected<double>(W, b);
            var y = fc.Forward(new Tensor<double>([1, 2, 3, 4], 2, 2));
            var dx = fc.Backward(new Tensor<double>([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 2, 3));
            Assert.Equal(1.0, y[0, 0], 12);
            Assert.Equal(0.14, dx[0, 0], 12);

            var net = new Sequential<float>(
                [new FullyConnected<float>(2, 64, rng: new Rng(1)), new Relu<float>(), new FullyConnected<float>(64, 3, rng: new Rng(2))],
                new SoftmaxCrossEntropy<float>());
            var trainer = new Trainer<float>(net, new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.01 },
                new TrainerOptions { Batch = 30, Seed = 0 });
            var spiral = Datasets.Spiral(300, 3, seed: 0);
            for (int epoch = 0; epoch < 50; epoch++) trainer.RunEpoch(spiral, validation: null);
            Assert.True(trainer.History[^1].TrainAccuracy > 0.9, $"spiral accuracy {trainer.History[^1].TrainAccuracy}");

            net.Save(model);
            var loaded = Sequential<float>.Load(model);
            var p = loaded.Predict(new Tensor<float>([0.1f, 0.2f], 1, 2));
            Assert.Equal(net.Predict(new Tensor<float>([0.1f, 0.2f], 1, 2)).Classes, p.Classes);
            trainer.SaveCheckpoint(run);
            var resumed = Trainer<float>.LoadCheckpoint(run);
            Assert.Equal(50, resumed.Epoch);

            // The graph example.
            var graph = new GraphNetwork<float>(
            [
                GraphNode<float>.Of("in", new FullyConnected<float>(2, 32, rng: new Rng(1)), "x"),
                GraphNode<float>.Of("a", new Tanh<float>(), "in"),
                GraphNode<float>.Of("f", new FullyConnected<float>(32, 32, rng: new Rng(2)), "a"),
                GraphNode<float>.Add("sum", "f", "a"),
                GraphNode<float>.Of("r", new Relu<float>(), "sum"),
                GraphNode<float>.Of("out", new FullyConnected<float>(32, 3, rng: new Rng(3)), "r"),
            ], output: "out", new SoftmaxCrossEntropy<float>());
            var graphTrainer = new Trainer<float>(graph, new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.01 });
            for (int epoch = 0; epoch < 50; epoch++) graphTrainer.RunEpoch(spiral, validation: null);
            Assert.True(graphTrainer.History[^1].TrainAccuracy > 0.9, $"residual accuracy {graphTrainer.History[^1].TrainAccuracy}");
            string residual = Path.Combine(dir, "residual.safetensors");
            graph.Save(residual);
            var again = Network<float>.Load(residual);
            Assert.IsType<GraphNetwork<float>>(again);
            var q = new Tensor<float>([0.1f, 0.2f, -0.3f, 0.4f], 2, 2);
            Assert.Equal(graph.Infer(q).Span.ToArray(), again.Infer(q).Span.ToArray());
        }
        finally { Directory.Delete(dir, true); }
    }
}
