using Backprop.Data;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.Tests;

/// <summary>
/// The training loop people expect: learning-rate schedules equal to torch.optim.lr_scheduler's formulas (transcribed
/// from its documentation, evaluated by hand here), resumed mid-schedule bit-identically; gradient clipping as
/// clip_grad_norm_ scales; early stopping that keeps the best epoch's exact weights.
/// </summary>
public sealed class TrainingLoopTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bp-loop-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Schedules_follow_torchs_formulas()
    {
        // StepLR(step_size=3, gamma=0.5): 0.1·0.5^⌊e/3⌋
        var step = new LearningRateSchedule { Kind = "step", StepSize = 3, Gamma = 0.5 };
        Assert.Equal([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], Enumerable.Range(0, 7).Select(e => step.Rate(0.1, e)));
        // ExponentialLR(gamma=0.5): 0.1·0.5^e
        var exp = new LearningRateSchedule { Kind = "exponential", Gamma = 0.5 };
        Assert.Equal([0.1, 0.05, 0.025, 0.0125], Enumerable.Range(0, 4).Select(e => exp.Rate(0.1, e)));
        // CosineAnnealingLR(T_max=4, eta_min=0.01): 0.01 + 0.09·(1 + cos(π·e/4))/2 = 0.1, 0.0868198, 0.055, 0.0231802, 0.01
        var cos = new LearningRateSchedule { Kind = "cosine", TMax = 4, EtaMin = 0.01 };
        double[] expected = [0.1, 0.08681980515339464, 0.055, 0.023180194846605363, 0.01];
        for (int e = 0; e <= 4; e++) Assert.Equal(expected[e], cos.Rate(0.1, e), 15);
        // LinearLR(start_factor=1/3, total_iters=3) chained with a constant rate: 1/3, 5/9, 7/9, 1, 1
        var warm = new LearningRateSchedule { Warmup = 3 };
        double[] factors = [1.0 / 3, 5.0 / 9, 7.0 / 9, 1, 1];
        for (int e = 0; e < 5; e++) Assert.Equal(0.3 * factors[e], warm.Rate(0.3, e), 15);
    }

    private static Trainer<double> SpiralTrainer(TrainerOptions options)
    {
        var net = new MlpSpec { Sizes = [2, 16, 3], Dtype = "float64" }.Build<double>(new Rng(2));
        return new Trainer<double>(net, new OptimizerSettings { Kind = OptimizerKind.Sgd, LearningRate = 0.5 }, options);
    }

    [Fact]
    public void The_trainer_runs_each_epoch_at_its_scheduled_rate_and_resumes_mid_schedule_bit_identically()
    {
        var data = Datasets.Spiral(40, 3, 1);
        var options = new TrainerOptions
        {
            Batch = 16,
            Seed = 4,
            Schedule = new LearningRateSchedule
            {
                Kind = "step",
                StepSize = 2,
                Gamma = 0.5
            }
        };
        var straight = SpiralTrainer(options);
        var rates = new List<double>();
        for (int e = 0; e < 5; e++)
        {
            straight.RunEpoch(data, null);
            rates.Add(straight.Optimizer.LearningRate);
        }
        Assert.Equal([0.5, 0.5, 0.25, 0.25, 0.125], rates);
        var first = SpiralTrainer(options);
        for (int e = 0; e < 3; e++) first.RunEpoch(data, null);
        string path = Path.Combine(_dir, "mid.safetensors");
        first.SaveCheckpoint(path);
        var resumed = Trainer<double>.LoadCheckpoint(path);
        Assert.Equal(0.5, resumed.BaseLearningRate);   // the base rate, not epoch 3's
        for (int e = 0; e < 2; e++) resumed.RunEpoch(data, null);
        for (int p = 0; p < straight.Net.Parameters.Count; p++)
            Assert.Equal(straight.Net.Parameters[p].Value.Span.ToArray(), resumed.Net.Parameters[p].Value.Span.ToArray());
    }

    [Fact]
    public void Clipping_scales_the_gradients_to_the_norm_as_clip_grad_norm_does()
    {
        // One sample, so that the trainer's batch is the one computed by hand.
        var data = new Dataset("one", [0.3f, -0.7f], [2], 2, 3);
        var trainer = SpiralTrainer(new TrainerOptions { Batch = 1, ClipNorm = 0.01 });
        var twin = new MlpSpec { Sizes = [2, 16, 3], Dtype = "float64" }.Build<double>(new Rng(2));
        var optimizer = Optimizer<double>.Create("sgd", twin.Parameters, 0.5);
        twin.Training = true;
        twin.ComputeLoss(new Tensor<double>([0.30000001192092896, -0.69999998807907104], 1, 2), new Tensor<double>([2.0], 1));
        twin.Backward();
        // torch: total_norm = ‖(‖g‖ for every g)‖₂, clip_coef = max_norm/(total_norm + 1e-6), grads ·= clip_coef if it is < 1
        double squares = 0;
        foreach (var p in twin.Parameters)
        {
            double sum = 0;
            foreach (var g in p.Grad.Span) sum += g * g;
            squares += Math.Sqrt(sum) * Math.Sqrt(sum);
        }
        double total = Math.Sqrt(squares);
        double coef = 0.01 / (total + 1e-6);
        Assert.True(coef < 1);
        foreach (var p in twin.Parameters)
            for (int i = 0; i < p.Grad.Length; i++) p.Grad.Span[i] *= coef;
        optimizer.Step();
        trainer.RunEpoch(data, null);
        Assert.Equal(total, trainer.LastGradientNorm, 12);
        for (int p = 0; p < twin.Parameters.Count; p++)
            Assert.Equal(twin.Parameters[p].Value.Span.ToArray(), trainer.Net.Parameters[p].Value.Span.ToArray());
    }

    [Fact]
    public void Early_stopping_keeps_the_best_epochs_exact_weights()
    {
        string es = Path.Combine(_dir, "es.safetensors"), exact = Path.Combine(_dir, "exact.safetensors");
        string[] common = ["train", "--epochs", "60", "--lr", "0.05", "--seed", "3", "--json"];
        var (code, stdout, stderr) = TestUtil.Cli("", [.. common, "--patience", "3", "--out", es]);
        Assert.Equal(0, code);
        var m = System.Text.RegularExpressions.Regex.Match(stderr, @"epoch (\d+) had the lowest validation loss");
        Assert.True(m.Success, stderr);
        int best = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int ran = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.True(ran >= best + 3 || ran == 60, $"ran {ran}, best {best}");
        // The same run stopped by hand at the best epoch: the same weights, to the bit.
        (code, _, _) = TestUtil.Cli("", ["train", "--epochs", best.ToString(System.Globalization.CultureInfo.InvariantCulture), "--lr",
            "0.05", "--seed", "3", "--json", "--out", exact]);
        Assert.Equal(0, code);
        var a = ModelFile.Load<float>(es);
        var b = ModelFile.Load<float>(exact);
        for (int p = 0; p < a.Parameters.Count; p++)
            Assert.Equal(b.Parameters[p].Value.Span.ToArray(), a.Parameters[p].Value.Span.ToArray());
        // The library keeps it in memory too.
        var trainer = SpiralTrainer(new TrainerOptions { Batch = 10, Patience = 2 });
        var (train, val) = Datasets.Spiral(60, 3, 2).Split(0.3, 1);
        while (!trainer.ShouldStop && trainer.Epoch < 200) trainer.RunEpoch(train, val);
        var bestLoss = trainer.History[trainer.BestEpoch - 1].ValLoss!.Value;
        Assert.True(trainer.RestoreBest());
        Assert.Equal(bestLoss, Trainer<double>.Evaluate(trainer.Net, val).Loss, 12);
    }

    [Fact]
    public void Each_epoch_is_printed_once_and_the_test_data_only_at_the_end()
    {
        var (code, text, _) = TestUtil.Cli("", "train", "--epochs", "3", "--seed", "1");
        Assert.Equal(0, code);
        var lines = text.Split('\n');
        for (int e = 1; e <= 3; e++) Assert.Single(lines, l => l.StartsWith($"|   {e}/3 |", StringComparison.Ordinal));
        Assert.DoesNotContain("test loss", text);   // no test column while training
        Assert.Matches(@"\ntest: 300 samples, loss \d\.\d{4}, accuracy \d+\.\d\d%\n", text);
        (code, text, _) = TestUtil.Cli("", "train", "--epochs", "3", "--seed", "1", "--json");
        var rows = text.Trim().Split('\n').Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal([false, false, true], rows.Select(r => r.TryGetProperty("test_loss", out var v)
            && v.ValueKind == System.Text.Json.JsonValueKind.Number));
    }

    [Fact]
    public void Model_names_a_model_in_train_as_in_eval_and_the_books_loss_name_stays_an_alias()
    {
        // train --model FILE starts from a saved model's weights: zero epochs of training on top change nothing.
        string first = Path.Combine(_dir, "first.safetensors"), second = Path.Combine(_dir, "second.safetensors");
        Assert.Equal(0, TestUtil.Cli("", "train", "--epochs", "2", "--out", first).Code);
        var (code, _, err) = TestUtil.Cli("", "train", "--model", first, "--epochs", "1", "--lr", "1e-30", "--optimizer", "sgd",
            "--out", second);
        Assert.True(code == 0, err);
        var a = ModelFile.Load<float>(first);
        var b = ModelFile.Load<float>(second);
        for (int p = 0; p < a.Parameters.Count; p++)
        {
            var x = a.Parameters[p].Value.Span.ToArray();
            var y = b.Parameters[p].Value.Span.ToArray();
            for (int i = 0; i < x.Length; i++) Assert.Equal(x[i], y[i], 1e-6f);   // a step of 10⁻³⁰ moves nothing visible
        }
        // grade's --layer takes the registry's name, and the book's spelling as an alias.
        var help = TestUtil.Cli("", "grade", "--help").Out;
        Assert.Contains("softmax_cross_entropy", help);
    }
}
