using Backprop.Gradients;
using Backprop.Layers;

namespace Backprop.Tests;

public class GradientCheckTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Every_layer_loss_and_the_three_layer_network_pass(int seed)
    {
        var results = GradientCheckSuite.Run(seed);
        Assert.True(results.Count >= 24);
        foreach (var r in results)
            Assert.True(r.MaxRelativeError < 1e-7, $"{r.Target} {r.Parameter}: {r.MaxRelativeError:E2}");
        Assert.Contains(results, r => r.Target.StartsWith("layers[4]") && r.Parameter == "W");
    }

    [Fact]
    public void A_wrong_backward_is_caught()
    {
        // A layer whose backward forgets the factor 2 of y = x²: the check must flag it.
        var results = GradientCheck.Layer(new Square(), new Tensor<double>([0.5, -1.5, 2.0], 1, 3));
        Assert.True(results[0].MaxRelativeError > 0.1);
    }

    [Fact]
    public void Network_backward_is_the_chain_of_layer_backwards()
    {
        var (net, x, t) = GradientCheckSuite.ThreeLayerNetwork(new Random(4));
        net.ComputeLoss(x, t);
        var dx = net.Backward().Clone();
        // The same chain by hand, layer by layer.
        var h = x;
        foreach (var l in net.Layers) h = l.Forward(h);
        net.Loss.Forward(h, t);
        var d = net.Loss.Backward();
        for (int i = net.Layers.Count - 1; i >= 0; i--) d = net.Layers[i].Backward(d);
        Assert.Equal(dx.Span.ToArray(), d.Span.ToArray());
        Assert.Equal(6, net.Parameters.Count);
    }

    private sealed class Square : ActivationLayer<double>
    {
        public override string Kind => "square";
        protected override void Apply(ReadOnlySpan<double> x, Span<double> y) { for (int i = 0; i < x.Length; i++) y[i] = x[i] * x[i]; }
        protected override void Derive(ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<double> dout,
            Span<double> dx)
        { for (int i = 0; i < x.Length; i++) dx[i] = dout[i] * x[i]; }
    }
}
