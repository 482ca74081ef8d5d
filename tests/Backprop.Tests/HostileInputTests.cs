using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Backprop.Data;
using Backprop.IO;
using Backprop.Models;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.Tests;

/// <summary>
/// The classes of hostile input the issue lists, each with a representative: a clear message, exit code 2 (3 for a
/// diverging run), nothing on standard output, no stack trace, no hang.
/// </summary>
public class HostileInputTests
{
    /// <summary>Bad input kept its contract: one line on standard error naming <paramref name="part"/>, nothing on standard
    /// output, no stack trace, exit code <paramref name="code"/>.</summary>
    internal static void Refused((int Code, string Out, string Err) r, string part, int code = 2)
    {
        Assert.True(r.Code == code, $"exit {r.Code}, expected {code}: {r.Err}");
        Assert.Equal("", r.Out);
        Assert.Contains(part, r.Err);
        Assert.DoesNotContain("   at ", r.Err);   // no stack trace
        Assert.Single(r.Err.Trim().Split('\n'));
    }

    private static string Temp(string ext = ".safetensors") => Path.Combine(Path.GetTempPath(), $"bp-hostile-{Guid.NewGuid():N}{ext}");

    [Fact]
    public void Text_nested_a_hundred_thousand_levels_deep_is_an_error_not_a_stack_overflow()
    {
        string deep = "x:\n" + new string('[', 100_000) + "1" + new string(']', 100_000) + "\ndout:\n[1]\n";
        Refused(TestUtil.Cli(deep, "layer", "relu"), "nested deeper than 32 levels");
        string json = "{\"x\": " + new string('[', 100_000) + "1" + new string(']', 100_000) + "}";
        Refused(TestUtil.Cli(json, "layer", "relu"), "malformed JSON");
    }

    [Fact]
    public void A_hundred_thousand_names_fail_fast()
    {
        var text = new StringBuilder();
        for (int i = 0; i < 100_000; i++) text.Append("k").Append(i).Append(": 1\n");
        var json = new StringBuilder("{");
        for (int i = 0; i < 100_000; i++) json.Append(i == 0 ? "" : ",").Append("\"k").Append(i).Append("\": 1");
        json.Append('}');
        // The commands' own time: another test's command may hold the console first.
        Refused(TestUtil.Cli(text.ToString(), "layer", "relu"), "unknown key 'k0'");
        var took = TestUtil.LastCliTime;
        Refused(TestUtil.Cli(json.ToString(), "layer", "relu"), "unknown key 'k0'");
        took += TestUtil.LastCliTime;
        Assert.True(took.TotalSeconds < 10, $"took {took.TotalSeconds:0.0} s");
    }

    [Fact]
    public void A_byte_order_mark_is_accepted_on_standard_input_as_in_a_file()
    {
        var (code, stdout, err) = TestUtil.Cli("\uFEFFx:\n[[1, -2]]\ndout:\n[[1, 1]]\n", "layer", "relu");
        Assert.True(code == 0, err);
        Assert.StartsWith("y:", stdout);
        (code, _, err) = TestUtil.Cli("\uFEFF{\"x\": [[1, -2]], \"dout\": [[1, 1]]}", "layer", "relu");
        Assert.True(code == 0, err);
    }

    // A valid model file's bytes, and a way to rewrite its header.
    private static byte[] ModelBytes()
    {
        string path = Temp();
        try
        {
            new MlpSpec { Sizes = [2, 3] }.Build<float>(new Rng(1)).Save(path);
            return File.ReadAllBytes(path);
        }
        finally { File.Delete(path); }
    }

    private static byte[] WithHeader(byte[] bytes, Func<string, string> edit, int pad = 0)
    {
        int n = (int)BitConverter.ToUInt64(bytes, 0);
        string header = Encoding.UTF8.GetString(bytes, 8, n);
        var hb = Encoding.UTF8.GetBytes(edit(header) + new string(' ', pad));
        return [.. BitConverter.GetBytes((ulong)hb.Length), .. hb, .. bytes[(8 + n)..]];
    }

    public static TheoryData<string, string> DamagedModels() => new()
    {
        { "offsets-string", "invalid data_offsets" },
        { "name-twice", "given twice" },
        { "metadata-twice", "given twice" },
        { "header-short", "belong to no tensor" },
        { "trailing", "belong to no tensor" },
        { "hole", "belong to no tensor" },
        { "description-huge", "but the model description needs (2, 1048576)" },
        { "lone-surrogate", "not a valid safetensors file" },
    };

    [Theory]
    [MemberData(nameof(DamagedModels))]
    public void Damaged_model_files_are_refused_with_the_file_named(string damage, string part)
    {
        var bytes = ModelBytes();
        byte[] bad = damage switch
        {
            "offsets-string" => WithHeader(bytes, h => h.Replace("\"data_offsets\":[0,24]", "\"data_offsets\":[\"0\",24]")),
            "name-twice" => WithHeader(bytes, h =>
                h.TrimEnd()[..^1] + ",\"layers.0.b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}}"),
            "metadata-twice" => WithHeader(bytes, h => h.Replace("\"__metadata__\":{", "\"__metadata__\":{\"format\":\"x\",")),
            "header-short" => [.. BitConverter.GetBytes(BitConverter.ToUInt64(bytes, 0) - 4), .. bytes[8..]],
            "trailing" => [.. bytes, 0, 0, 0, 0],
            "hole" => WithHeader(bytes, h => h.Replace("[0,24]", "[4,28]").Replace("[24,36]", "[28,40]")) is var b2 ? [.. b2, 0, 0, 0,
                0] : [],
            "description-huge" => WithHeader(bytes, h => h.Replace("\\u0022outputs\\u0022:3", "\\u0022outputs\\u0022:1048576")
                .Replace("\"inputs\\u0022:2", "\"inputs\\u0022:2")),
            "lone-surrogate" => WithHeader(bytes, h => h.Replace("\"layers.0.W\"", "\"layers.0.\\uD800\"")),
            _ => throw new ArgumentException(damage),
        };
        string path = Temp();
        try
        {
            File.WriteAllBytes(path, bad);
            var e = Assert.ThrowsAny<BackpropException>(() => ModelFile.Load<float>(path));
            Assert.Contains(part, e.Message);
            Assert.StartsWith(path, e.Message);
            Refused(TestUtil.Cli("x: [[0.1, 0.2]]", "predict", "--model", path), part);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Checkpoint_metadata_of_the_wrong_shape_is_refused()
    {
        string good = Temp();
        try
        {
            var net = new MlpSpec { Sizes = [2, 4, 3] }.Build<float>(new Rng(1));
            var t = new Trainer<float>(net, new OptimizerSettings(), new TrainerOptions { Batch = 30 }) { Data = new DataSource() };
            t.RunEpoch(Datasets.Spiral(10, 3, 0), null);
            t.SaveCheckpoint(good);
            var bytes = File.ReadAllBytes(good);
            foreach (var (edit, part) in new (Func<string, string>, string)[]
            {
                (h => h.Replace("\"training\":\"{", "\"training\":\"nonsense{"), "training state is damaged"),
                (h => h.Replace("\\u0022seed\\u0022:0", "\\u0022seed\\u0022:-1"), "training state is damaged"),
                (h => h.Replace("\"history\":\"[{", "\"history\":\"[null,{"), "training state is damaged"),
                (h => h.Replace("\"optimizer_steps\":\"", "\"optimizer_steps\":\"x"), "training state is damaged"),
                (h => h.Replace("\\u0022dataset\\u0022:\\u0022spiral\\u0022", "\\u0022dataset\\u0022:7"), "training state is damaged"),
            })
            {
                string path = Temp();
                try
                {
                    File.WriteAllBytes(path, WithHeader(bytes, edit));
                    Refused(TestUtil.Cli("", "train", "--resume", path, "--epochs", "3"), part);
                }
                finally { File.Delete(path); }
            }
        }
        finally { File.Delete(good); }
    }

    [Fact]
    public void Special_files_are_refused_instead_of_read_until_memory_runs_out()
    {
        if (!File.Exists("/dev/zero")) return;
        Refused(TestUtil.Cli("", "layer", "relu", "/dev/zero"), "not a regular file");
        var took = TestUtil.LastCliTime;   // the commands' own time, not the wait for another test's command
        Refused(TestUtil.Cli("", "eval", "--model", "/dev/zero"), "not a regular file");
        took += TestUtil.LastCliTime;
        var sw = Stopwatch.StartNew();
        Assert.Throws<InvalidFileException>(() => Idx.Read("/dev/zero"));
        Assert.True((took + sw.Elapsed).TotalSeconds < 5);
    }

    [Fact]
    public void A_multi_member_gzip_bomb_is_stopped_as_it_expands()
    {
        // Three gzip members of 1 MB of zeros each (GZipStream reads every member) against a 2 MB limit.
        var ms = new MemoryStream();
        for (int m = 0; m < 3; m++)
        {
            var member = new MemoryStream();
            using (var gz = new GZipStream(member, CompressionLevel.SmallestSize, leaveOpen: true)) gz.Write(new byte[1 << 20]);
            ms.Write(member.ToArray());
        }
        var e = Assert.Throws<InvalidFileException>(() => Idx.Parse(ms.ToArray(), "bomb.gz", 2 << 20));
        Assert.Contains("bomb.gz: decompresses to more than", e.Message);
    }

    [Fact]
    public void Training_refuses_what_cannot_train_and_stops_a_diverging_run_with_exit_code_3()
    {
        Refused(TestUtil.Cli("", "train", "--validation", "0.9995", "--epochs", "1"), "no samples to train on");
        string path = Temp();
        try
        {
            Refused(TestUtil.Cli("", "train", "--lr", "1e30", "--init", "normal", "--init-std", "1e18", "--epochs", "3", "--json", "--out",
                path),
                "training diverged in epoch 1, batch 1", code: 3);
            Assert.False(File.Exists(path));   // nothing half-written
        }
        finally { File.Delete(path); }
        var (code, stdout, err) = TestUtil.Cli("", "train", "--batch", "2147483647", "--epochs", "1", "--json");
        Assert.True(code == 0, err);
        Assert.Contains("note: the batch size 2147483647 is above the 720 training samples", err);
        var r = System.Text.Json.JsonDocument.Parse(stdout.Trim()).RootElement;
        Assert.True(r.GetProperty("train_loss").GetDouble() > 0.5, "one batch of all the data trains, with a real loss");
    }

    [Fact]
    public void A_diverging_run_leaves_the_last_good_checkpoint_intact()
    {
        var (train, _) = Datasets.Spiral(30, 3, 3).Split(0.2, 4);
        var net = new MlpSpec { Sizes = [2, 8, 3] }.Build<float>(new Rng(0));
        var t = new Trainer<float>(net, new OptimizerSettings { LearningRate = 0.01 }, new TrainerOptions { Batch = 10 });
        t.RunEpoch(train, null);
        string path = Temp();
        try
        {
            t.SaveCheckpoint(path);
            var saved = File.ReadAllBytes(path);
            t.Optimizer.LearningRate = 1e38;
            var e = Assert.Throws<TrainingDivergedException>(() => { for (int i = 0; i < 5; i++) t.RunEpoch(train, null); });
            Assert.True(e.Epoch >= 2 && e.Batch >= 1);
            Assert.Equal(saved, File.ReadAllBytes(path));
            Assert.Equal(1, Trainer<float>.LoadCheckpoint(path).Epoch);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Sizes_nobody_can_afford_are_refused_before_anything_is_allocated()
    {
        long before = GC.GetTotalAllocatedBytes();
        Refused(TestUtil.Cli("", "train", "--layers", "784,1048576,1024,10", "--dataset", "spiral"), "GB");
        Assert.True(GC.GetTotalAllocatedBytes() - before < 200_000_000, "allocated before refusing");
        Assert.Throws<InvalidInputException>(() => Kinds.Create<float>("fc", new Dictionary<string, object>
        {
            ["inputs"] = 1 << 20,
            ["outputs"] = 1 << 20
        }));
    }

    [Fact]
    public void The_next_save_removes_temporary_files_of_killed_runs_and_keeps_live_ones()
    {
        string dir = Directory.CreateTempSubdirectory("bp-stale-").FullName;
        try
        {
            string target = Path.Combine(dir, "m.safetensors");
            // A process id that cannot be running (above the kernel's pid limit), one that is (this process), another name.
            string dead = Path.Combine(dir, $".m.safetensors.{int.MaxValue - 7}.{Guid.NewGuid():N}.tmp");
            string live = Path.Combine(dir, $".m.safetensors.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            string other = Path.Combine(dir, $".other.safetensors.{int.MaxValue - 7}.{Guid.NewGuid():N}.tmp");
            string mine = Path.Combine(dir, ".m.safetensors.notes.tmp");
            foreach (var f in new[] { dead, live, other, mine }) File.WriteAllText(f, "x");
            new MlpSpec { Sizes = [2, 3] }.Build<float>(new Rng(1)).Save(target);
            Assert.False(File.Exists(dead));
            Assert.True(File.Exists(live) && File.Exists(other) && File.Exists(mine));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Eval_never_prints_nan_as_a_result()
    {
        string path = Temp();
        try
        {
            var net = new MlpSpec { Sizes = [2, 3] }.Build<float>(new Rng(1));
            net.Parameters[0].Value.Span.Fill(3e38f);
            net.Save(path);
            Refused(TestUtil.Cli("", "eval", "--model", path), "overflow");
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Api_misuse_gets_argument_exceptions_not_null_references()
    {
        Assert.Throws<ArgumentNullException>(() => new Tensor<float>(null!, 1));
        Assert.Throws<ArgumentNullException>(() => new Layers.FullyConnected<float>(null!, Tensor<float>.Zeros(2)));
        Assert.Throws<ArgumentNullException>(() => new Networks.Sequential<float>(null!, new Losses.MeanSquaredError<float>()));
        Assert.Throws<ArgumentNullException>(() => new Dataset(null!, [1f], [0], 1, 1));
        Assert.Throws<ArgumentNullException>(() => new Dataset("d", null!, [0], 1, 1));
        Assert.Throws<ArgumentNullException>(() => new Trainer<float>(null!, new OptimizerSettings()));
        Assert.Throws<ArgumentNullException>(() => Optimizer<float>.Create((OptimizerSettings)null!, []));
        Assert.Throws<ArgumentNullException>(() => Kinds.Register((LayerKind)null!));
        Assert.Throws<ArgumentNullException>(() => Kinds.Register((LossKind)null!));
        Assert.Throws<ArgumentNullException>(() => ModelFile.Save<float>(null!, new MlpSpec { Sizes = [2, 2] }.Build<float>()));
        Assert.Throws<ArgumentNullException>(() => new MlpSpec { Sizes = [2, 2] }.Build<float>().Forward(null!));
        var t = Tensor<float>.Zeros(2, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Dim(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Dim(-3));
        Assert.Throws<ArgumentOutOfRangeException>(() => t[2, 0]);
    }

    private sealed class Gate<T> : Layers.Layer<T> where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        public readonly ManualResetEventSlim Inside = new(), Release = new();
        public override string Kind => "gate";
        public override Tensor<T> Forward(Tensor<T> x)
        {
            Inside.Set();
            Release.Wait();
            return x;
        }
        public override Tensor<T> Backward(Tensor<T> dout) => dout;
    }

    [Fact]
    public void A_network_used_from_two_threads_at_once_says_so()
    {
        var gate = new Gate<float>();
        var net = new Networks.Sequential<float>([gate], new Losses.MeanSquaredError<float>());
        var x = Tensor<float>.Zeros(1, 2);
        var first = new Thread(() => net.Forward(x));
        first.Start();
        gate.Inside.Wait();
        var e = Assert.Throws<InvalidOperationException>(() => net.Forward(x));
        Assert.Contains("in use by another thread", e.Message);
        gate.Release.Set();
        first.Join();
        net.Forward(x);   // usable again once nobody else is inside
    }

    [Fact]
    public void The_text_reader_needs_a_few_times_its_input_in_memory_not_sixty()
    {
        var sb = new StringBuilder("x:\n[");
        var rng = new Random(3);
        for (int r = 0; r < 2000; r++)
        {
            sb.Append(r == 0 ? "[" : ",\n [");
            for (int c = 0; c < 200; c++) sb.Append(c == 0 ? "" : ", ").Append((rng.NextDouble() * 2 - 1).ToString("0.######",
                System.Globalization.CultureInfo.InvariantCulture));
            sb.Append(']');
        }
        string text = sb.Append("]\n").ToString();
        long inputBytes = Encoding.UTF8.GetByteCount(text);
        TextInput.Parse("x: [1]");   // compiled
        long before = GC.GetAllocatedBytesForCurrentThread();
        var parsed = TextInput.Parse(text);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal([2000, 200], parsed[0].Shape!);
        Assert.True(allocated < 8 * inputBytes, $"{allocated / 1e6:0.0} MB allocated for {inputBytes / 1e6:0.0} MB of text");
    }
}
