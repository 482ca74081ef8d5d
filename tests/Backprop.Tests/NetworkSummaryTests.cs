using Backprop.Layers;
using Backprop.Losses;
using Backprop.Networks;

namespace Backprop.Tests;

/// <summary>
/// The summary of the book's SimpleConvNet (ch. 7: conv 30 filters 5×5, ReLU, 2×2 max pooling, affine 100, ReLU, affine
/// 10), its numbers worked by hand: 30·(1·5·5) + 30 = 780 parameters and 30·25·24·24 = 432 000 multiply-adds for the
/// convolution, 4320·100 + 100 parameters for the first affine layer.
/// </summary>
public class NetworkSummaryTests
{
    [Fact]
    public void SimpleConvNets_summary_has_the_hand_worked_numbers()
    {
        var net = Models.Architectures.Named("simple_convnet")!.Build<float>(new Rng(0));
        var rows = NetworkSummary.Of(net, NetworkSummary.DefaultSampleShape(net)!);
        Assert.Equal([30, 24, 24], rows[0].OutputShape);
        Assert.Equal((780L, 432_000L), (rows[0].Parameters, rows[0].MultiplyAdds));
        Assert.Equal([30, 12, 12], rows[2].OutputShape);
        Assert.Equal((432_100L, 432_000L), (rows[3].Parameters, rows[3].MultiplyAdds));
        Assert.Equal([10], rows[^1].OutputShape);
        Assert.Equal(780 + 432_100 + 1_010, rows.Sum(r => r.Parameters));
        var (code, text, _) = TestUtil.Cli("", "summary", "--model", "simple_convnet");
        Assert.Equal(0, code);
        Assert.Contains("| 0 | convolution | (30, 24, 24) | 780 | 432,000 |", text);
        Assert.Contains("| | total | | 433,890 | 865,000 |", text);
    }

    [Fact]
    public void A_networks_text_names_its_layers_parameters_and_loss_without_running_it()
    {
        var net = new Sequential<float>([new FullyConnected<float>(4, 3), new Relu<float>(), new FullyConnected<float>(3, 2)],
            new SoftmaxCrossEntropy<float>());
        Assert.Equal("Sequential<Single>: fully_connected(4→3), relu, fully_connected(3→2); 23 parameters; loss softmax_cross_entropy",
            net.ToString());
    }
}
