using Backprop.Losses;

namespace Backprop.Tests;

/// <summary>
/// What the built-in losses declare: softmax cross-entropy classifies (its probabilities are the softmax of the logits), mean
/// squared error does not. A loss of a user's own, registered, is tested in Backprop.ApiTests (its own process, so that the
/// registry here holds the built-in kinds alone).
/// </summary>
public class LossRegistryTests
{
    [Fact]
    public void Built_in_losses_declare_whether_they_classify()
    {
        Assert.True(new SoftmaxCrossEntropy<double>().Classifies);
        Assert.False(new MeanSquaredError<double>().Classifies);
        Assert.Null(new MeanSquaredError<double>().Probabilities);
        Assert.Throws<InvalidOperationException>(() => new MeanSquaredError<double>().ProbabilitiesOf([1.0], new double[1]));
        var p = new double[3];
        new SoftmaxCrossEntropy<double>().ProbabilitiesOf([1.0, 2.0, 3.0], p);
        double z = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);   // softmax, from its definition
        TestUtil.Close([Math.Exp(1) / z, Math.Exp(2) / z, Math.Exp(3) / z], p, 1e-15);
    }
}
