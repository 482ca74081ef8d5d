using System.Text.Json;
using Backprop.Data;

namespace Backprop.Tests;

/// <summary>`backprop bench`: the records and options (never the times themselves).</summary>
[Collection("Global kernel settings")]
public class BenchCliTests
{
    [Fact]
    public void Fully_connected_and_elementwise_records_have_the_documented_fields()
    {
        var (code, stdout, err) = TestUtil.Cli("", "bench", "--shapes", "2,2,3;5,7,3", "--threads", "1", "--dtype", "float32", "--quick",
            "--json");
        Assert.True(code == 0, err);
        var all = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToList();
        var records = all.Where(r => !r.TryGetProperty("layer", out _)).ToList();   // the convnet rows have their own test
        var fc = records.Where(r => r.GetProperty("op").GetString() == "fully_connected").ToList();
        Assert.Equal(2, fc.Count);
        Assert.Equal(5, fc[1].GetProperty("B").GetInt32());
        Assert.Equal(7, fc[1].GetProperty("N").GetInt32());
        foreach (var r in fc)
        {
            Assert.Equal("float32", r.GetProperty("dtype").GetString());
            Assert.Equal(1, r.GetProperty("threads").GetInt32());
            double min = r.GetProperty("min_s").GetDouble(), med = r.GetProperty("median_s").GetDouble(),
                max = r.GetProperty("max_s").GetDouble();
            Assert.True(0 < min && min <= med && med <= max, $"{min} {med} {max}");
            Assert.True(r.GetProperty("gflops").GetDouble() > 0);
            Assert.True(r.GetProperty("peak_gflops").GetDouble() > 0);
        }
        // Every record names the machine, as the text output's processor line does.
        Assert.All(all, r => Assert.Equal(Backprop.Kernels.Processor.Describe(), r.GetProperty("processor").GetString()));
        Assert.Contains("family", all[0].GetProperty("processor").GetString());
        var ops = records.Where(r => r.GetProperty("op").GetString() != "fully_connected").Select(r =>
            (r.GetProperty("op").GetString(), r.GetProperty("n").GetInt64())).ToList();
        Assert.Equal(9, ops.Count);
        Assert.Contains(("tanh", 10_000_000L), ops);
        Assert.All(records.Skip(2), r => Assert.True(r.GetProperty("gbps").GetDouble() > 0));
        Assert.All(records.Skip(2), r => Assert.False(r.TryGetProperty("peak_gflops", out _)));
    }

    [Fact]
    public void Convnet_rows_cover_every_convolution_and_pooling_layer_and_a_step_of_each_network()
    {
        var (code, stdout, err) = TestUtil.Cli("", "bench", "--ops", "convnet", "--threads", "1", "--dtype", "float32", "--quick",
            "--json");
        Assert.True(code == 0, err);
        var records = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToList();
        var ops = records.Select(r => r.GetProperty("op").GetString()).ToList();
        // SimpleConvNet: 1 convolution, 1 pooling; DeepConvNet: 6 and 3; resnet_small: the stem, two in each of six blocks
        // and two 1×1 shortcuts; a step of each.
        Assert.Equal(7 + 15, ops.Count(o => o == "convolution"));
        Assert.Equal(4, ops.Count(o => o == "max_pooling"));
        Assert.Equal(3, ops.Count(o => o == "network_step"));
        Assert.Contains(records, r => r.GetProperty("layer").GetString()!.StartsWith(
            "resnet_small[s2b1_short] 16×28×28→32×14×14 1×1 s2 p0", StringComparison.Ordinal));
        Assert.Contains(records, r => r.GetProperty("layer").GetString()!.StartsWith("deep_convnet[7] 32×14×14→32×16×16 3×3 s1 p2",
            StringComparison.Ordinal));
        foreach (var r in records)
        {
            string rate = r.GetProperty("op").GetString() switch
            {
                "convolution" => "gflops",
                "network_step" => "images_per_s",
                _ => "gbps",
            };
            Assert.True(r.GetProperty(rate).GetDouble() > 0, r.ToString());
            Assert.True(r.GetProperty("median_s").GetDouble() > 0);
        }
    }

    [Theory]
    [InlineData(new[] { "bench", "--shapes", "1,2" }, "--shapes takes B,N,M triples")]
    [InlineData(new[] { "bench", "--ops", "conv" }, "--ops must be one of")]
    [InlineData(new[] { "bench", "--threads", "0" }, "--threads must be a positive whole number")]
    [InlineData(new[] { "bench", "--ops", "training", "--data", "/nonexistent" }, "apt-get install dataset-fashion-mnist")]
    public void Bad_bench_options_give_a_clear_message(string[] args, string part)
    {
        var (code, stdout, stderr) = TestUtil.Cli("", args);
        Assert.True(code == 2, $"exit {code}: {stderr}");
        Assert.Equal("", stdout);
        Assert.Contains(part, stderr);
    }

    [SkippableFact]
    public void The_training_benchmark_reports_epoch_times_and_accuracy()
    {
        Skip.IfNot(File.Exists(Path.Combine(Datasets.FashionMnistDir, "train-images-idx3-ubyte.gz")),
            $"Fashion-MNIST is not installed in {Datasets.FashionMnistDir} (apt-get install dataset-fashion-mnist)");
        var (code, stdout, err) = TestUtil.Cli("", "bench", "--ops", "training", "--threads", "1", "--epochs", "2", "--images", "3000",
            "--json");
        Assert.True(code == 0, err);
        var records = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(["sgd", "adam"], records.Select(r => r.GetProperty("optimizer").GetString()));
        foreach (var r in records)
        {
            Assert.Equal("mlp_epoch", r.GetProperty("op").GetString());
            Assert.Equal(3000, r.GetProperty("images").GetInt32());
            Assert.True(r.GetProperty("median_s").GetDouble() > 0 && r.GetProperty("first_s").GetDouble() > 0);
            Assert.True(r.GetProperty("test_accuracy").GetDouble() > 0.6, stdout);   // 2 epochs of 3000 images
        }
    }
}
