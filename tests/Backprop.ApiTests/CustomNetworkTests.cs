using System.Numerics;
using Backprop.Data;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.ApiTests;

public class CustomNetworkTests
{
    private static string Temp() => Path.Combine(Path.GetTempPath(), $"bp-api-{Guid.NewGuid():N}.safetensors");

    private static Dataset Line(int n, int seed)
    {
        var rng = new System.Random(seed);
        var f = new float[n * 3];
        var t = new float[n * 2];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < 3; j++) f[3 * i + j] = (float)(rng.NextDouble() * 2 - 1);
            t[2 * i] = 3 * f[3 * i] - f[3 * i + 2];
            t[2 * i + 1] = 0.5f * f[3 * i + 1] + 1;
        }
        return new Dataset("line", f, 3, t, 2);
    }

    [Fact]
    public void An_own_layer_trains_saves_and_loads_to_bit_identical_predictions()
    {
        ScaleKind.EnsureRegistered();
        var net = new Sequential<double>(
            [new FullyConnected<double>(3, 8, rng: new Rng(1)), new Tanh<double>(), new Scale<double>(8), new FullyConnected<double>(8, 2,
                rng: new Rng(2))],
            new MeanSquaredError<double>());
        var trainer = new Trainer<double>(net, new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.02, WeightDecay = 1e-4 },
            new TrainerOptions { Batch = 16, Seed = 3 });
        var data = Line(160, 1);
        double first = trainer.RunEpoch(data, null).TrainLoss;
        for (int e = 0; e < 40; e++) trainer.RunEpoch(data, null);
        Assert.True(trainer.History[^1].TrainLoss < first / 10, $"loss {trainer.History[^1].TrainLoss} after {first}");
        var scale = (Scale<double>)net.Layers[2];
        Assert.Contains(scale.Parameters[0].Value.Span.ToArray(), s => s != 1);   // the own parameter learned

        string path = Temp();
        try
        {
            net.Save(path);
            var loaded = Sequential<double>.Load(path);
            Assert.NotSame(net.Layers[2], loaded.Layers[2]);
            Assert.IsType<Scale<double>>(loaded.Layers[2]);
            Assert.IsType<MeanSquaredError<double>>(loaded.Loss);
            var x = new Tensor<double>(Line(7, 2).Features.Select(v => (double)v).ToArray(), 7, 3);
            Assert.Equal(net.Infer(x).Span.ToArray(), loaded.Infer(x).Span.ToArray());
            Assert.Equal(net.Description, loaded.Description);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_checkpoint_of_an_own_network_resumes_bit_identically()
    {
        ScaleKind.EnsureRegistered();
        Sequential<float> Build() => new([new FullyConnected<float>(3, 6, rng: new Rng(4)), new Scale<float>(6), new Dropout<float>(0.2,
            new Rng(5)),
            new FullyConnected<float>(6, 2, rng: new Rng(6))], new MeanSquaredError<float>());
        var settings = new OptimizerSettings { Kind = OptimizerKind.Momentum, LearningRate = 0.05 };
        var options = new TrainerOptions { Batch = 10, Seed = 8 };
        var data = Line(50, 3);
        var straight = new Trainer<float>(Build(), settings, options);
        for (int e = 0; e < 4; e++) straight.RunEpoch(data, null);

        string path = Temp();
        try
        {
            var first = new Trainer<float>(Build(), settings, options);
            for (int e = 0; e < 2; e++) first.RunEpoch(data, null);
            first.SaveCheckpoint(path);
            var resumed = Trainer<float>.LoadCheckpoint(path);
            for (int e = 0; e < 2; e++) resumed.RunEpoch(data, null);
            Assert.Equal(straight.History.Select(h => h.TrainLoss), resumed.History.Select(h => h.TrainLoss));
            for (int i = 0; i < straight.Net.Parameters.Count; i++)
                Assert.Equal(straight.Net.Parameters[i].Value.Span.ToArray(), resumed.Net.Parameters[i].Value.Span.ToArray());
        }
        finally { File.Delete(path); }
    }

    public static TheoryData<string> BuiltInKinds()
    {
        var d = new TheoryData<string>();
        foreach (var k in Kinds.Layers.Where(k => k.LayerType.Assembly == typeof(Layer<>).Assembly)) d.Add(k.Name);
        return d;
    }

    [Theory]
    [MemberData(nameof(BuiltInKinds))]
    public void Every_built_in_kind_trains_saves_and_loads_to_bit_identical_predictions(string kind)
    {
        Check<float>(kind);
        Check<double>(kind);
    }

    // Kinds that take images (N, C, H, W) and the sizes that fit 5 one-channel 6×6 images.
    private static readonly Dictionary<string, int> ImageSizes = new()
    {
        ["filters"] = 2,
        ["channels"] = 1,
        ["kernel_h"] = 3,
        ["kernel_w"] = 2,
        ["pool_h"] = 2,
        ["pool_w"] = 3,
    };

    private static void Check<T>(string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // A kind takes images where it needs image sizes, or where its samples (the registry's) are images.
        if (Kinds.Layer(name).Hyperparameters.Any(h => h.Required && ImageSizes.ContainsKey(h.Name))
            || Kinds.Layer(name).Examples.Any(e => e.InputShape.Length == 4))
        {
            CheckImages<T>(name);
            return;
        }
        // FC 2→6, the kind (sized 6 where it takes sizes, with non-default hyper-parameters where it has numbers), FC 6→3.
        var kind = Kinds.Layer(name);
        var values = new Dictionary<string, object>();
        foreach (var h in kind.Hyperparameters)
        {
            if (h.Required) values[h.Name] = 6;
            else if (h.Type == HyperparameterType.Number && !h.CreationOnly && h.Default is double dflt)
                values[h.Name] = Math.Min(dflt * 0.5 + 0.1, double.IsFinite(h.Max) ? h.Max * 0.9 : double.MaxValue);
            else if (h.Type == HyperparameterType.Choice && !h.CreationOnly) values[h.Name] = h.Choices[^1];
        }
        var middle = kind.Create<T>(Kinds.Configure(kind, values, name, new Rng(7)));
        var net = new Sequential<T>([new FullyConnected<T>(2, 6, rng: new Rng(1)), middle, new FullyConnected<T>(6, 3, rng: new Rng(2))],
            new SoftmaxCrossEntropy<T>());
        var trainer = new Trainer<T>(net, new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.01 },
            new TrainerOptions { Batch = 15 });
        var data = Datasets.Spiral(20, 3, 5);
        for (int e = 0; e < 3; e++) trainer.RunEpoch(data, null);

        string path = Temp();
        try
        {
            net.Save(path);
            var loaded = Sequential<T>.Load(path);
            Assert.Equal(net.Description, loaded.Description);
            Assert.Equal(name, loaded.Layers[1].Kind);
            foreach (var (key, value) in net.Layers[1].Hyperparameters) Assert.Equal(value, loaded.Layers[1].Hyperparameters[key]);
            var x = Tensor<T>.Zeros(5, 2);
            for (int i = 0; i < 10; i++) x.Span[i] = T.CreateTruncating(data.Features[i * 3]);
            Assert.Equal(net.Predict(x).Probabilities.Span.ToArray(), loaded.Predict(x).Probabilities.Span.ToArray());
            Assert.Equal(net.Predict(x).Classes, loaded.Predict(x).Classes);
        }
        finally { File.Delete(path); }
    }

    // An image kind, then a fully connected layer over its flattened output: trained a few steps with SGD and momentum
    // through the optimizer's own step (the Trainer feeds flat samples), saved, loaded, compared.
    private static void CheckImages<T>(string name) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var kind = Kinds.Layer(name);
        var values = kind.Hyperparameters.Where(h => h.Required).ToDictionary(h => h.Name, h => (object)ImageSizes[h.Name]);
        if (kind.Hyperparameters.Any(h => h.Name == "stride")) values["stride"] = 1;
        if (kind.Hyperparameters.Any(h => h.Name == "pad")) values["pad"] = 1;
        var middle = kind.Create<T>(Kinds.Configure(kind, values, name, new Rng(7)));
        var rng = new System.Random(3);
        var x = Tensor<T>.Zeros(5, 1, 6, 6);
        for (int i = 0; i < x.Length; i++) x.Span[i] = T.CreateTruncating(rng.NextDouble() * 2 - 1);
        int features = middle.Forward(x).Length / 5;
        var net = new Sequential<T>([middle, new FullyConnected<T>(features, 3, rng: new Rng(2))], new SoftmaxCrossEntropy<T>());
        var t = new Tensor<T>([.. new[] { 0, 1, 2, 1, 0 }.Select(v => T.CreateTruncating(v))], 5);
        var opt = Optimizer<T>.Create(new OptimizerSettings { Kind = OptimizerKind.Momentum, LearningRate = 0.05 }, net.Parameters);
        T first = net.ComputeLoss(x, t);
        for (int step = 0; step < 20; step++)
        {
            net.ComputeLoss(x, t);
            opt.Step(net);
        }
        Assert.True(net.ComputeLoss(x, t) < first, $"{name}: the loss did not fall");
        string path = Temp();
        try
        {
            net.Save(path);
            var loaded = Sequential<T>.Load(path);
            Assert.Equal(net.Description, loaded.Description);
            Assert.Equal(name, loaded.Layers[0].Kind);
            Assert.Equal(net.Predict(x).Probabilities.Span.ToArray(), loaded.Predict(x).Probabilities.Span.ToArray());
        }
        finally { File.Delete(path); }
    }
}
