using System.Numerics;
using System.Numerics.Tensors;

namespace Backprop.Layers;

/// <summary>
/// Batch normalization over the features of x (B, D): x̂ = (x − μ)/√(σ² + ε), y = γ·x̂ + β.
/// </summary>
/// <remarks>
/// Training uses the batch mean and (biased) variance and updates the running statistics as
/// running = momentum·running + (1 − momentum)·batch (momentum 0.9, as in the textbook); inference uses the running
/// statistics. Backward in training: dβ = Σ dout, dγ = Σ dout·x̂, dx = (γ/√(σ² + ε))·(dout − mean(dout) − x̂·mean(dout·x̂)).
/// Trailing axes of x are flattened into features.
/// </remarks>
[LayerKind("batch_norm")]
public sealed class BatchNormalization<T> : BatchNormalizationBase<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _x, _xhat, _y, _dx, _tmp;
    private readonly Tensor<T> _mean, _invStd, _sumD, _sumDX;
    private bool _trainedPass;

    /// <summary>Creates the layer for <paramref name="features"/> features (γ = 1, β = 0).</summary>
    public BatchNormalization(int features, double momentum = 0.9, double eps = 1e-5) : base(features, "features", momentum, eps)
    {
        _mean = Tensor<T>.Zeros(features);
        _invStd = Tensor<T>.Zeros(features);
        _sumD = Tensor<T>.Zeros(features);
        _sumDX = Tensor<T>.Zeros(features);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        int D = gamma.Length;
        if (x.Rank < 2 || x.Dim(0) == 0 || x.Length / x.Dim(0) != D)
            throw new ShapeMismatchException($"BatchNormalization: x has shape {x.ShapeString}, but the layer normalizes {D} features " +
                $"per sample");
        int B = x.Dim(0);
        _x = x;
        _trainedPass = Training;
        var xhat = TensorBuffer.Ensure(ref _xhat, x.Shape);
        var y = TensorBuffer.Ensure(ref _y, x.Shape);
        var mean = _mean.Span;
        var invStd = _invStd.Span;
        T eps = T.CreateTruncating(Eps);
        if (Training)
        {
            T invB = T.One / T.CreateTruncating(B);
            mean.Clear();
            for (int b = 0; b < B; b++) TensorPrimitives.Add(mean, x.Span.Slice(b * D, D), mean);
            TensorPrimitives.Multiply(mean, invB, mean);
            var var = _sumD.Span;       // scratch for the variance
            var.Clear();
            for (int b = 0; b < B; b++)
            {
                var xh = xhat.Span.Slice(b * D, D);
                TensorPrimitives.Subtract(x.Span.Slice(b * D, D), mean, xh);
                TensorPrimitives.MultiplyAdd(xh, xh, var, var);
            }
            TensorPrimitives.Multiply(var, invB, var);
            T m = T.CreateTruncating(Momentum), m1 = T.One - m;
            for (int d = 0; d < D; d++)
            {
                invStd[d] = T.One / T.Sqrt(var[d] + eps);
                RunningMean.Span[d] = m * RunningMean.Span[d] + m1 * mean[d];
                RunningVar.Span[d] = m * RunningVar.Span[d] + m1 * var[d];
            }
            for (int b = 0; b < B; b++) TensorPrimitives.Multiply(xhat.Span.Slice(b * D, D), invStd, xhat.Span.Slice(b * D, D));
        }
        else
        {
            RunningMean.Span.CopyTo(mean);
            for (int d = 0; d < D; d++) invStd[d] = T.One / T.Sqrt(RunningVar.Span[d] + eps);
            for (int b = 0; b < B; b++)
            {
                var xh = xhat.Span.Slice(b * D, D);
                TensorPrimitives.Subtract(x.Span.Slice(b * D, D), mean, xh);
                TensorPrimitives.Multiply(xh, invStd, xh);
            }
        }
        for (int b = 0; b < B; b++)
            TensorPrimitives.FusedMultiplyAdd(xhat.Span.Slice(b * D, D), gamma.Span, beta.Span, y.Span.Slice(b * D, D));
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var x = RequireForward(_x);
        CheckDout(dout, x.Shape);
        int B = x.Dim(0), D = gamma.Length;
        var dx = TensorBuffer.Ensure(ref _dx, x.Shape);
        var dgamma = GammaGrad;
        var dbeta = BetaGrad;
        var xhat = _xhat!.Span;
        var tmp = TensorBuffer.Ensure(ref _tmp, D).Span;
        dgamma.Clear();
        dbeta.Clear();
        for (int b = 0; b < B; b++)
        {
            var d = dout.Span.Slice(b * D, D);
            TensorPrimitives.Add(dbeta, d, dbeta);
            TensorPrimitives.MultiplyAdd(d, xhat.Slice(b * D, D), dgamma, dgamma);
        }
        var scale = _invStd.Span;
        if (!_trainedPass)
        {
            TensorPrimitives.Multiply(gamma.Span, scale, tmp);                 // dx = dout·γ/√(running σ² + ε)
            for (int b = 0; b < B; b++) TensorPrimitives.Multiply(dout.Span.Slice(b * D, D), tmp, dx.Span.Slice(b * D, D));
            return dx;
        }
        // mean(dout) = dβ/B and mean(dout·x̂) = dγ/B.
        T invB = T.One / T.CreateTruncating(B);
        var meanD = _sumD.Span;
        var meanDX = _sumDX.Span;
        TensorPrimitives.Multiply(dbeta, invB, meanD);
        TensorPrimitives.Multiply(dgamma, invB, meanDX);
        TensorPrimitives.Multiply(gamma.Span, scale, tmp);
        for (int b = 0; b < B; b++)
        {
            var o = dx.Span.Slice(b * D, D);
            TensorPrimitives.Multiply(xhat.Slice(b * D, D), meanDX, o);                    // x̂·mean(dout·x̂)
            TensorPrimitives.Subtract(dout.Span.Slice(b * D, D), o, o);
            TensorPrimitives.Subtract(o, meanD, o);
            TensorPrimitives.Multiply(o, tmp, o);
        }
        return dx;
    }
}
