namespace Backprop.Tests;

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
