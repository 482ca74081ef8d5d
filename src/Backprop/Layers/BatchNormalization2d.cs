using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Kernels;

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
    private Tensor<T>? _x, _y, _dx;
    private readonly T[] _mean, _invStd;
    private bool _trainedPass;

    /// <summary>Creates the layer for <paramref name="channels"/> channels (γ = 1, β = 0).</summary>
    public BatchNormalization2d(int channels, double momentum = 0.9, double eps = 1e-5) : base(channels, "channels", momentum, eps)
    {
        _mean = new T[channels];
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
        _x = x;
        _trainedPass = Training;
        TensorBuffer.Ensure(ref _y, x.Shape);
        RunChannels(forward: true, x);
        return _y!;
    }

    // Each channel on its own (its statistics, its values, its gradients), so the channels are shared between the cores
    // and each is computed alike whichever core runs it: results do not depend on the thread count.
    private void RunChannels(bool forward, Tensor<T> x)
    {
        int C = gamma.Length;
        int parts = Math.Min(Math.Min(Parallelism.MaxThreads, WorkerPool.Shared.Capacity), C);
        if (x.Length < ActivationLayer<T>.ParallelElements || parts < 2)
        {
            for (int c = 0; c < C; c++)
                if (forward) ForwardChannel(c);
                else BackwardChannel(c);
            return;
        }
        var job = _job ??= new ChannelJob(this);
        job.Forward = forward;
        WorkerPool.Shared.Run(job, parts);
    }

    private ChannelJob? _job;

    private sealed class ChannelJob(BatchNormalization2d<T> layer) : WorkerPool.IJob
    {
        public bool Forward;

        public void Execute(int part, int parts)
        {
            var (lo, hi) = WorkerPool.Part(layer.gamma.Length, 1, part, parts);
            for (int c = lo; c < hi; c++)
                if (Forward) layer.ForwardChannel(c);
                else layer.BackwardChannel(c);
        }
    }

    private void ForwardChannel(int c)
    {
        var x = _x!;
        int N = x.Dim(0), C = gamma.Length, S = x.Dim(2) * x.Dim(3);
        T mean, invStd;
        if (Training)
        {
            var (mu, variance) = BatchNormKernels.Statistics<T>(x.Span, c, N, C, S);
            double m = Momentum;
            mean = T.CreateTruncating(mu);
            invStd = T.CreateTruncating(1 / Math.Sqrt(variance + Eps));
            RunningMean.Span[c] = T.CreateTruncating(m * double.CreateTruncating(RunningMean.Span[c]) + (1 - m) * mu);
            RunningVar.Span[c] = T.CreateTruncating(m * double.CreateTruncating(RunningVar.Span[c]) + (1 - m) * variance);
        }
        else
        {
            mean = RunningMean.Span[c];
            invStd = T.One / T.Sqrt(RunningVar.Span[c] + T.CreateTruncating(Eps));
        }
        _mean[c] = mean;
        _invStd[c] = invStd;
        BatchNormKernels.Normalize(x.Span, _y!.Span, c, N, C, S, mean, invStd, gamma.Span[c], beta.Span[c]);
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var x = RequireForward(_x);
        CheckDout(dout, x.Shape);
        TensorBuffer.Ensure(ref _dx, x.Shape);
        _dout = dout;
        try { RunChannels(forward: false, x); }
        finally { _dout = null; }
        return _dx!;
    }

    private Tensor<T>? _dout;

    private void BackwardChannel(int c)
    {
        var x = _x!;
        int N = x.Dim(0), C = gamma.Length, S = x.Dim(2) * x.Dim(3);
        var (sumD, sumDX) = BatchNormKernels.GradientSums<T>(_dout!.Span, x.Span, c, N, C, S, _mean[c], _invStd[c]);
        BetaGrad[c] = T.CreateTruncating(sumD);
        GammaGrad[c] = T.CreateTruncating(sumDX);
        T scale = gamma.Span[c] * _invStd[c];
        // In inference the statistics are constants: dx = γ·invStd·dout.
        T meanD = _trainedPass ? T.CreateTruncating(sumD / ((double)N * S)) : T.Zero;
        T meanDX = _trainedPass ? T.CreateTruncating(sumDX / ((double)N * S)) : T.Zero;
        BatchNormKernels.InputGradient<T>(_dout.Span, x.Span, _dx!.Span, c, N, C, S, _mean[c], _invStd[c], scale, meanD, meanDX);
    }
}
