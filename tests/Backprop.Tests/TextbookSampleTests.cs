using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Tests;

public class TextbookSampleTests
{
    private const string ExpectedText = """
        y:
        [[1.  1.4 1.8]
         [2.  2.8 3.6]]
        dx:
        [[0.14 0.32]
         [0.32 0.77]]
        dW:
        [[1.3 1.7 2.1]
         [1.8 2.4 3. ]]
        db:
        [0.5 0.7 0.9]

        """;

    [Fact]
    public void Library_gives_the_textbook_gradients()
    {
        var W = new Tensor<double>([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 2, 3);
        var b = new Tensor<double>([0.1, 0.2, 0.3], 3);
        var x = new Tensor<double>([1, 2, 3, 4], 2, 2);
        var dout = new Tensor<double>([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 2, 3);
        var layer = new FullyConnected<double>(W, b);
        layer.Forward(x);
        var dx = layer.Backward(dout);
        TestUtil.Close([0.14, 0.32, 0.32, 0.77], dx.Span.ToArray(), 1e-12);
        TestUtil.Close([1.3, 1.7, 2.1, 1.8, 2.4, 3.0], layer.dW.Span.ToArray(), 1e-12);
        TestUtil.Close([0.5, 0.7, 0.9], layer.db.Span.ToArray(), 1e-12);
        Assert.Equal("[[0.14 0.32]\n [0.32 0.77]]", NumpyFormat.Format(dx));
        Assert.Equal("[[0.14 0.32]\n [0.32 0.77]]", dx.ToString());   // a tensor prints itself as numpy prints the array
        Assert.Equal("[[1.3 1.7 2.1]\n [1.8 2.4 3. ]]", NumpyFormat.Format(layer.dW));
        Assert.Equal("[0.5 0.7 0.9]", NumpyFormat.Format(layer.db));
    }

    [Theory]
    [InlineData("fully_connected")]
    [InlineData("fc")]
    [InlineData("affine")]
    public void Cli_text_input_prints_exactly_the_textbook_output(string kind)
    {
        var (code, stdout, stderr) = TestUtil.Cli(TestUtil.TextbookInput, "layer", kind);
        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.Equal(ExpectedText.ReplaceLineEndings("\n"), stdout);
    }

    [Fact]
    public void Cli_json_input_prints_the_same_text()
    {
        const string json = """
            {"W": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "b": [0.1, 0.2, 0.3],
             "x": [[1, 2], [3, 4]], "dout": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]}
            """;
        var (code, stdout, _) = TestUtil.Cli(json, "layer", "fully_connected");
        Assert.Equal(0, code);
        Assert.Equal(ExpectedText.ReplaceLineEndings("\n"), stdout);
    }

    [Fact]
    public void Cli_reads_a_file_and_prints_json_with_round_trip_numbers()
    {
        string path = Path.GetTempFileName();
        File.WriteAllText(path, TestUtil.TextbookInput);
        try
        {
            var (code, stdout, _) = TestUtil.Cli("", "layer", "fc", path, "--json");
            Assert.Equal(0, code);
            using var doc = System.Text.Json.JsonDocument.Parse(stdout);
            var root = doc.RootElement;
            Assert.Equal(["y", "dx", "dW", "db"], root.EnumerateObject().Select(p => p.Name));
            Assert.Equal(0.77, root.GetProperty("dx")[1][1].GetDouble(), 15);
            // Full precision: 0.1·0.4 + … in float64 is not exactly 0.9 and the JSON says so.
            double db2 = root.GetProperty("db")[2].GetDouble();
            Assert.Equal(0.6 + 0.3, db2);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Cli_float32_agrees_with_float64_within_1e_5()
    {
        var (c64, o64, _) = TestUtil.Cli(TestUtil.TextbookInput, "layer", "fc", "--json");
        var (c32, o32, _) = TestUtil.Cli(TestUtil.TextbookInput, "layer", "fc", "--json", "--dtype", "float32");
        Assert.Equal(0, c64);
        Assert.Equal(0, c32);
        var a = Flatten(System.Text.Json.JsonDocument.Parse(o64).RootElement);
        var b = Flatten(System.Text.Json.JsonDocument.Parse(o32).RootElement);
        TestUtil.Close(a.ToArray(), b.ToArray(), 1e-5);
    }

    private static IEnumerable<double> Flatten(System.Text.Json.JsonElement e) => e.ValueKind switch
    {
        System.Text.Json.JsonValueKind.Object => e.EnumerateObject().SelectMany(p => Flatten(p.Value)),
        System.Text.Json.JsonValueKind.Array => e.EnumerateArray().SelectMany(Flatten),
        _ => [e.GetDouble()],
    };
}
