using Backprop.Data;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.Tests;

/// <summary>Networks other than the MLP: how they train, save, load and describe themselves.</summary>
public class AnyNetworkTests
{
    private static string Temp() => Path.Combine(Path.GetTempPath(), $"bp-any-{Guid.NewGuid():N}.safetensors");

    private static Dataset Regression(int n, int seed)
    {
        // y = 2·x₀ − x₁ + 0.5, a target any small network can fit.
        var rng = new Random(seed);
        var f = new float[n * 2];
        var t = new float[n];
        for (int i = 0; i < n; i++)
        {
            f[2 * i] = (float)(rng.NextDouble() * 2 - 1);
            f[2 * i + 1] = (float)(rng.NextDouble() * 2 - 1);
            t[i] = 2 * f[2 * i] - f[2 * i + 1] + 0.5f;
        }
        return new Dataset("line", f, 2, t, 1);
    }

    [Fact]
    public void A_float64_trainer_writes_a_float64_checkpoint_that_loads_back()
    {
        var net = new MlpSpec { Sizes = [2, 5, 3] }.Build<double>(new Rng(1));
        var trainer = new Trainer<double>(net, new OptimizerSettings { Kind = OptimizerKind.Adam }, new TrainerOptions { Batch = 10 });
        trainer.RunEpoch(Datasets.Spiral(10, 3, 1), null);
        string path = Temp();
        try
        {
            trainer.SaveCheckpoint(path);
            Assert.Equal("float64", ModelFile.Read(path).Description.Dtype);
            var resumed = Trainer<double>.LoadCheckpoint(path);
            Assert.Equal(1, resumed.Epoch);
            var e = Assert.Throws<InvalidFileException>(() => Trainer<float>.LoadCheckpoint(path));
            Assert.Contains("float64, not float32", e.Message);
            Assert.Throws<InvalidFileException>(() => ModelFile.Load<float>(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_saved_network_loads_as_the_network_that_was_saved()
    {
        // Fully connected + ReLU + MSE: nothing of it may turn into an MLP classifier on the way.
        var net = new Sequential<double>([new FullyConnected<double>(2, 3, rng: new Rng(4)), new Relu<double>()],
            new MeanSquaredError<double>());
        string path = Temp();
        try
        {
            net.Save(path);
            var loaded = Sequential<double>.Load(path);
            Assert.Equal(["fully_connected", "relu"], loaded.Layers.Select(l => l.Kind));
            Assert.IsType<MeanSquaredError<double>>(loaded.Loss);
            var x = new Tensor<double>([0.5, -1, 2, 0.25], 2, 2);
            Assert.Equal(net.Infer(x).Span.ToArray(), loaded.Infer(x).Span.ToArray());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_sized_fully_connected_layer_starts_from_random_weights_and_learns_xor()
    {
        var fc = new FullyConnected<double>(2, 8, rng: new Rng(3));
        Assert.Contains(fc.W.Span.ToArray(), w => w != 0);
        double std = Math.Sqrt(fc.W.Span.ToArray().Select(w => w * w).Average());
        Assert.InRange(std, 0.4, 1.6);   // He: √(2/2) = 1
        Assert.Equal(new double[8], fc.b.Span.ToArray());
        Assert.Equal(new FullyConnected<double>(2, 8, rng: new Rng(3)).W.Span.ToArray(), fc.W.Span.ToArray());   // seedable

        var xor = new Dataset("xor", [0, 0, 0, 1, 1, 0, 1, 1], [0, 1, 1, 0], 2, 2);
        var net = new Sequential<double>([fc, new Tanh<double>(), new FullyConnected<double>(8, 2, rng: new Rng(5))],
            new SoftmaxCrossEntropy<double>());
        var trainer = new Trainer<double>(net, new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.05 },
            new TrainerOptions { Batch = 4 });
        EpochResult r = null!;
        for (int e = 0; e < 300; e++) r = trainer.RunEpoch(xor, null);
        Assert.True(r.TrainLoss < 0.05, $"XOR loss after 300 steps: {r.TrainLoss} (ln 2 = 0.693 is where all-zero weights stay)");
        Assert.Equal([0, 1, 1, 0], net.Predict(new Tensor<double>([0, 0, 0, 1, 1, 0, 1, 1], 4, 2)).Classes);
    }

    [Fact]
    public void Checkpoints_record_the_data_they_train_on()
    {
        var data = new DataSource { Dataset = "spiral", Validation = 0.25, Seed = 7 };
        var net = new MlpSpec { Sizes = [2, 4, 3] }.Build<float>(new Rng(1));
        var trainer = new Trainer<float>(net, new OptimizerSettings(), new TrainerOptions { Batch = 30 }) { Data = data };
        var (all, _) = data.Load();
        var (train, val) = data.Split(all);
        trainer.RunEpoch(train, val);
        string path = Temp();
        try
        {
            trainer.SaveCheckpoint(path);
            Assert.Equal(data, Trainer<float>.LoadCheckpoint(path).Data);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Weight_decay_applies_to_weights_by_role_not_by_name()
    {
        // A parameter named "kernel" with the weight role decays; one named "W" with the bias role does not.
        var kernel = new Parameter<double>("kernel", new Tensor<double>([1.0], 1), new Tensor<double>([0.0], 1), ParameterRole.Weight);
        var notW = new Parameter<double>("W", new Tensor<double>([1.0], 1), new Tensor<double>([0.0], 1), ParameterRole.Bias);
        var scale = new Parameter<double>("gamma", new Tensor<double>([1.0], 1), new Tensor<double>([0.0], 1), ParameterRole.NormScale);
        Optimizer<double>.Create("sgd", [kernel, notW, scale], 0.1, 0.5).Step();
        Assert.Equal(1 - 0.1 * 0.5, kernel.Value.Span[0], 15);
        Assert.Equal(1.0, notW.Value.Span[0]);
        Assert.Equal(1.0, scale.Value.Span[0]);
        Assert.Equal([ParameterRole.NormScale, ParameterRole.NormShift], new BatchNormalization<float>(3).Parameters.Select(p => p.Role));
        Assert.Equal([ParameterRole.Weight, ParameterRole.Bias], new FullyConnected<float>(3, 2).Parameters.Select(p => p.Role));
    }

    [Fact]
    public void Loading_weights_into_a_different_network_names_the_first_differing_tensor()
    {
        var saved = new MlpSpec { Sizes = [3, 4, 2] }.Build<float>(new Rng(1));
        string path = Temp();
        try
        {
            saved.Save(path);
            var same = new MlpSpec { Sizes = [3, 4, 2] }.Build<float>(new Rng(2));
            same.LoadWeights(path);
            Assert.Equal(saved.Parameters[0].Value.Span.ToArray(), same.Parameters[0].Value.Span.ToArray());

            var wider = new MlpSpec { Sizes = [3, 5, 2] }.Build<float>(new Rng(2));
            var e = Assert.Throws<InvalidFileException>(() => wider.LoadWeights(path));
            Assert.Contains("'layers.0.W' has shape (3, 4) in the file, but (3, 5) in the network", e.Message);

            var deeper = new MlpSpec { Sizes = [3, 4, 4, 2] }.Build<float>(new Rng(2));
            e = Assert.Throws<InvalidFileException>(() => deeper.LoadWeights(path));
            Assert.Contains("layers.2.W", e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_file_with_a_tensor_no_layer_owns_does_not_load()
    {
        var net = new MlpSpec { Sizes = [2, 3] }.Build<float>(new Rng(1));
        string path = Temp();
        try
        {
            ModelFile.Save(path, net, extraTensors: [("layers.7.W", Tensor<float>.Zeros(2))]);
            var e = Assert.Throws<InvalidFileException>(() => ModelFile.Load<float>(path));
            Assert.Contains("'layers.7.W' belongs to no layer", e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Regression_networks_train_and_evaluate_on_targets()
    {
        var data = Regression(200, 1);
        var net = new Sequential<float>([new FullyConnected<float>(2, 16, rng: new Rng(1)), new Tanh<float>(), new FullyConnected<float>(16,
            1, rng: new Rng(2))],
            new MeanSquaredError<float>());
        var trainer = new Trainer<float>(net, new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.01 },
            new TrainerOptions { Batch = 20 });
        double first = trainer.RunEpoch(data, null).TrainLoss;
        for (int e = 0; e < 60; e++) trainer.RunEpoch(data, null);
        var ev = Trainer<float>.Evaluate(net, Regression(100, 2));
        Assert.Null(ev.Accuracy);
        Assert.Null(ev.Confusion);
        Assert.True(ev.Loss < first / 20, $"test loss {ev.Loss} against a first epoch of {first}");
        Assert.Null(trainer.History[^1].TrainAccuracy);
        var e2 = Assert.Throws<InvalidInputException>(() => Trainer<float>.Evaluate(net, Datasets.Spiral(5, 3, 0)));
        Assert.Contains("class labels", e2.Message);
        Assert.Throws<InvalidInputException>(() => net.Predict(Tensor<float>.Zeros(1, 2)));
    }

    private sealed class HalfLoss<T> : Loss<T> where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        public override string Kind => "half";
        public override T Forward(Tensor<T> x, Tensor<T> t) => T.Zero;
        public override Tensor<T> Backward(T dout) => throw new NotSupportedException();
    }

    [Fact]
    public void A_loss_of_your_own_is_taken_by_what_it_declares_and_refused_clearly_for_data_it_cannot_take()
    {
        // A loss that does not declare that it classifies is a regression loss: the trainer takes it (it used to refuse
        // any loss but the two built-in ones), and class labels are refused naming it, as are predictions of classes.
        var net = new Sequential<float>([new FullyConnected<float>(2, 2)], new HalfLoss<float>());
        _ = new Trainer<float>(net, new OptimizerSettings());
        var e = Assert.Throws<InvalidInputException>(() => Trainer<float>.Evaluate(net, Datasets.Spiral(2, 3, 0)));
        Assert.Contains("has class labels, but the network is a regression network (half)", e.Message);
        var targets = new Dataset("values", [0.1f, 0.2f, 0.3f, 0.4f], 2, [1f, 2f, 3f, 4f], 2);
        Assert.Equal(0, Trainer<float>.Evaluate(net, targets).Loss);
        e = Assert.Throws<InvalidInputException>(() => net.Predict(Tensor<float>.Zeros(1, 2)));
        Assert.Contains("this network's loss is half", e.Message);
    }

    [Fact]
    public void An_optimizer_over_other_parameters_is_refused()
    {
        var a = new MlpSpec { Sizes = [2, 3] }.Build<float>(new Rng(1));
        var b = new MlpSpec { Sizes = [2, 3] }.Build<float>(new Rng(1));
        var e = Assert.Throws<InvalidInputException>(() => new Trainer<float>(a, Optimizer<float>.Create("sgd", b.Parameters)));
        Assert.Contains("net.Parameters", e.Message);
    }

    [Fact]
    public void Predict_gives_classes_and_probabilities_in_inference_mode()
    {
        var net = new MlpSpec { Sizes = [2, 6, 3], Dropout = 0.5 }.Build<double>(new Rng(3));
        var x = new Tensor<double>([0.1, 0.2, -0.3, 0.4], 2, 2);
        var p = net.Predict(x);
        Assert.True(net.Training);   // restored
        Assert.Equal(2, p.Classes.Length);
        for (int i = 0; i < 2; i++)
        {
            var row = p.Probabilities.Span.Slice(i * 3, 3).ToArray();
            Assert.Equal(1.0, row.Sum(), 12);
            Assert.Equal(Array.IndexOf(row, row.Max()), p.Classes[i]);
        }
        Assert.Equal(p.Probabilities.Span.ToArray(), net.Predict(x).Probabilities.Span.ToArray());   // no dropout in inference
    }

    [Fact]
    public void Descriptions_round_trip_through_json_and_name_what_is_wrong()
    {
        var d = new MlpSpec { Sizes = [4, 8, 3], Activation = "gelu", BatchNorm = true, Dropout = 0.25 }.Describe();
        Assert.Equal(d, ModelDescription.FromJson(d.ToJson(), "here"));
        foreach (var (json, part) in new[]
        {
            ("""{"version": 2, "dtype": "float32", "layers": [{"kind": "conv9"}], "loss": {"kind": "mse"}}""", "unknown kind 'conv9'"),
            ("""{"version": 2, "dtype": "float32", "layers": [{"kind": "relu", "alpha": 1}], "loss": {"kind": "mse"}}""",
                "unknown hyper-parameter 'alpha'"),
            ("""{"version": 2, "dtype": "float32", "layers": [{"kind": "fc", "inputs": 2.5, "outputs": 3}], "loss": {"kind": "mse"}}""",
                "inputs must be an integer"),
            ("""{"version": 2, "dtype": "float32", "layers": [{"kind": "fc", "outputs": 3}], "loss": {"kind": "mse"}}""",
                "inputs is required"),
            ("""{"version": 2, "dtype": "float16", "layers": [], "loss": {"kind": "mse"}}""", "'dtype' must be"),
            ("""{"version": 4, "dtype": "float32", "layers": [], "loss": {"kind": "mse"}}""", "schema version 4"),
            ("""{"version": 2, "dtype": "float32", "layers": [{"kind": "dropout", "p": 1}], "loss": {"kind": "mse"}}""",
                "p must be a number in [0, 1)"),
            ("""{"version": 2, "dtype": "float32", "layers": [], "loss": {"kind": "relu"}}""", "the loss must be one of"),
        })
        {
            var e = Assert.Throws<InvalidFileException>(() => ModelDescription.FromJson(json, "m.safetensors"));
            Assert.Contains(part, e.Message);
            Assert.StartsWith("m.safetensors:", e.Message);
        }
    }

    private sealed class Impostor<T> : ActivationLayer<T> where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        public override string Kind => "relu";
        protected override void Apply(ReadOnlySpan<T> x, Span<T> y) => x.CopyTo(y);
        protected override void Derive(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx) => dout.CopyTo(dx);
    }

    [Fact]
    public void A_layer_that_is_not_what_its_kind_builds_cannot_be_saved()
    {
        var net = new Sequential<float>([new Impostor<float>()], new MeanSquaredError<float>());
        var e = Assert.Throws<InvalidInputException>(() => net.Save(Temp()));
        Assert.Contains("kind 'relu' builds Relu", e.Message);
    }

    [Fact]
    public void The_fused_sgd_step_is_chosen_by_the_optimizer_and_equals_backward_then_update()
    {
        // Plain SGD fuses (FullyConnected offers ISgdFusable); with weight decay it runs backward, then the update.
        var a = new MlpSpec { Sizes = [5, 7, 3], Activation = "elu" }.Build<double>(new Rng(2));
        var b = new MlpSpec { Sizes = [5, 7, 3], Activation = "elu" }.Build<double>(new Rng(2));
        var x = TestUtil.Random<double>(new Random(1), 9, 5);
        var t = new Tensor<double>(Enumerable.Range(0, 9).Select(i => (double)(i % 3)).ToArray(), 9);
        var fused = Optimizer<double>.Create("sgd", a.Parameters, 0.3);
        for (int s = 0; s < 3; s++)
        {
            a.ComputeLoss(x, t);
            fused.Step(a);
            b.ComputeLoss(x, t);
            b.Backward(1.0, inputGradient: false);
            foreach (var p in b.Parameters)
                for (int i = 0; i < p.Value.Length; i++) p.Value.Span[i] -= 0.3 * p.Grad.Span[i];
        }
        Assert.Equal(3, fused.Steps);
        for (int i = 0; i < a.Parameters.Count; i++)
            TestUtil.Close(TestUtil.ToDouble(b.Parameters[i].Value), TestUtil.ToDouble(a.Parameters[i].Value), 1e-13,
                what: a.Parameters[i].Name);
        Assert.Null(a.Backward(1.0, inputGradient: false));
    }
}
