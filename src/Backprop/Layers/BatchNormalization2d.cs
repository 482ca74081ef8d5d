using System.Numerics;
using System.Numerics.Tensors;

namespace Backprop.Layers;

/// <summary>
/// Batch normalization over the channels of images x (N, C, H, W), as PyTorch's BatchNorm2d and ONNX's
/// BatchNormalization: each channel's statistics over N, H and W; x̂ = (x − μ_c)/√(σ²_c + ε), y = γ_c·x̂ + β_c.
/// </summary>
/// <remarks>
/// The same rules as <see cref="BatchNormalization{T}"/> (the textbook's per-feature form), per channel: training uses
/// the batch mean and biased variance and updates running = momentum·running + (1 − momentum)·batch (the textbook's
/// momentum 0.9 and its biased variance; PyTorch's running variance is the unbiased one, which only changes inference);
/// inference uses the running statistics. Backward in training, with M = N·H·W values per channel: dβ = Σ dout,
/// dγ = Σ dout·x̂, dx = (γ/√(σ² + ε))·(dout − dβ/M − x̂·dγ/M).
/// </remarks>
[LayerKind("batch_norm_2d")]
public sealed class BatchNormalization2d<T> : BatchNormalizationBase<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _x, _xhat, _y, _dx;
    private readonly T[] _invStd;
    private bool _trainedPass;

    /// <summary>Creates the layer for <paramref name="channels"/> channels (γ = 1, β = 0).</summary>
    public BatchNormalization2d(int channels, double momentum = 0.9, double eps = 1e-5) : base(channels, "channels", momentum, eps)
    {
        _invStd = new T[channels];
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        int C = gamma.Length;
        if (x.Rank != 4 || x.Dim(1) != C || x.Dim(0) == 0 || x.Dim(2) * x.Dim(3) == 0)
            throw new ShapeMismatchException($"BatchNormalization2d: x has shape {x.ShapeString}, but the layer normalizes images " +
                $"(N, {C}, H, W)");
        int N = x.Dim(0), S = x.Dim(2) * x.Dim(3);
        _x = x;
        _trainedPass = Training;
        var xs = x.Span;
        var xhat = TensorBuffer.Ensure(ref _xhat, x.Shape).Span;
        var y = TensorBuffer.Ensure(ref _y, x.Shape).Span;
        T eps = T.CreateTruncating(Eps), m = T.CreateTruncating(Momentum), m1 = T.One - m, invM = T.One / T.CreateTruncating(N * S);
        for (int c = 0; c < C; c++)
        {
            T mean, invStd;
            if (Training)
            {
                T sum = T.Zero;
                for (int n = 0; n < N; n++) sum += TensorPrimitives.Sum<T>(xs.Slice((n * C + c) * S, S));
                mean = sum * invM;
                T squares = T.Zero;
                for (int n = 0; n < N; n++)
                {
                    var xh = xhat.Slice((n * C + c) * S, S);
                    TensorPrimitives.Subtract(xs.Slice((n * C + c) * S, S), mean, xh);
                    squares += TensorPrimitives.SumOfSquares<T>(xh);
                }
                T var = squares * invM;
                invStd = T.One / T.Sqrt(var + eps);
                RunningMean.Span[c] = m * RunningMean.Span[c] + m1 * mean;
                RunningVar.Span[c] = m * RunningVar.Span[c] + m1 * var;
                for (int n = 0; n < N; n++)
                {
                    var xh = xhat.Slice((n * C + c) * S, S);
                    TensorPrimitives.Multiply(xh, invStd, xh);
                }
            }
            else
            {
                mean = RunningMean.Span[c];
                invStd = T.One / T.Sqrt(RunningVar.Span[c] + eps);
                for (int n = 0; n < N; n++)
                {
                    var xh = xhat.Slice((n * C + c) * S, S);
                    TensorPrimitives.Subtract(xs.Slice((n * C + c) * S, S), mean, xh);
                    TensorPrimitives.Multiply(xh, invStd, xh);
                }
            }
            _invStd[c] = invStd;
            for (int n = 0; n < N; n++)
            {
                var yc = y.Slice((n * C + c) * S, S);
                TensorPrimitives.Multiply(xhat.Slice((n * C + c) * S, S), gamma.Span[c], yc);
                TensorPrimitives.Add(yc, beta.Span[c], yc);
            }
        }
        return _y!;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var x = RequireForward(_x);
        CheckDout(dout, x.Shape);
        int N = x.Dim(0), C = gamma.Length, S = x.Dim(2) * x.Dim(3);
        var dx = TensorBuffer.Ensure(ref _dx, x.Shape);
        var dxs = dx.Span;
        var ds = dout.Span;
        var xhat = _xhat!.Span;
        var dgamma = GammaGrad;
        var dbeta = BetaGrad;
        T invM = T.One / T.CreateTruncating(N * S);
        for (int c = 0; c < C; c++)
        {
            T sumD = T.Zero, sumDX = T.Zero;
            for (int n = 0; n < N; n++)
            {
                var d = ds.Slice((n * C + c) * S, S);
                sumD += TensorPrimitives.Sum<T>(d);
                sumDX += TensorPrimitives.Dot<T>(d, xhat.Slice((n * C + c) * S, S));
            }
            dbeta[c] = sumD;
            dgamma[c] = sumDX;
            T scale = gamma.Span[c] * _invStd[c];
            if (!_trainedPass)
            {
                for (int n = 0; n < N; n++) TensorPrimitives.Multiply(ds.Slice((n * C + c) * S, S), scale, dxs.Slice((n * C + c) * S, S));
                continue;
            }
            T meanD = sumD * invM, meanDX = sumDX * invM;
            for (int n = 0; n < N; n++)
            {
                var o = dxs.Slice((n * C + c) * S, S);
                TensorPrimitives.Multiply(xhat.Slice((n * C + c) * S, S), meanDX, o);          // x̂·mean(dout·x̂)
                TensorPrimitives.Subtract(ds.Slice((n * C + c) * S, S), o, o);
                TensorPrimitives.Subtract(o, meanD, o);
                TensorPrimitives.Multiply(o, scale, o);
            }
        }
        return dx;
    }
}
