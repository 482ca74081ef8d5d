using System.Buffers.Binary;

namespace Backprop.Tests;

/// <summary>Checkpoints that carry what they need: --resume and eval --model with no other option.</summary>
public class ResumeCliTests
{
    // An MNIST-style folder of n random 4×4 images in 3 classes (raw IDX files, big-endian sizes).
    internal static string IdxFolder(int n, int seed, int side = 4)
    {
        string dir = Directory.CreateTempSubdirectory("bp-idx-").FullName;
        var rng = new Random(seed);
        void Write(string name, int[] shape, Func<int, byte> value)
        {
            int count = shape.Aggregate(1, (a, b) => a * b);
            var bytes = new byte[4 + 4 * shape.Length + count];
            bytes[2] = 0x08;
            bytes[3] = (byte)shape.Length;
            for (int i = 0; i < shape.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), shape[i]);
            for (int i = 0; i < count; i++) bytes[4 + 4 * shape.Length + i] = value(i);
            File.WriteAllBytes(Path.Combine(dir, name), bytes);
        }
        foreach (var (stem, count) in new[] { ("train", n), ("t10k", n / 2) })
        {
            var labels = Enumerable.Range(0, count).Select(_ => (byte)rng.Next(3)).ToArray();
            Write($"{stem}-labels-idx1-ubyte", [count], i => labels[i]);
            Write($"{stem}-images-idx3-ubyte", [count, side, side], i => (byte)(labels[i / (side * side)] * 60 + rng.Next(60)));
        }
        return dir;
    }

    [Fact]
    public void A_checkpoint_resumes_and_evaluates_with_no_other_option()
    {
        string data = IdxFolder(120, 1);
        string dir = Directory.CreateTempSubdirectory("bp-resume-").FullName;
        try
        {
            string model = Path.Combine(dir, "m.safetensors");
            var (c1, _, e1) = TestUtil.Cli("", "train", "--data", data, "--layers", "16,8,10", "--epochs", "2", "--batch", "20",
                "--validation", "0.25", "--seed", "5", "--out", model, "--json");
            Assert.True(c1 == 0, e1);

            var (c2, more, e2) = TestUtil.Cli("", "train", "--resume", model, "--epochs", "3", "--json");
            Assert.True(c2 == 0, e2);
            var line = System.Text.Json.JsonDocument.Parse(more.Trim()).RootElement;
            Assert.Equal(3, line.GetProperty("epoch").GetInt32());
            Assert.True(line.TryGetProperty("val_loss", out _));   // the recorded validation split, not the spiral's defaults

            var (c3, text, e3) = TestUtil.Cli("", "train", "--resume", model);
            Assert.True(c3 == 0, e3);
            Assert.Contains("|   7/7 |", text);   // the data set's default of five more epochs

            var (c4, eval, e4) = TestUtil.Cli("", "eval", "--model", model);
            Assert.True(c4 == 0, e4);
            Assert.Contains("60 samples", eval);   // the test half of the recorded folder
        }
        finally
        {
            Directory.Delete(dir, true);
            Directory.Delete(data, true);
        }
    }

    [Theory]
    [InlineData("--lr", "0.5", "--lr 0.5 contradicts the checkpoint", "which has 0.01")]
    [InlineData("--layers", "2,32,3", "--layers 2,32,3 contradicts", "which has 2,8,3")]
    [InlineData("--optimizer", "sgd", "--optimizer sgd contradicts", "which has adam")]
    [InlineData("--batch", "7", "--batch 7 contradicts", "which has 30")]
    [InlineData("--dataset", "fashion-mnist", "--dataset fashion-mnist contradicts", "which has spiral")]
    [InlineData("--dtype", "float64", "--dtype float64 contradicts", "which has float32")]
    [InlineData("--init", "xavier", "--init says how a new model's weights are drawn", "leave it out")]
    public void An_option_that_contradicts_the_checkpoint_names_both_values(string option, string value, string part1, string part2)
    {
        string dir = Directory.CreateTempSubdirectory("bp-resume-").FullName;
        try
        {
            string model = Path.Combine(dir, "m.safetensors");
            var (c1, _, e1) = TestUtil.Cli("", "train", "--layers", "2,8,3", "--epochs", "1", "--out", model, "--json");
            Assert.True(c1 == 0, e1);
            var (c2, stdout, e2) = TestUtil.Cli("", "train", "--resume", model, "--epochs", "2", option, value);
            Assert.Equal(2, c2);
            Assert.Equal("", stdout);
            Assert.Contains(part1, e2);
            Assert.Contains(part2, e2);
            // Repeating a saved value is fine.
            var (c3, _, e3) = TestUtil.Cli("", "train", "--resume", model, "--epochs", "2", "--lr", "0.01", "--layers", "2,8,3", "--json");
            Assert.True(c3 == 0, e3);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Weight_decay_zero_on_the_command_line_is_zero_for_adamw()
    {
        string dir = Directory.CreateTempSubdirectory("bp-wd-").FullName;
        try
        {
            string a = Path.Combine(dir, "a.safetensors"), b = Path.Combine(dir, "b.safetensors");
            Assert.Equal(0, TestUtil.Cli("", "train", "--optimizer", "adamw", "--weight-decay", "0", "--epochs", "1", "--out", a,
                "--json").Code);
            Assert.Equal(0, TestUtil.Cli("", "train", "--optimizer", "adam", "--epochs", "1", "--out", b, "--json").Code);
            var wa = Backprop.Models.ModelFile.Load<float>(a).Parameters[0].Value.Span.ToArray();
            var wb = Backprop.Models.ModelFile.Load<float>(b).Parameters[0].Value.Span.ToArray();
            Assert.Equal(wb, wa);   // AdamW without decay is Adam
        }
        finally { Directory.Delete(dir, true); }
    }
}
