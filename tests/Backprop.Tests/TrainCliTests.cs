namespace Backprop.Tests;

public class TrainCliTests
{
    [Theory]
    [InlineData(new[] { "train", "--dataset", "mnist" }, "MNIST needs --data DIR")]
    [InlineData(new[] { "train", "--dataset", "fashion-mnist", "--data", "/nonexistent" }, "apt-get install dataset-fashion-mnist")]
    [InlineData(new[] { "train", "--dataset", "cifar" }, "--dataset must be one of spiral, fashion-mnist, mnist")]
    [InlineData(new[] { "train", "--lr", "-1" }, "--lr must be a positive number")]
    [InlineData(new[] { "train", "--lr", "abc" }, "--lr must be a number")]
    [InlineData(new[] { "train", "--optimizer", "lbfgs" }, "--optimizer must be one of")]
    [InlineData(new[] { "train", "--activation", "relu6" }, "--activation must be one of relu, sigmoid")]
    [InlineData(new[] { "train", "--layers", "2,x,3" }, "--layers takes positive sizes")]
    [InlineData(new[] { "train", "--layers", "5,8,3" }, "--layers starts with 5, but spiral has 2 features")]
    [InlineData(new[] { "train", "--dropout", "1.5" }, "--dropout must be in [0, 1)")]
    [InlineData(new[] { "train", "--batch", "0" }, "--batch must be a whole number of at least 1")]
    [InlineData(new[] { "train", "--init", "glorot" }, "--init must be one of he, xavier, normal")]
    [InlineData(new[] { "train", "--epochs", "2", "--out", "/nonexistent/dir/m.safetensors" }, "does not exist")]
    [InlineData(new[] { "train", "--resume", "/nonexistent.safetensors" }, "no such file")]
    [InlineData(new[] { "train", "--epochs", "2", "--out", "/tmp" }, "--out /tmp: that is a folder; give a file name in it")]
    [InlineData(new[] { "train", "--epochs", "2", "--plot", "/tmp" }, "--plot /tmp: that is a folder")]
    [InlineData(new[] { "demo", "--plot", "/tmp" }, "--plot /tmp: that is a folder")]
    [InlineData(new[] { "demo", "--plot", "/nonexistent/dir/c.png" }, "does not exist")]
    [InlineData(new[] { "train", "--validation", "1" }, "--validation must be at least 0 and below 1")]
    [InlineData(new[] { "export", "--model", "/nonexistent.safetensors" }, "--onnx FILE is required")]
    [InlineData(new[] { "export", "--model", "/nonexistent.safetensors", "--onnx", "/tmp/x.onnx" }, "no such file")]
    [InlineData(new[] { "export", "--model", "m", "--onnx", "/tmp/x.onnx", "--opset", "99" }, "--opset must be")]
    [InlineData(new[] { "import", "--onnx", "/etc/passwd", "--out", "/tmp/x.safetensors" }, "not a valid ONNX file")]
    [InlineData(new[] { "import", "--onnx", "/nonexistent.onnx", "--out", "/tmp/x.safetensors" }, "no such file")]
    [InlineData(new[] { "import", "--onnx", "/nonexistent.onnx" }, "--out FILE is required")]
    [InlineData(new[] { "eval" }, "--model FILE is required")]
    [InlineData(new[] { "eval", "--model", "/nonexistent.safetensors" }, "no such file")]
    public void Bad_training_options_give_a_clear_message_and_exit_code_2(string[] args, string part)
    {
        var (code, stdout, stderr) = TestUtil.Cli("", args);
        Assert.True(code == 2, $"exit {code}: {stderr}");
        Assert.Equal("", stdout);
        Assert.Contains(part, stderr);
    }

    [Fact]
    public void Train_json_eval_and_predict_work_together()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        try
        {
            string model = Path.Combine(dir, "m.safetensors"), plot = Path.Combine(dir, "c.png");
            var (code, stdout, err) = TestUtil.Cli("", "train", "--epochs", "3", "--json", "--out", model, "--plot", plot, "--seed", "2");
            Assert.True(code == 0, err);
            var lines = stdout.Trim().Split('\n');
            Assert.Equal(3, lines.Length);
            var last = System.Text.Json.JsonDocument.Parse(lines[2]).RootElement;
            foreach (var key in new[] { "epoch", "seconds", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss",
                "test_accuracy" })
                Assert.True(last.TryGetProperty(key, out _), key);
            Assert.True(File.Exists(plot) && File.Exists(Path.Combine(dir, "c-regions.png")));
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(plot)[..4]);

            var (c2, evalJson, e2) = TestUtil.Cli("", "eval", "--model", model, "--json");
            Assert.True(c2 == 0, e2);
            var ev = System.Text.Json.JsonDocument.Parse(evalJson).RootElement;
            Assert.Equal(last.GetProperty("test_accuracy").GetDouble(), ev.GetProperty("accuracy").GetDouble(), 6);
            Assert.Equal(3, ev.GetProperty("confusion").GetArrayLength());

            var (c3, pred, e3) = TestUtil.Cli("x: [[0.1, 0.2], [-0.5, 0.3]]", "predict", "--model", model);
            Assert.True(c3 == 0, e3);
            Assert.StartsWith("class:\n[", pred);

            var (c4, more, e4) = TestUtil.Cli("", "train", "--resume", model, "--epochs", "4", "--json", "--out", model);
            Assert.True(c4 == 0, e4);
            Assert.Single(more.Trim().Split('\n'));
            var (c5, _, e5) = TestUtil.Cli("", "train", "--resume", model, "--epochs", "4", "--lr", "0.5");
            Assert.Equal(2, c5);
            Assert.Contains("--lr 0.5 contradicts the checkpoint", e5);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Validation_zero_trains_on_all_the_data_and_reports_no_validation()
    {
        var (code, stdout, err) = TestUtil.Cli("", "train", "--epochs", "2", "--validation", "0", "--json");
        Assert.True(code == 0, err);
        var last = System.Text.Json.JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.False(last.TryGetProperty("val_loss", out _));
        Assert.True(last.TryGetProperty("test_accuracy", out _));
        var (c2, text, e2) = TestUtil.Cli("", "train", "--epochs", "1", "--validation", "0");
        Assert.True(c2 == 0, e2);
        Assert.Contains("0 validation", text);
        Assert.DoesNotContain("val acc", text);
    }
}
