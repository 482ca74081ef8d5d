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
        Assert.Contains("53 of 53 below 1e-07", text);
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
        // The chain rule in numbers: each layer's dout, its local derivative, their product (ReLU's is its 0/1 mask).
        Assert.Matches(@"sample 0: dL/dz2 \[[-\d. ]+\] ⊙ dz2/dy2 \[[\d. ]+\] = dL/dy2 \[", text);
        Assert.Matches(@"sample 0: dL/dz1 \[[-\d. ]+\] ⊙ dz1/dy1 \[([01]\.0000 ?)+\] = dL/dy1 \[", text);
        Assert.Matches(@"sample 0: dL/dy3 \[[-\d. ]+\] · W3ᵀ = dL/dz2 \[", text);
        Assert.Contains("53 of 53 below 1e-07", text);
    }
}
