using System.Text.Json;

namespace Backprop.Tests;

/// <summary>
/// The command line on graph networks: grad on a JSON graph against the chain rule worked by hand, summary naming each
/// node and what it reads, and a graph description trained, evaluated and predicted with, resumed, and exported to ONNX.
/// </summary>
public class GraphCliTests
{
    // y = fc(x) + x (a residual connection around an affine layer), mean squared error.
    private const string Residual = """
        {"layers": [{"node": "fc", "from": ["x"], "kind": "fully_connected", "W": [[0.5, -1], [2, 0.25]], "b": [0.1, -0.2]},
                    {"node": "sum", "from": ["fc", "x"], "kind": "add"}],
         "loss": {"kind": "mse"},
         "x": [[1, 2], [3, -1]], "t": [[0, 1], [1, 0]]}
        """;

    [Fact]
    public void Grad_on_a_residual_graph_gives_the_chain_rule_worked_by_hand()
    {
        var (code, json, err) = TestUtil.Cli(Residual, "grad", "--json");
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(json).RootElement;
        // y = xW + b + x = [[5.6, 1.3], [2.6, −4.45]]; L = ½·Σ(y − t)²/B = ½·53.8125/2;
        // dy = (y − t)/B = [[2.8, 0.15], [0.8, −2.225]].
        Assert.Equal(13.453125, r.GetProperty("loss").GetDouble(), 12);
        // The fork: dx = dy·Wᵀ (through the layer) + dy (the identity) = [[4.05, 5.7875], [3.425, −1.18125]].
        double[][] dx = [[4.05, 5.7875], [3.425, -1.18125]];
        double[][] dW = [[5.2, -6.525], [4.8, 2.525]];   // xᵀ·dy
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
            {
                Assert.Equal(dx[i][j], r.GetProperty("dx")[i][j].GetDouble(), 12);
                Assert.Equal(dW[i][j], r.GetProperty("nodes").GetProperty("fc").GetProperty("dW")[i][j].GetDouble(), 12);
            }
        Assert.Equal(3.6, r.GetProperty("nodes").GetProperty("fc").GetProperty("db")[0].GetDouble(), 12);
        Assert.Equal(-2.075, r.GetProperty("nodes").GetProperty("fc").GetProperty("db")[1].GetDouble(), 12);
    }

    [Theory]
    [InlineData("""{"node": "sum", "from": ["fc", "y"], "kind": "add"}""", "node 'sum': its input 'y' is neither x nor a node")]
    [InlineData("""{"node": "sum", "from": ["fc"], "kind": "add"}""", "node 'sum': add joins two inputs or more")]
    [InlineData("""{"node": "sum", "from": ["fc", "x"], "kind": "add", "alpha": 2}""", "(add) takes no 'alpha'")]
    [InlineData("""{"node": "sum", "from": ["fc", "sum"], "kind": "add"}""", "node 'sum': a cycle through it")]
    public void A_bad_graph_in_grad_is_refused_naming_the_node(string second, string expected)
    {
        string input = Residual.Replace("""{"node": "sum", "from": ["fc", "x"], "kind": "add"}""", second, StringComparison.Ordinal);
        var (code, _, err) = TestUtil.Cli(input, "grad");
        Assert.True(code is 2 or 3, $"exit {code}: {err}");
        Assert.Contains(expected, err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_graph_description_trains_evaluates_predicts_resumes_and_exports()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"bp-graphcli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            // The spiral's 2 features through a residual MLP: fc 2→16, tanh, fc 16→16 added back, relu, fc 16→3.
            File.WriteAllText(Path.Combine(dir, "net.json"), """
                {"version": 3, "dtype": "float32", "output": "out", "loss": {"kind": "softmax_cross_entropy"}, "layers": [
                  {"node": "in", "from": ["x"], "kind": "fully_connected", "inputs": 2, "outputs": 16},
                  {"node": "a", "from": ["in"], "kind": "tanh"},
                  {"node": "f", "from": ["a"], "kind": "fully_connected", "inputs": 16, "outputs": 16},
                  {"node": "sum", "from": ["f", "a"], "kind": "add"},
                  {"node": "r", "from": ["sum"], "kind": "relu"},
                  {"node": "out", "from": ["r"], "kind": "fully_connected", "inputs": 16, "outputs": 3}]}
                """);
            string Path_(string f) => Path.Combine(dir, f);
            var (code, stdout, err) = TestUtil.Cli("", "summary", "--model", Path_("net.json"));
            Assert.True(code == 0, err);
            Assert.Contains("| sum | add | f, a | (16) | 0 | 0 |", stdout, StringComparison.Ordinal);
            (code, _, err) = TestUtil.Cli("", "train", "--model", Path_("net.json"), "--epochs", "3", "--out", Path_("m.safetensors"));
            Assert.True(code == 0, err);
            (code, _, err) = TestUtil.Cli("", "train", "--resume", Path_("m.safetensors"), "--epochs", "4", "--out",
                Path_("m.safetensors"));
            Assert.True(code == 0, err);
            (code, stdout, err) = TestUtil.Cli("", "eval", "--model", Path_("m.safetensors"), "--json");
            Assert.True(code == 0, err);
            Assert.InRange(JsonDocument.Parse(stdout).RootElement.GetProperty("accuracy").GetDouble(), 0.4, 1.0);
            (code, stdout, err) = TestUtil.Cli("x: [[0.5, -0.25]]", "predict", "--model", Path_("m.safetensors"), "--json");
            Assert.True(code == 0, err);
            (code, _, err) = TestUtil.Cli("", "export", "--model", Path_("m.safetensors"), "--onnx", Path_("m.onnx"));
            Assert.True(code == 0, err);
            (code, stdout, err) = TestUtil.Cli("", "import", "--onnx", Path_("m.onnx"), "--out", Path_("back.safetensors"));
            Assert.True(code == 0, err);
            Assert.Contains("a graph of 6 nodes (5 layers, 1 joins)", stdout, StringComparison.Ordinal);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
