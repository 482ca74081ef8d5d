using Backprop.Data;
using Backprop.Models;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.Tests;

public class FashionMnistTests
{
    [SkippableFact]
    public void One_epoch_on_Fashion_MNIST_clears_80_percent()
    {
        Skip.IfNot(File.Exists(Path.Combine(Datasets.FashionMnistDir, "train-images-idx3-ubyte.gz")),
            $"Fashion-MNIST is not installed in {Datasets.FashionMnistDir} (apt-get install dataset-fashion-mnist)");
        var (all, test) = Datasets.LoadIdxFolder(Datasets.FashionMnistDir, "Fashion-MNIST", Datasets.FashionClasses);
        Assert.Equal(60000, all.Count);
        Assert.Equal(10000, test.Count);
        var (train, val) = all.Split(1.0 / 12, 1);
        var t = new Trainer<float>(new MlpSpec { Sizes = [784, 128, 10] }.Build<float>(new Rng(0)),
            new OptimizerSettings { Kind = OptimizerKind.Sgd, LearningRate = 0.1 }, new TrainerOptions { Batch = 100 });
        var r = t.RunEpoch(train, val, test);
        Assert.True(r.TestAccuracy > 0.80, $"test accuracy after one epoch: {r.TestAccuracy}");
    }
}
