using Backprop.Data;
using Backprop.Layers;
using Backprop.Models;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.Tests;

public class TrainerTests
{
    private static readonly MlpSpec Spec = new() { Sizes = [2, 16, 3], Activation = "tanh", Dropout = 0.1, BatchNorm = true };

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("nesterov")]
    public void A_resumed_run_is_bit_identical_to_an_uninterrupted_one(string optimizer)
    {
        var data = Datasets.Spiral(40, 3, 1);
        var (train, val) = data.Split(0.25, 2);
        var settings = new OptimizerSettings { Kind = OptimizerSettings.Parse(optimizer), LearningRate = 0.05 };
        var options = new TrainerOptions { Batch = 16, Seed = 9 };
        var full = new Trainer<float>(Spec.Build<float>(new Rng(9)), settings, options);
        for (int e = 0; e < 4; e++) full.RunEpoch(train, val);

        string path = Path.Combine(Path.GetTempPath(), $"bp-ckpt-{Guid.NewGuid():N}.safetensors");
        try
        {
            var first = new Trainer<float>(Spec.Build<float>(new Rng(9)), settings, options);
            for (int e = 0; e < 2; e++) first.RunEpoch(train, val);
            first.SaveCheckpoint(path);
            var resumed = Trainer<float>.LoadCheckpoint(path);
            Assert.Equal(2, resumed.Epoch);
            for (int e = 0; e < 2; e++) resumed.RunEpoch(train, val);
            var a = ModelFile.Tensors(full.Net).Concat(full.Optimizer.State).ToList();
            var b = ModelFile.Tensors(resumed.Net).Concat(resumed.Optimizer.State).ToList();
            for (int i = 0; i < a.Count; i++) Assert.Equal(a[i].Value.Span.ToArray(), b[i].Value.Span.ToArray());
            Assert.Equal(full.History.Select(h => h.TrainLoss), resumed.History.Select(h => h.TrainLoss));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Training_learns_the_spiral_in_float64_too()
    {
        var (train, val) = Datasets.Spiral(100, 3, 3).Split(0.2, 4);
        var t = new Trainer<double>(new MlpSpec { Sizes = [2, 32, 32, 3] }.Build<double>(new Rng(1)),
            new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.01 }, new TrainerOptions { Batch = 30, Seed = 1 });
        EpochResult r = null!;
        for (int e = 0; e < 60; e++) r = t.RunEpoch(train, val);
        Assert.True(r.ValAccuracy > 0.9, $"validation accuracy {r.ValAccuracy}");
    }

    [Fact]
    public void A_diverging_run_stops_with_a_clear_error()
    {
        var (train, val) = Datasets.Spiral(30, 3, 3).Split(0.2, 4);
        var t = new Trainer<float>(new MlpSpec { Sizes = [2, 8, 3], Init = Initialization.Normal, InitStd = 1e18 }.Build<float>(new Rng(0)),
            new OptimizerSettings { LearningRate = 1e30 }, new TrainerOptions { Batch = 10 });
        var e = Assert.Throws<TrainingDivergedException>(() => { for (int i = 0; i < 5; i++) t.RunEpoch(train, val); });
        Assert.Contains("diverged", e.Message);
    }
}
