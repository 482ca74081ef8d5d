using System.IO.Compression;
using Backprop.Data;
using Backprop.Gradients;
using Backprop.IO;
using Backprop.Layers;
using Backprop.Models;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.Tests;

public class OptimizerTests
{
    // One parameter W = [1, -2], gradient g = [0.5, 0.25]; each optimizer's first two steps by hand.
    private static (Parameter<double> P, Optimizer<double> Opt) Make(string kind, double lr, double? wd = null)
    {
        var p = new Parameter<double>("W", new Tensor<double>([1.0, -2.0], 2), new Tensor<double>([0.5, 0.25], 2), ParameterRole.Weight);
        return (p, Optimizer<double>.Create(kind, [p], lr, wd));
    }

    private static double[] Steps(string kind, double lr, int n, double? wd = null)
    {
        var (p, opt) = Make(kind, lr, wd);
        for (int i = 0; i < n; i++)
        {
            p.Grad.Span[0] = 0.5; p.Grad.Span[1] = 0.25;
            opt.Step();
        }
        return p.Value.Span.ToArray();
    }

    [Fact]
    public void Sgd_steps_against_the_gradient() => Assert.Equal([1 - 0.1 * 0.5, -2 - 0.1 * 0.25], Steps("sgd", 0.1, 1));

    [Fact]
    public void Momentum_accumulates_velocity()
    {
        // v1 = −lr·g; v2 = 0.9·v1 − lr·g; W2 = W + v1 + v2
        double v1 = -0.1 * 0.5, v2 = 0.9 * v1 - 0.1 * 0.5;
        Assert.Equal(1 + v1 + v2, Steps("momentum", 0.1, 2)[0], 15);
    }

    [Fact]
    public void Nesterov_follows_the_books_corrected_update()
    {
        // common/optimizer.py after the book's "Fix Nesterov update function", transcribed line by line:
        //   params[key] += self.momentum * self.momentum * self.v[key]
        //   params[key] -= (1 + self.momentum) * self.lr * grads[key]
        //   self.v[key] *= self.momentum
        //   self.v[key] -= self.lr * grads[key]
        double momentum = 0.9, lr = 0.1, v = 0, w = 1;
        for (int i = 0; i < 3; i++)
        {
            double grad = 0.5;
            w += momentum * momentum * v;
            w -= (1 + momentum) * lr * grad;
            v *= momentum;
            v -= lr * grad;
        }
        Assert.Equal(w, Steps("nesterov", 0.1, 3)[0], 14);
    }

    [Fact]
    public void One_nesterov_step_from_W_1_with_g_half_gives_0_905()
    {
        // The issue's figures: W = 1, g = 0.5, lr = 0.1, m = 0.9; the pre-2021 formula gave 0.8645.
        Assert.Equal(0.905, Steps("nesterov", 0.1, 1)[0], 15);
    }

    [Fact]
    public void Nesterov_matches_torch_sgd_with_nesterov_on_changing_gradients()
    {
        // torch.optim.SGD(lr, momentum, nesterov=True) as PyTorch documents the algorithm:
        //   b₁ = g₁, b_t = μ·b_{t−1} + g_t;  g_t ← g_t + μ·b_t;  θ_t = θ_{t−1} − γ·g_t
        double[] grads = [0.5, -0.25, 1.0, 0.125, -2.0];
        double mu = 0.9, gamma = 0.1, theta = 1, buf = 0;
        var expected = new List<double>();
        for (int t = 0; t < grads.Length; t++)
        {
            buf = t == 0 ? grads[t] : mu * buf + grads[t];
            theta -= gamma * (grads[t] + mu * buf);
            expected.Add(theta);
        }
        var p = new Parameter<double>("W", new Tensor<double>([1.0], 1), Tensor<double>.Zeros(1), ParameterRole.Weight);
        var opt = Optimizer<double>.Create("nesterov", [p], gamma);
        for (int t = 0; t < grads.Length; t++)
        {
            p.Grad.Span[0] = grads[t];
            opt.Step();
            Assert.Equal(expected[t], p.Value.Span[0], 13);
        }
        // torch's first steps, worked by hand from the documented algorithm: 1 − 0.1·(0.5 + 0.45) = 0.905, then
        // b₂ = 0.45 − 0.25 = 0.2, θ₂ = 0.905 − 0.1·(−0.25 + 0.18) = 0.912.
        Assert.Equal(0.905, expected[0], 15);
        Assert.Equal(0.912, expected[1], 15);
    }

    [Fact]
    public void AdamW_with_weight_decay_zero_does_not_decay()
    {
        // AdamW's default decay is 0.01 only when none is given; an explicit 0 is 0.
        var w0 = Steps("adam", 0.01, 2);
        Assert.Equal(w0, Steps("adamw", 0.01, 2, wd: 0.0));
        var p = new Parameter<double>("W", new Tensor<double>([1.0], 1), Tensor<double>.Zeros(1), ParameterRole.Weight);
        Assert.Equal(0.0, Optimizer<double>.Create("adamw", [p], 0.01, 0.0).WeightDecay);
        Assert.Equal(0.01, Optimizer<double>.Create("adamw", [p], 0.01).WeightDecay);
        Assert.Equal(0.0, Optimizer<double>.Create(new OptimizerSettings { Kind = OptimizerKind.AdamW, WeightDecay = 0 },
            [p]).Settings.WeightDecay);
    }

    [Fact]
    public void AdaGrad_divides_by_the_root_of_summed_squares()
    {
        double h = 0, w = 1;
        for (int i = 0; i < 2; i++) { h += 0.25; w -= 0.1 * 0.5 / (Math.Sqrt(h) + 1e-7); }
        Assert.Equal(w, Steps("adagrad", 0.1, 2)[0], 15);
    }

    [Fact]
    public void RmsProp_uses_a_decaying_average()
    {
        double h = 0, w = 1;
        for (int i = 0; i < 2; i++) { h = 0.99 * h + 0.01 * 0.25; w -= 0.1 * 0.5 / (Math.Sqrt(h) + 1e-7); }
        Assert.Equal(w, Steps("rmsprop", 0.1, 2)[0], 12);
    }

    [Fact]
    public void Adam_and_AdamW_follow_their_formulas()
    {
        double m = 0, v = 0, w = 1, ww = 1;
        for (int t = 1; t <= 2; t++)
        {
            m += 0.1 * (0.5 - m);
            v += 0.001 * (0.25 - v);
            double lrT = 0.01 * Math.Sqrt(1 - Math.Pow(0.999, t)) / (1 - Math.Pow(0.9, t));
            w -= lrT * m / (Math.Sqrt(v) + 1e-7);
            ww -= 0.01 * 0.1 * ww;
            ww -= lrT * m / (Math.Sqrt(v) + 1e-7);
        }
        Assert.Equal(w, Steps("adam", 0.01, 2)[0], 12);
        Assert.Equal(ww, Steps("adamw", 0.01, 2, wd: 0.1)[0], 12);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(24)]
    [InlineData(33)]
    [InlineData(101)]
    public void Adam_updates_every_element_by_its_formula_at_any_length(int n)
    {
        // The vector loops (512-bit, then Vector<T>, then scalar) must give each element the formula's bits.
        Check<float>(n);
        Check<double>(n);

        static void Check<T>(int n) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var rng = new Random(n);
            T R() => T.CreateTruncating(rng.NextDouble() - 0.5);
            foreach (bool adamW in new[] { false, true })
            {
                var w0 = Enumerable.Range(0, n).Select(_ => R()).ToArray();
                var p = new Parameter<T>("W", new Tensor<T>((T[])w0.Clone(), n), Tensor<T>.Zeros(n), ParameterRole.Weight);
                var opt = new Adam<T>([p], lr: 0.01, weightDecay: adamW ? 0.1 : 0, decoupled: adamW);
                T[] w = (T[])w0.Clone(), m = new T[n], v = new T[n];
                T b1 = T.CreateTruncating(1 - 0.9), b2 = T.CreateTruncating(1 - 0.999), eps = T.CreateTruncating(1e-7);
                T decay = T.CreateTruncating(adamW ? 0.01 * 0.1 : 0);
                for (int t = 1; t <= 3; t++)
                {
                    var g = Enumerable.Range(0, n).Select(_ => R()).ToArray();
                    g.CopyTo(p.Grad.Span);
                    opt.Step();
                    // W ← W − lr·λ·W (AdamW); m ← m + (1 − β₁)(g − m); v ← v + (1 − β₂)(g² − v);
                    // W ← W − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m/(√v + 1e-7)
                    T lrT = T.CreateTruncating(0.01 * Math.Sqrt(1 - Math.Pow(0.999, t)) / (1 - Math.Pow(0.9, t)));
                    for (int i = 0; i < n; i++)
                    {
                        w[i] -= decay * w[i];
                        m[i] += b1 * (g[i] - m[i]);
                        v[i] += b2 * (g[i] * g[i] - v[i]);
                        w[i] -= lrT * m[i] / (T.Sqrt(v[i]) + eps);
                    }
                    for (int i = 0; i < n; i++)
                        Assert.True(w[i] == p.Value.Span[i], $"{typeof(T).Name} n={n} {(adamW ? "AdamW" : "Adam")} step {t} [{i}]: " +
                            $"{p.Value.Span[i]} against the formula's {w[i]}");
                }
            }
        }
    }

    [Fact]
    public void Weight_decay_adds_lambda_W_to_weight_gradients_only()
    {
        Assert.Equal(1 - 0.1 * (0.5 + 0.01 * 1), Steps("sgd", 0.1, 1, wd: 0.01)[0], 15);
        var b = new Parameter<double>("b", new Tensor<double>([1.0], 1), new Tensor<double>([0.5], 1), ParameterRole.Bias);
        Optimizer<double>.Create("sgd", [b], 0.1, 0.01).Step();
        Assert.Equal(1 - 0.05, b.Value.Span[0], 15);
    }

    [Fact]
    public void Bad_settings_are_rejected()
    {
        Assert.Throws<InvalidInputException>(() => Make("sgd", -1));
        Assert.Throws<InvalidInputException>(() => Make("lbfgs", 0.1));
    }
}

public class RegularizationTests
{
    [Fact]
    public void Dropout_and_batch_norm_pass_the_gradient_check()
    {
        var rng = new Random(4);
        var x = TestUtil.Random<double>(rng, 6, 5);
        var dropout = new Dropout<double>(0.4, new Rng(1));
        dropout.Forward(x);
        dropout.FreezeMask = true;
        Assert.All(GradientCheck.Layer(dropout, x), r => Assert.True(r.MaxRelativeError < 1e-7, $"{r.Parameter}: {r.MaxRelativeError}"));

        var bn = new BatchNormalization<double>(5);
        TestUtil.Random<double>(rng, 5).Span.CopyTo(bn.gamma.Span);
        TestUtil.Random<double>(rng, 5).Span.CopyTo(bn.beta.Span);
        var results = GradientCheck.Layer(bn, x);
        Assert.Equal(["x", "gamma", "beta"], results.Select(r => r.Parameter));
        Assert.All(results, r => Assert.True(r.MaxRelativeError < 1e-7, $"{r.Parameter}: {r.MaxRelativeError}"));

        bn.Training = false;
        Assert.All(GradientCheck.Layer(bn, x), r => Assert.True(r.MaxRelativeError < 1e-7,
            $"inference {r.Parameter}: {r.MaxRelativeError}"));
    }

    [Fact]
    public void Dropout_is_inverted_and_off_in_inference()
    {
        var x = Tensor<float>.Zeros(100, 100);
        x.Span.Fill(1f);
        var d = new Dropout<float>(0.5, new Rng(3));
        var y = d.Forward(x).Span.ToArray();
        Assert.All(y, v => Assert.True(v == 0f || v == 2f));
        Assert.InRange(y.Average(), 0.9, 1.1);
        d.Training = false;
        Assert.Same(x, d.Forward(x));
    }

    [Fact]
    public void Batch_norm_normalizes_in_training_and_uses_running_statistics_in_inference()
    {
        var rng = new Random(5);
        var x = TestUtil.Random<double>(rng, 50, 3);
        for (int i = 0; i < x.Length; i++) x.Span[i] = x.Span[i] * 3 + 7;
        var bn = new BatchNormalization<double>(3);
        var y = bn.Forward(x);
        for (int d = 0; d < 3; d++)
        {
            double mean = 0, sq = 0;
            for (int b = 0; b < 50; b++) { mean += y[b, d] / 50; sq += y[b, d] * y[b, d] / 50; }
            Assert.Equal(0, mean, 10);
            Assert.Equal(1, sq, 3);
        }
        for (int i = 0; i < 200; i++) bn.Forward(x);
        bn.Training = false;
        var yi = bn.Forward(x);
        Assert.Equal(y.Span[0], yi.Span[0], 3);
    }
}

public class DataTests
{
    private static byte[] IdxBytes(byte type, int[] shape, byte[] data)
    {
        var b = new List<byte> { 0, 0, type, (byte)shape.Length };
        foreach (int d in shape) b.AddRange(BitConverter.GetBytes(d).Reverse());
        b.AddRange(data);
        return b.ToArray();
    }

    private static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        return ms.ToArray();
    }

    [Fact]
    public void Idx_reads_raw_and_gzip_files()
    {
        var raw = IdxBytes(8, [2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
        foreach (var bytes in new[] { raw, Gzip(raw) })
        {
            var a = Idx.Parse(bytes, "t");
            Assert.Equal([2, 2, 3], a.Shape);
            Assert.Equal(255, a.Data[11]);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 8 }, "too short")]
    [InlineData(new byte[] { 1, 0, 8, 1, 0, 0, 0, 1, 5 }, "bad magic number")]
    [InlineData(new byte[] { 0, 0, 13, 1, 0, 0, 0, 1, 5 }, "element type 0x0D")]
    [InlineData(new byte[] { 0, 0, 8, 9, 0, 0, 0, 1, 5 }, "9 dimensions")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0, 0, 0, 1 }, "truncated header")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 3, 5, 6 }, "truncated: the header declares 3 elements")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 1, 5, 6 }, "unexpected bytes")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 0 }, "dimension 0 has size 0")]
    public void Idx_rejects_corrupted_files_clearly(byte[] bytes, string message) =>
        Assert.Contains(message, Assert.Throws<InvalidFileException>(() => Idx.Parse(bytes, "f")).Message);

    [Fact]
    public void Idx_rejects_truncated_gzip()
    {
        var gz = Gzip(IdxBytes(8, [1000], new byte[1000]));
        Assert.Throws<InvalidFileException>(() => Idx.Parse(gz[..(gz.Length / 2)], "f"));
    }

    [Fact]
    public void An_idx_folder_loads_as_train_and_test_with_pixels_in_0_1()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "train-images-idx3-ubyte.gz"), Gzip(IdxBytes(8, [3, 2, 2], [0, 255, 0, 0, 1, 1, 1, 1, 2, 2,
                2, 2])));
            File.WriteAllBytes(Path.Combine(dir, "train-labels-idx1-ubyte.gz"), Gzip(IdxBytes(8, [3], [0, 1, 2])));
            File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte"), IdxBytes(8, [1, 2, 2], [9, 9, 9, 9]));
            File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), IdxBytes(8, [1], [1]));
            var (train, test) = Datasets.LoadIdxFolder(dir, "tiny");
            Assert.Equal(3, train.Count);
            Assert.Equal(4, train.Dim);
            Assert.Equal(1f, train.Features[1]);
            Assert.Equal(1, test.Count);
            File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), IdxBytes(8, [2], [1, 1]));
            Assert.Contains("1 images but 2 labels", Assert.Throws<InvalidFileException>(() =>
                Datasets.LoadIdxFolder(dir, "tiny")).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Spiral_and_splits_are_reproducible()
    {
        var a = Datasets.Spiral(50, 3, seed: 7);
        var b = Datasets.Spiral(50, 3, seed: 7);
        Assert.Equal(a.Features, b.Features);
        var (t1, v1) = a.Split(0.2, 1);
        var (t2, v2) = b.Split(0.2, 1);
        Assert.Equal(30, v1.Count);
        Assert.Equal(v1.Labels, v2.Labels);
        Assert.Equal(t1.Features, t2.Features);
    }
}

public class ModelFileTests
{
    private static string Temp() => Path.Combine(Path.GetTempPath(), $"bp-{Guid.NewGuid():N}.safetensors");

    [Fact]
    public void Save_then_load_round_trips_every_tensor_and_the_description()
    {
        var spec = new MlpSpec { Sizes = [4, 6, 3], Activation = "tanh", BatchNorm = true, Dropout = 0.1 };
        var net = spec.Build<float>(new Rng(2));
        string path = Temp();
        try
        {
            ModelFile.Save(path, net);
            var loaded = ModelFile.Load<float>(path);
            Assert.Equal(spec.Describe(), ModelDescription.Of(loaded));
            var a = ModelFile.Tensors(net).ToList();
            var b = ModelFile.Tensors(loaded).ToList();
            Assert.Equal(a.Select(t => t.Name), b.Select(t => t.Name));
            for (int i = 0; i < a.Count; i++) Assert.Equal(a[i].Value.Span.ToArray(), b[i].Value.Span.ToArray());
            Assert.False(Directory.GetFiles(Path.GetTempPath(), $".{Path.GetFileName(path)}*.tmp").Any());   // no temporary left behind
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void The_file_is_standard_safetensors()
    {
        var spec = new MlpSpec { Sizes = [2, 3] };
        string path = Temp();
        try
        {
            ModelFile.Save(path, spec.Build<double>(new Rng(1)));
            var bytes = File.ReadAllBytes(path);
            ulong n = BitConverter.ToUInt64(bytes, 0);
            var header = System.Text.Json.JsonDocument.Parse(bytes.AsMemory(8, (int)n)).RootElement;
            var w = header.GetProperty("layers.0.W");
            Assert.Equal("F64", w.GetProperty("dtype").GetString());
            Assert.Equal([2, 3], w.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(0, (8 + (int)n) % 8);
            Assert.Equal(ModelFile.Format, header.GetProperty("__metadata__").GetProperty("format").GetString());
        }
        finally { File.Delete(path); }
    }

    public static TheoryData<string, string> Corruptions() => new()
    {
        { "truncate", "truncated" },
        { "short", "too short" },
        { "huge-header", "exceeds the limit" },
        { "bad-json", "not valid JSON" },
        { "dtype", "dtype I8" },
        { "offsets", "run past" },
        { "shape", "needs" },
        { "overlap", "overlap" },
        { "missing", "is missing" },
        { "wrong-shape", "but the model description needs" },
        { "nan", "NaN" },
        { "format", "not a Backprop model" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Damaged_files_fail_with_a_clear_error(string kind, string message)
    {
        var spec = new MlpSpec { Sizes = [2, 3] };
        var net = spec.Build<float>(new Rng(1));
        string path = Temp();
        try
        {
            ModelFile.Save(path, net);
            var bytes = File.ReadAllBytes(path);
            int n = (int)BitConverter.ToUInt64(bytes, 0);
            string header = System.Text.Encoding.UTF8.GetString(bytes, 8, n);
            byte[] With(string h)
            {
                while (h.Length < n) h += " ";
                var hb = System.Text.Encoding.UTF8.GetBytes(h);
                var lenb = BitConverter.GetBytes((ulong)hb.Length);
                return [.. lenb, .. hb, .. bytes[(8 + n)..]];
            }
            byte[] damaged = kind switch
            {
                "truncate" => bytes[..^5],
                "short" => bytes[..5],
                "huge-header" => [.. BitConverter.GetBytes(ulong.MaxValue / 2), .. bytes[8..]],
                "bad-json" => With(header.Replace("{", "[")),
                "dtype" => With(header.Replace("\"F32\"", "\"I8\"")),
                "offsets" => With(header.Replace("[0,24]", "[0,2400]")),
                "shape" => With(header.Replace("[2,3]", "[2,4]")),
                "overlap" => With(header.Replace("[24,36]", "[20,32]")),
                "missing" => With(header.Replace("layers.0.b", "layers.0.c")),
                "wrong-shape" => With(header.Replace("[2,3]", "[3,2]")),
                "nan" => [.. bytes[..(8 + n)], .. BitConverter.GetBytes(float.NaN), .. bytes[(8 + n + 4)..]],
                "format" => With(header.Replace(ModelFile.Format, "other")),
                _ => throw new ArgumentException(kind),
            };
            File.WriteAllBytes(path, damaged);
            var e = Assert.Throws<InvalidFileException>(() => ModelFile.Load<float>(path));
            Assert.Contains(message, e.Message);
        }
        finally { File.Delete(path); }
    }
}

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
