using System.Numerics;
using Backprop.Data;
using Backprop.Gradients;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.ApiTests;

/// <summary>
/// Kinds a user registers, through the public API only, in this process of their own (the registry is process-wide): a loss
/// (log-cosh, L = (1/B)·Σ log cosh(y − t), dx = tanh(y − t)/B·dout) known to model descriptions, trained on targets since
/// it does not declare that it classifies, and in the gradient check, which enumerates the registry; and an optimizer
/// (signSGD) added as CONTRIBUTING.md says, trained and checkpointed like a built-in one.
/// </summary>
public class RegisteredKindTests
{
    private sealed class LogCosh<T> : Loss<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private Tensor<T>? _d, _dx;

        public override string Kind => "log_cosh_test";

        public override T Forward(Tensor<T> x, Tensor<T> t)
        {
            if (!x.HasShape(t.Shape)) throw new ShapeMismatchException($"LogCosh: x {x.ShapeString}, t {t.ShapeString}");
            _d = Tensor<T>.Zeros(x.Shape.ToArray());
            T sum = T.Zero;
            for (int i = 0; i < x.Length; i++)
            {
                _d.Span[i] = x.Span[i] - t.Span[i];
                sum += T.Log(T.Cosh(_d.Span[i]));
            }
            return sum / T.CreateTruncating(x.Dim(0));
        }

        public override Tensor<T> Backward(T dout)
        {
            var d = RequireForward(_d);
            _dx = Tensor<T>.Zeros(d.Shape.ToArray());
            T scale = dout / T.CreateTruncating(d.Dim(0));
            for (int i = 0; i < d.Length; i++) _dx.Span[i] = T.Tanh(d.Span[i]) * scale;
            return _dx;
        }
    }

    static RegisteredKindTests()
    {
        if (!Kinds.IsLoss("log_cosh_test"))
            Kinds.Register(new LossKind("log_cosh_test", "L = (1/B)·Σ log cosh(y − t)", ["logcosh_test"], () => new LogCosh<float>(),
                () => new LogCosh<double>()));
    }

    [Fact]
    public void A_registered_loss_is_in_the_gradient_check_and_passes_it()
    {
        var row = Assert.Single(GradientCheckSuite.Run(), r => r.Target == "LogCosh");
        Assert.True(row.MaxRelativeError < 1e-7, $"{row.MaxRelativeError}");
        Assert.Equal("log_cosh_test", Kinds.Canonical("logcosh-test"));
        Assert.Throws<InvalidInputException>(() => Kinds.Register(new LossKind("mse", "", [], () => new LogCosh<float>(),
            () => new LogCosh<double>())));
    }

    [Fact]
    public void A_registered_loss_builds_from_a_description_and_trains_on_targets()
    {
        var description = ModelDescription.FromJson("""
            {"version": 2, "dtype": "float64", "layers": [{"kind": "fully_connected", "inputs": 2, "outputs": 1}],
             "loss": {"kind": "logcosh_test"}}
            """, "d.json");
        Assert.Equal("log_cosh_test", description.Loss);
        var net = description.Build<double>(new Rng(1));
        Assert.IsType<LogCosh<double>>(net.Loss);
        // y = 2·x₀ − x₁ + 0.5 from 200 points: the loss falls as it learns the line.
        var rng = new Random(4);
        var x = Enumerable.Range(0, 400).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var y = Enumerable.Range(0, 200).Select(i => 2 * x[2 * i] - x[2 * i + 1] + 0.5f).ToArray();
        var data = new Dataset("line", x, 2, y, 1);
        var adam = new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.05 };
        var trainer = new Trainer<double>(net, adam, new TrainerOptions { Batch = 20 });
        double first = trainer.RunEpoch(data, null).TrainLoss;
        for (int e = 0; e < 30; e++) trainer.RunEpoch(data, null);
        Assert.True(trainer.History[^1].TrainLoss < first / 10, $"{first} → {trainer.History[^1].TrainLoss}");
        Assert.Null(trainer.History[^1].TrainAccuracy);
    }

    /// <summary>
    /// A kind added as CONTRIBUTING.md says: the optimizer (signSGD, W ← W − lr·sign(g)) and its kind in one file, one
    /// <see cref="OptimizerKind.Register"/>; settings, checkpoints and the trainer need nothing else.
    /// </summary>
    private sealed class SignSgd<T>(IReadOnlyList<Parameter<T>> parameters, double lr, double weightDecay)
        : Optimizer<T>(parameters, lr, weightDecay, 0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        public override OptimizerKind Kind => SignSgdKind;
        public override OptimizerSettings Settings => new() { Kind = Kind, LearningRate = LearningRate, WeightDecay = WeightDecay };

        protected override void Update(Span<T> w, ReadOnlySpan<T> g, Span<T> s0, Span<T> s1, bool isWeight)
        {
            T lr = T.CreateTruncating(LearningRate);
            for (int i = 0; i < w.Length; i++) w[i] -= lr * T.CreateTruncating(T.Sign(g[i]));
        }
    }

    private sealed class SignSgdOptimizerKind() : OptimizerKind("sign_sgd_test", "W ← W − lr·sign(g)",
        "signSGD (Bernstein et al. 2018), a test-only kind", 0.01, 0)
    {
        public override Optimizer<T> Create<T>(IReadOnlyList<Parameter<T>> parameters, OptimizerSettings s) =>
            new SignSgd<T>(parameters, s.LearningRate!.Value, s.WeightDecay!.Value);
    }

    private static readonly OptimizerKind SignSgdKind = OptimizerKind.Register(new SignSgdOptimizerKind());

    [Fact]
    public void A_kind_a_user_registers_trains_and_checkpoints_like_a_built_in_one()
    {
        Assert.Contains(SignSgdKind.Name, OptimizerSettings.Names);
        var net = new Sequential<double>([new FullyConnected<double>(2, 3, rng: new Rng(1))], new SoftmaxCrossEntropy<double>());
        var trainer = new Trainer<double>(net, new OptimizerSettings { Kind = OptimizerKind.Parse("sign_sgd_test"), LearningRate = 0.05 },
            new TrainerOptions { Batch = 10 });
        var data = Datasets.Spiral(10, 3, seed: 1);
        double before = net.Layers[0].Parameters[0].Value.Span[0];
        trainer.RunEpoch(data, null);
        // Each of the three steps (batches of ten) moves a weight by exactly ±lr: 0.05 or 0.15 in all.
        double moved = Math.Abs(net.Layers[0].Parameters[0].Value.Span[0] - before);
        Assert.True(Math.Abs(moved - 0.05) < 1e-12 || Math.Abs(moved - 0.15) < 1e-12, $"moved {moved}");
        string path = Path.Combine(Path.GetTempPath(), $"bp-signsgd-{Guid.NewGuid():N}.safetensors");
        try
        {
            trainer.SaveCheckpoint(path);
            var back = Trainer<double>.LoadCheckpoint(path);
            Assert.Same(SignSgdKind, back.Optimizer.Kind);
            Assert.Equal(0.05, back.Optimizer.LearningRate);
        }
        finally { File.Delete(path); }
    }
}
