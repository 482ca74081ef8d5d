using System.Text.Json;

namespace Backprop.Tests;

public class CliTests
{
    [Theory]
    [InlineData("x:\n[[1, 2],\n[3, 4]\ndout:\n[[1, 1], [1, 1]]", "relu", "expected ',' or ']'", "line 4, column 1")]
    [InlineData("x:\n[[1, 2, 3],\n [4, 5]]\ndout: [[1]]", "relu", "ragged nested list", "line 3, column 2")]
    [InlineData("x: [1, 2x]\ndout: [1, 1]", "relu", "'2x' is not a number", "line 1, column 8")]
    [InlineData("{\"x\": [1, 2,], \"dout\": [1, 1]}", "relu", "malformed JSON", "line 1")]
    [InlineData("{\"x\": [[1, 2], [3]], \"dout\": [[1, 1], [1, 1]]}", "relu", "ragged nested list", "x")]
    [InlineData("x: [[1, 2]]\ndout: [[1, 1]]\nfoo: [1]", "relu", "unknown key 'foo'", "expected x, dout")]
    [InlineData("x: [[1, 2]]", "sigmoid", "missing input 'dout'", "sigmoid")]
    [InlineData("W: [[1, 2]]\nb: [1, 2]\nx: [[1, 2, 3]]\ndout: [[1, 1]]", "fc", "FullyConnected: x has shape (1, 3)",
        "W has shape (1, 2) and expects 1")]
    [InlineData("W: [[1, 2]]\nb: [1, 2, 3]\nx: [[1]]\ndout: [[1, 1]]", "fc", "b has shape (3,)", "must have shape (2,)")]
    [InlineData("W: [[1, 2]]\nb: [1, 2]\nx: [[1]]\ndout: [[1, 1, 1]]", "fc", "dout has shape (1, 3)", "(1, 2)")]
    [InlineData("x: [[1, -2], [nan, 4]]\ndout: [[1, 1], [1, 1]]", "tanh", "x[1][0] is NaN", "line 1, column 15")]
    [InlineData("x: [[1, -2], [3, 4]]\ndout: [[1, inf], [1, 1]]", "tanh", "dout[0][1] is +Inf", "line 2, column 12")]
    [InlineData("{\"x\": [[1, \"NaN\"]], \"dout\": [[1, 1]]}", "elu", "x[0][1] is NaN", "only finite")]
    [InlineData("x: [[1, 2]]\ndout: [[1, 1]]", "swishy", "unknown kind 'swishy'", "fully_connected")]
    [InlineData("x: [[1, 2]]\ndout: [[1, 1]]\napproximate: exact", "gelu", "approximate must be none or tanh", "'exact'")]
    [InlineData("x: [[1, 2]]\nt: [[1, 0, 0]]", "softmax_cross_entropy", "t has shape (1, 3)", "x has shape (1, 2)")]
    [InlineData("x: [[1, 2]]\nt: [5]", "softmax_cross_entropy", "t[0] = 5 is not a class index", "0 to 1")]
    [InlineData("x: [[1, 2]]\ndout: [[1, 1]]\nx: [[1, 2]]", "relu", "given twice", "line 3")]
    [InlineData("", "relu", "empty", "")]
    [InlineData("x: [[1e200, 2]]\nt: [[-1e200, 0]]", "mse", "overflowed", "")]
    public void Bad_input_gives_a_clear_message_exit_code_2_and_no_output(string input, string kind, string part1, string part2)
    {
        var (code, stdout, stderr) = TestUtil.Cli(input, "layer", kind);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("backprop: error: ", stderr);
        Assert.Contains(part1, stderr);
        Assert.Contains(part2, stderr);
    }

    [Theory]
    [InlineData(new[] { "layer" }, "missing KIND")]
    [InlineData(new[] { "layer", "relu", "--dtype", "float16" }, "--dtype must be one of float64, float32")]
    [InlineData(new[] { "layer", "relu", "--bogus" }, "unknown option --bogus")]
    [InlineData(new[] { "layer", "relu", "/nonexistent/file.txt" }, "does not exist")]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    [InlineData(new[] { "gradcheck", "--seed", "x" }, "--seed must be a whole number")]
    public void Bad_arguments_give_a_clear_message_and_exit_code_2(string[] args, string part)
    {
        var (code, stdout, stderr) = TestUtil.Cli("x: [[1]]\ndout: [[1]]", args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(part, stderr);
    }

    [Fact]
    public void Every_kind_runs_in_both_input_forms_and_dtypes()
    {
        string[] activations = ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", "softplus"];
        foreach (var kind in activations)
        {
            foreach (var dtype in new[] { "float64", "float32" })
            {
                var (c1, text, e1) = TestUtil.Cli("x:\n[[1, -2.5, 0],\n [3, 4, -1000]]\ndout:\n[[1, 1, 1], [0.5, 0.5, 0.5]]", "layer", kind,
                    "--dtype", dtype);
                Assert.True(c1 == 0, e1);
                Assert.StartsWith("y:\n[[", text);
                Assert.Contains("\ndx:\n", text);
                var (c2, json, e2) = TestUtil.Cli("{\"x\": [[1, -2.5, 0], [3, 4, -1000]], \"dout\": [[1, 1, 1], [0.5, 0.5, 0.5]]}", "layer",
                    kind, "--json", "--dtype", dtype);
                Assert.True(c2 == 0, e2);
                var root = JsonDocument.Parse(json).RootElement;
                Assert.Equal(2, root.GetProperty("dx").GetArrayLength());
            }
        }
    }

    [Fact]
    public void Hyper_parameters_are_read_in_both_forms()
    {
        var (_, t1, _) = TestUtil.Cli("x: [[-2.0]]\ndout: [[1.0]]\nalpha: 0.5", "layer", "leaky_relu", "--json");
        Assert.Equal(-1.0, JsonDocument.Parse(t1).RootElement.GetProperty("y")[0][0].GetDouble());
        var (_, t2, _) = TestUtil.Cli("{\"x\": [[1.0]], \"dout\": [[1.0]], \"approximate\": \"tanh\"}", "layer", "gelu", "--json");
        double u = Math.Sqrt(2 / Math.PI) * (1 + 0.044715);
        Assert.Equal(0.5 * (1 + Math.Tanh(u)), JsonDocument.Parse(t2).RootElement.GetProperty("y")[0][0].GetDouble(), 12);
        var (_, t3, _) = TestUtil.Cli("x: [[1.0]]\ndout: [[1.0]]\nbeta: 2\nthreshold: 1", "layer", "softplus", "--json");
        Assert.Equal(1.0, JsonDocument.Parse(t3).RootElement.GetProperty("y")[0][0].GetDouble());
        var (_, t4, _) = TestUtil.Cli("x: [[2, 1]]\nt: [0]\ndout: 3", "layer", "softmax_cross_entropy", "--json");
        var r = JsonDocument.Parse(t4).RootElement;
        Assert.Equal(Math.Log(1 + Math.Exp(-1)), r.GetProperty("loss").GetDouble(), 14);
        Assert.Equal(3 * (1 / (1 + Math.Exp(-1)) - 1), r.GetProperty("dx")[0][0].GetDouble(), 14);
    }

    private const string Network = """
        {"layers": [{"kind": "fully_connected", "W": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "b": [0.1, 0.2, 0.3]},
                    {"kind": "relu"},
                    {"kind": "fc", "W": [[1, -1], [0.5, 0.5], [-1, 1]], "b": [0, 0.1]}],
         "loss": {"kind": "softmax_cross_entropy"},
         "x": [[1, 2], [3, 4]], "t": [0, 1]}
        """;

    [Fact]
    public void Grad_prints_the_loss_and_every_layers_gradients()
    {
        var (code, json, err) = TestUtil.Cli(Network, "grad", "--json");
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(json).RootElement;
        Assert.Equal(["loss", "dx", "layers"], r.EnumerateObject().Select(p => p.Name));
        var layers = r.GetProperty("layers");
        Assert.Equal(3, layers.GetArrayLength());
        Assert.Equal(["dW", "db"], layers[0].EnumerateObject().Select(p => p.Name));
        Assert.Empty(layers[1].EnumerateObject());
        Assert.Equal(3, layers[2].GetProperty("dW").GetArrayLength());

        // Against the library directly.
        var W1 = new Tensor<double>([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 2, 3);
        var net = new Backprop.Networks.Sequential<double>(
            [new Backprop.Layers.FullyConnected<double>(W1, new Tensor<double>([0.1, 0.2, 0.3], 3)), new Backprop.Layers.Relu<double>(),
             new Backprop.Layers.FullyConnected<double>(new Tensor<double>([1, -1, 0.5, 0.5, -1, 1], 3, 2), new Tensor<double>([0, 0.1],
                 2))],
            new Backprop.Losses.SoftmaxCrossEntropy<double>());
        double loss = net.ComputeLoss(new Tensor<double>([1, 2, 3, 4], 2, 2), new Tensor<double>([0, 1], 2));
        net.Backward();
        Assert.Equal(loss, r.GetProperty("loss").GetDouble());
        Assert.Equal(net.Parameters[0].Grad[1, 2], layers[0].GetProperty("dW")[1][2].GetDouble());

        var (c2, text, _) = TestUtil.Cli(Network, "grad");
        Assert.Equal(0, c2);
        Assert.Contains("layers[0].dW:\n[[", text);
        Assert.Contains("layers[2].db:\n[", text);
    }

    [Theory]
    [InlineData("{\"layers\": [{\"kind\": \"relu\"}], \"loss\": {\"kind\": \"mse\"}, \"x\": [[1]]}", "missing input 't'")]
    [InlineData("{\"layers\": [{\"kind\": \"fc\", \"W\": [[1, 2]], \"b\": [1, 2]}, {\"kind\": \"fc\", \"W\": [[1]], \"b\": [1]}], " +
        "\"loss\": \"mse\", \"x\": [[1]], \"t\": [[1]]}", "layers[1]: FullyConnected: x has shape (1, 2)")]
    [InlineData("{\"layers\": [{\"kind\": \"relu\", \"alpha\": 1}], \"loss\": \"mse\", \"x\": [[1]], \"t\": [[1]]}", "unknown key 'alpha'")]
    [InlineData("{\"layers\": [{\"kind\": \"lstm\"}], \"loss\": \"mse\", \"x\": [[1]], \"t\": [[1]]}", "unknown kind 'lstm'")]
    [InlineData("{\"layers\": [], \"loss\": \"relu\", \"x\": [[1]], \"t\": [[1]]}", "the loss must be one of")]
    [InlineData("{\"layers\": [], \"loss\": \"mse\", \"x\": [[1]], \"t\": [[1, 2]]}", "loss: MeanSquaredError: t has shape (1, 2)")]
    [InlineData("{\"layers\": [], \"loss\": \"mse\", \"x\": [[1]], \"t\": [[1]], \"extra\": 1}", "unknown key 'extra'")]
    [InlineData("{\"layers\": [], \n \"loss\": mse}", "line 2")]
    public void Grad_rejects_bad_networks(string input, string part)
    {
        var (code, stdout, stderr) = TestUtil.Cli(input, "grad");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(part, stderr);
    }

    [Fact]
    public void Gradcheck_prints_a_passing_table()
    {
        var (code, text, _) = TestUtil.Cli("", "gradcheck");
        Assert.Equal(0, code);
        Assert.Contains("29 of 29 below 1e-07", text);
        var (c2, json, _) = TestUtil.Cli("", "gradcheck", "--json", "--seed", "3");
        Assert.Equal(0, c2);
        Assert.All(JsonDocument.Parse(json).RootElement.EnumerateArray(), e => Assert.True(e.GetProperty("ok").GetBoolean()));
    }

    [Fact]
    public void Demo_shows_the_sample_the_chain_rule_and_the_gradient_check()
    {
        string plot = Path.Combine(Path.GetTempPath(), $"bp-demo-{Guid.NewGuid():N}.png");
        var (code, text, err) = TestUtil.Cli("", "demo", "--plot", plot);
        Assert.True(code == 0, err);
        Assert.True(File.Exists(plot));
        Assert.True(File.Exists(Path.ChangeExtension(plot, null) + "-regions.png"));
        File.Delete(plot);
        File.Delete(Path.ChangeExtension(plot, null) + "-regions.png");
        Assert.Contains("== 4. A network that learns", text);
        Assert.Matches(@"\n\s+60\s+\d\.\d{4}\s+\d+\.\d%", text);                 // epoch lines, every tenth
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, @"\n\s+60\s"));   // once, not again as a table
        Assert.Matches(@"== 5\. Summary ==[\s\S]*test accuracy \d+\.\d% after 60 epochs[\s\S]*plots: ", text);
        Assert.Contains("dx:\n[[0.14 0.32]\n [0.32 0.77]]", text);
        Assert.Contains("f3  dL/dy3 (4, 3) -> dL/dz2 (4, 4), dL/dW3 (4, 3), dL/db3 (3,)", text);
        Assert.Contains("29 of 29 below 1e-07", text);
    }
}

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

public class RoundTripCliTests
{
    [Fact]
    public void What_layer_prints_reads_back_as_input()
    {
        // numpy's printed form separates elements by spaces: the output of one layer is the input of the next.
        var (code, first, err) = TestUtil.Cli("x:\n[[1.5, -2, 0.25], [3, 0, -1]]\ndout:\n[[1, 2, 3], [4, 5, 6]]\n", "layer", "sigmoid");
        Assert.True(code == 0, err);
        string next = first.Replace("y:", "x:").Replace("dx:", "dout:");
        var (code2, second, err2) = TestUtil.Cli(next, "layer", "tanh");
        Assert.True(code2 == 0, err2);
        Assert.StartsWith("y:\n[[", second);
        var values = Backprop.IO.TextInput.Parse(next);
        Assert.Equal([2, 3], values[0].Shape!);
        Assert.Equal(1 / (1 + Math.Exp(-1.5)), values[0].Values![0], 7);
    }

    [Fact]
    public void Version_prints_the_package_version()
    {
        var (code, stdout, _) = TestUtil.Cli("", "--version");
        Assert.Equal(0, code);
        Assert.Matches(@"^backprop \d+\.\d+\.\d+", stdout);
        Assert.DoesNotContain("0.1.0.0", stdout);
    }
}

public class HelpTests
{
    public static TheoryData<string> Commands()
    {
        var d = new TheoryData<string>();
        foreach (var s in Backprop.Cli.CommandLine.Specs()) d.Add(s.Name);
        return d;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_has_help_naming_every_option_with_examples(string command)
    {
        foreach (var flag in new[] { "--help", "-h" })
        {
            var (code, stdout, err) = TestUtil.Cli("", command, flag);
            Assert.True(code == 0, err);
            var spec = Backprop.Cli.CommandLine.Specs().First(s => s.Name == command);
            foreach (var o in spec.Options) Assert.Contains("--" + o.Name, stdout);
            Assert.Contains("Examples:", stdout);
            Assert.Contains($"backprop {command}", stdout);
        }
    }

    [Fact]
    public void The_top_level_help_lists_every_command_and_the_exit_codes()
    {
        var (code, stdout, _) = TestUtil.Cli("", "--help");
        Assert.Equal(0, code);
        foreach (var s in Backprop.Cli.CommandLine.Specs()) Assert.Contains(s.Name, stdout);
        Assert.Contains("2 bad input or usage", stdout);
        var (code2, stdout2, _) = TestUtil.Cli("");
        Assert.Equal(2, code2);   // no command: the help, as a usage error
        Assert.Contains("Commands:", stdout2);
    }

    [Theory]
    [InlineData(new[] { "tarin" }, "did you mean train?")]
    [InlineData(new[] { "gradchek" }, "did you mean gradcheck?")]
    [InlineData(new[] { "train", "--lrr", "0.1" }, "did you mean --lr?")]
    [InlineData(new[] { "eval", "--modle", "m" }, "did you mean --model?")]
    [InlineData(new[] { "layer", "relu", "--jsno" }, "did you mean --json?")]
    public void Misspelt_commands_and_options_get_suggestions(string[] args, string suggestion)
    {
        var (code, stdout, err) = TestUtil.Cli("", args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(suggestion, err);
        Assert.Single(err.Trim().Split('\n'));
    }
}
