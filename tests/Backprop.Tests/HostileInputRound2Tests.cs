using System.Buffers.Binary;
using Backprop.Data;
using Backprop.IO;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.Tests;

/// <summary>
/// The second hostile battery's findings, each class with its representatives: invalid files that were accepted, errors
/// after output had started, numbers JSON cannot hold, values of the wrong type, labels checked late, nulls.
/// </summary>
public class HostileInputRound2Tests
{
    private static void Refused((int Code, string Out, string Err) r, string part, int code = 2) =>
        HostileInputTests.Refused(r, part, code);

    private static string TempDir()
    {
        string d = Path.Combine(Path.GetTempPath(), $"bp-hostile2-{Guid.NewGuid():N}");
        Directory.CreateDirectory(d);
        return d;
    }

    // ---- 3. Accepted though invalid: ONNX ----

    private static OnnxModel Exported()
    {
        var net = new Sequential<float>([new Convolution<float>(2, 1, 3, 3, rng: new Rng(1)), new BatchNormalization2d<float>(2),
            new Relu<float>(), new FullyConnected<float>(2 * 4 * 4, 3, rng: new Rng(2))], new SoftmaxCrossEntropy<float>());
        return OnnxFile.ToModel(net, new OnnxExportOptions());
    }

    private static InvalidFileException ImportFails(OnnxModel m)
    {
        string path = Path.Combine(Path.GetTempPath(), $"bp-hostile2-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllBytes(path, m.ToBytes());
            return Assert.Throws<InvalidFileException>(() => OnnxFile.Import<float>(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void The_exported_model_itself_imports()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bp-hostile2-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllBytes(path, Exported().ToBytes());
            Assert.Equal(4, OnnxFile.Import<float>(path).Layers.Count);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_batch_normalization_in_training_mode_is_refused()
    {
        var m = Exported();
        var bn = m.Nodes.Single(n => n.OpType == "BatchNormalization");
        bn.Attributes.Add(OnnxAttribute.Int("training_mode", 1));
        var e = ImportFails(m);
        Assert.Contains(bn.Describe(), e.Message);
        Assert.Contains("training_mode = 1", e.Message);
    }

    [Fact]
    public void Two_initializers_of_one_name_are_refused()
    {
        var m = Exported();
        var w = m.Initializers[0];
        m.Initializers.Add(new OnnxTensor
        {
            Name = w.Name,
            DataType = w.DataType,
            Dims = w.Dims,
            Values = w.Values.Select(v => -v).ToArray(),
        });
        var e = ImportFails(m);
        Assert.Contains($"the initializer '{w.Name}' is given twice", e.Message);
    }

    [Fact]
    public void A_repeated_attribute_is_refused()
    {
        var m = Exported();
        var conv = m.Nodes.First(n => n.OpType == "Conv");
        conv.Attributes.Add(OnnxAttribute.Int("group", 1));
        conv.Attributes.Add(OnnxAttribute.Int("group", 2));
        var e = ImportFails(m);
        Assert.Contains(conv.Describe(), e.Message);
        Assert.Contains("gives the attribute 'group' twice", e.Message);
    }

    [Theory]
    [InlineData(2L, 1L << 40, "a size beyond any tensor")]
    [InlineData(0L, 31L, "reshapes to 31 features per sample")]
    public void A_reshape_to_fixed_sizes_that_are_no_flatten_is_refused(long batch, long features, string why)
    {
        var m = Exported();
        var flatten = m.Nodes.Single(n => n.OpType == "Flatten");
        var reshape = new OnnxNode { OpType = "Reshape", Name = "fixed" };
        reshape.Inputs.AddRange([flatten.Inputs[0], "fixed_shape"]);
        reshape.Outputs.AddRange(flatten.Outputs);
        m.Nodes[m.Nodes.IndexOf(flatten)] = reshape;
        m.Initializers.Add(new OnnxTensor { Name = "fixed_shape", DataType = OnnxTensor.Int64, Dims = [2], Integers = [batch, features] });
        var e = ImportFails(m);
        Assert.Contains("node 'fixed' (Reshape)", e.Message);
        Assert.Contains(why, e.Message);
    }

    // ---- 3 and 5. Model descriptions: a key twice, a value of the wrong type ----

    private const string Description = """
        {"version": 2, "dtype": "float64", "layers": [{"kind": "fully_connected", "inputs": 2, "outputs": 3}],
         "loss": {"kind": "softmax_cross_entropy"}}
        """;

    [Theory]
    [InlineData("\"dtype\": \"float64\"", "\"dtype\": \"float64\", \"dtype\": \"float32\"", "'dtype' is given twice")]
    [InlineData("\"outputs\": 3", "\"outputs\": 3, \"outputs\": 4", "'layers[0].outputs' is given twice")]
    [InlineData("{\"kind\": \"softmax_cross_entropy\"}", "{\"kind\": \"softmax_cross_entropy\", \"kind\": \"mse\"}",
        "'loss.kind' is given twice")]
    [InlineData("\"version\": 2", "\"version\": \"2\"", "'version' is missing or not an integer")]
    [InlineData("\"outputs\": 3", "\"outputs\": 1e999", "outputs must be a number")]
    public void A_description_with_a_key_twice_or_a_value_of_the_wrong_type_is_bad_input(string from, string to, string why)
    {
        Assert.Single(ModelDescription.FromJson(Description, "d.json").Layers);   // the description itself is valid
        var e = Assert.Throws<InvalidFileException>(() => ModelDescription.FromJson(Description.Replace(from, to), "d.json"));
        Assert.Contains(why, e.Message);

        string dir = TempDir();
        try
        {
            string file = Path.Combine(dir, "d.json");
            File.WriteAllText(file, Description.Replace(from, to));
            Refused(TestUtil.Cli("", "train", "--model", file, "--epochs", "1"), why);
        }
        finally { Directory.Delete(dir, true); }
    }

    // ---- 4. Errors after output had started ----

    /// <summary>An MNIST-style folder of <paramref name="n"/> images of side × side pixels, the last test label given.</summary>
    private static string IdxFolder(int side, int n = 20, int lastTestLabel = 9)
    {
        string dir = TempDir();
        void Write(string name, byte[] header, byte[] data) => File.WriteAllBytes(Path.Combine(dir, name), [.. header, .. data]);
        byte[] Header(int magic, params int[] dims)
        {
            var h = new byte[4 + 4 * dims.Length];
            BinaryPrimitives.WriteInt32BigEndian(h, magic);
            for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(h.AsSpan(4 + 4 * i), dims[i]);
            return h;
        }
        var rng = new Random(5);
        foreach (string set in (string[])["train", "t10k"])
        {
            var pixels = new byte[n * side * side];
            rng.NextBytes(pixels);
            var labels = Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
            if (set == "t10k") labels[^1] = (byte)lastTestLabel;
            Write($"{set}-images-idx3-ubyte", Header(0x803, n, side, side), pixels);
            Write($"{set}-labels-idx1-ubyte", Header(0x801, n), labels);
        }
        return dir;
    }

    [Fact]
    public void A_network_that_cannot_take_the_data_fails_before_any_output()
    {
        string dir = IdxFolder(12);
        try
        {
            string model = Path.Combine(dir, "big-kernel.json");
            File.WriteAllText(model, """
                {"version": 2, "dtype": "float32", "layers": [{"kind": "convolution", "filters": 2, "channels": 1, "kernel_h": 13,
                 "kernel_w": 13}, {"kind": "fully_connected", "inputs": 2, "outputs": 10}], "loss": {"kind": "softmax_cross_entropy"}}
                """);
            string output = Path.Combine(dir, "out.safetensors");
            Refused(TestUtil.Cli("", "train", "--data", dir, "--model", model, "--epochs", "1", "--out", output),
                "larger than the padded input");
            Assert.False(File.Exists(output));
            Assert.Empty(Directory.EnumerateFiles(dir, "*.probe"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_test_label_beyond_the_classes_is_refused_when_the_files_are_read()
    {
        string dir = IdxFolder(4, lastTestLabel: 10);
        try
        {
            Refused(TestUtil.Cli("", "train", "--dataset", "mnist", "--data", dir, "--layers", "16,10", "--epochs", "1"),
                "label 10 is outside the 10 classes");
            Refused(TestUtil.Cli("", "train", "--data", dir, "--layers", "16,10", "--epochs", "1"),
                "label 10 is outside the training data's classes 0..9");
        }
        finally { Directory.Delete(dir, true); }
    }

    // ---- 4 and 5. A loss that is not finite anywhere is divergence: exit 3, the last checkpoint intact ----

    /// <summary>Training started (its header is out) and then diverged: exit 3, one line on standard error, no NaN printed.</summary>
    private static void Diverged((int Code, string Out, string Err) r, string where)
    {
        Assert.True(r.Code == 3, $"exit {r.Code}: {r.Out}{r.Err}");
        Assert.Contains(where, r.Err);
        Assert.Single(r.Err.Trim().Split('\n'), l => l.StartsWith("backprop: error: "));
        Assert.DoesNotContain("   at ", r.Err);
        Assert.DoesNotContain("NaN", r.Out);
        Assert.DoesNotContain("∞", r.Out);
    }

    [Fact]
    public void A_learning_rate_that_blows_up_is_divergence_with_or_without_out()
    {
        string[] run = ["train", "--optimizer", "sgd", "--lr", "1e30", "--batch", "1000", "--epochs", "1"];
        Diverged(TestUtil.Cli("", run), "training diverged in epoch 1");
        string dir = TempDir();
        try
        {
            string output = Path.Combine(dir, "m.safetensors");
            Diverged(TestUtil.Cli("", [.. run, "--out", output]), "training diverged in epoch 1");
            Assert.False(File.Exists(output));

            // A good checkpoint first; then a run that diverges, writing to the same file, leaves it as it was.
            var (code, _, err) = TestUtil.Cli("", "train", "--epochs", "1", "--out", output);
            Assert.True(code == 0, err);
            byte[] before = File.ReadAllBytes(output);
            Diverged(TestUtil.Cli("", [.. run, "--out", output]), "training diverged in epoch 1");
            Assert.Equal(before, File.ReadAllBytes(output));
            Assert.Single(Directory.EnumerateFiles(dir));   // no probe or temporary file left beside it
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void An_infinite_test_loss_is_divergence_and_the_epoch_is_not_kept()
    {
        var train = Datasets.Spiral(20, 3, seed: 1);
        var far = Datasets.Spiral(5, 3, seed: 2);
        var features = far.Features.Select(v => v * 3e38f).ToArray();   // logits beyond float32's range
        var test = new Dataset("far", features, far.Labels, far.Dim, far.Classes);
        var net = new Sequential<float>([new FullyConnected<float>(2, 8, rng: new Rng(1)), new Relu<float>(),
            new FullyConnected<float>(8, 3, rng: new Rng(2))], new SoftmaxCrossEntropy<float>());
        var trainer = new Trainer<float>(net, new OptimizerSettings { Kind = OptimizerKind.Sgd, LearningRate = 0.1 },
            new TrainerOptions { Batch = 10 });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.RunEpoch(train, null, test));
        Assert.Contains("the test loss is", e.Message);
        Assert.Empty(trainer.History);
    }

    // ---- 5. Nulls: ArgumentNullException, as everywhere else ----

    [Fact]
    public void Null_arguments_are_argument_null_exceptions()
    {
        Assert.Throws<ArgumentNullException>(() => new Sequential<double>([null!], new SoftmaxCrossEntropy<double>()));
        Assert.Throws<ArgumentNullException>(() => Tensor<double>.Zeros(2, 3).Reshape(null!));
        Assert.Throws<ArgumentNullException>(() => SafeTensors.Parse(null!, "x"));
    }
}
