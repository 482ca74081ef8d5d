using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>
/// The fully connected (affine) layer of the textbook: y = x·W + b.
/// </summary>
/// <remarks>
/// x has shape (B, d1, d2, …) with d1·d2·… = N and is flattened row-major to (B, N); W is N×M, b has M entries,
/// y is (B, M). Backward: dx = dout·Wᵀ reshaped to x's shape, dW = xᵀ·dout, db = Σ_batch dout.
/// Each backward pass overwrites dW and db.
/// </remarks>
[LayerKind("fully_connected")]
public sealed class FullyConnected<T> : Layer<T>, ISgdFusable<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _x, _y, _dx, _scaled;
    private readonly Parameter<T>[] _parameters;

    /// <summary>Builds the layer from W (N×M) and b (M); both are used as given, not copied.</summary>
    public FullyConnected(Tensor<T> W, Tensor<T> b)
    {
        ArgumentNullException.ThrowIfNull(W);
        ArgumentNullException.ThrowIfNull(b);
        if (W.Rank != 2)
            throw new ShapeMismatchException($"FullyConnected: W must be a matrix (N, M), but has shape {W.ShapeString}");
        if (b.Rank != 1 || b.Dim(0) != W.Dim(1))
            throw new ShapeMismatchException($"FullyConnected: b has shape {b.ShapeString}, but W has shape {W.ShapeString}, so b must " +
                $"have shape ({W.Dim(1)},)");
        this.W = W;
        this.b = b;
        dW = Tensor<T>.Zeros(W.Dim(0), W.Dim(1));
        db = Tensor<T>.Zeros(W.Dim(1));
        _parameters = [new("W", W, dW, ParameterRole.Weight), new("b", b, db, ParameterRole.Bias)];
        Hyperparameters = new Dictionary<string, object> { ["inputs"] = W.Dim(0), ["outputs"] = W.Dim(1) };
    }

    /// <summary>
    /// A layer of <paramref name="inputs"/>×<paramref name="outputs"/> with W drawn by <paramref name="init"/> (He by
    /// default, as for ReLU networks) from <paramref name="rng"/> (by default a generator forked from the process-wide
    /// one, see <see cref="Rng.Fork"/>) and b = 0.
    /// </summary>
    public FullyConnected(int inputs, int outputs, Initialization init = Initialization.He, Rng? rng = null, double normalStd = 0.01)
        : this(Sized(inputs, outputs), Tensor<T>.Zeros(Math.Max(outputs, 0)))
    {
        Initializer.Fill(W, init, rng ?? Rng.Fork(), normalStd);
    }

    private static Tensor<T> Sized(int inputs, int outputs)
    {
        if (inputs < 1 || outputs < 1)
            throw new InvalidInputException($"FullyConnected: inputs and outputs must be at least 1, not {inputs} and {outputs}");
        return Tensor<T>.Zeros(inputs, outputs);
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Hyperparameters { get; }

#pragma warning disable IDE1006 // the textbook's names
    /// <summary>The weights, N×M.</summary>
    public Tensor<T> W { get; }
    /// <summary>The bias, M entries.</summary>
    public Tensor<T> b { get; }
    /// <summary>∂L/∂W from the last backward pass, N×M.</summary>
    public Tensor<T> dW { get; }
    /// <summary>∂L/∂b from the last backward pass, M entries.</summary>
    public Tensor<T> db { get; }
#pragma warning restore IDE1006

    /// <summary>N, the number of input features.</summary>
    public int Inputs => W.Dim(0);

    /// <summary>M, the number of outputs.</summary>
    public int Outputs => W.Dim(1);

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>y = x·W + b, shape (B, M).</summary>
    public override Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        int N = Inputs, M = Outputs;
        if (x.Rank < 2)
            throw new ShapeMismatchException($"FullyConnected: x has shape {x.ShapeString}, but must be a batch (B, …) whose trailing " +
                $"dimensions flatten to {N}");
        int B = x.Dim(0);
        long features = B == 0 ? Tensor<T>.CheckedLength(x.Shape[1..]) : x.Length / B;
        if (features != N)
        {
            string how = x.Rank == 2 ? "" : $" after flattening {Tensor<T>.ShapeText(x.Shape[1..])}";
            throw new ShapeMismatchException($"FullyConnected: x has shape {x.ShapeString}, {features} features per sample{how}, but W " +
                $"has shape {W.ShapeString} and expects {N}");
        }
        _x = x;
        var y = TensorBuffer.Ensure(ref _y, B, M);                              // (B, M)
        if (IsTiny(B, N, M)) TinyForward(x.Span, W.Span, b.Span, y.Span, B, N, M);
        else Gemm.Multiply<T>(transA: false, transB: false, B, M, N, x.Span, N, W.Span, M, y.Span, M, b.Span);
        return y;
    }

    /// <summary>dx = dout·Wᵀ (x's shape); stores dW = xᵀ·dout and db = Σ_batch dout.</summary>
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var x = RequireForward(_x);
        int B = x.Dim(0), N = Inputs, M = Outputs;
        CheckDout(dout, [B, M]);
        var dx = TensorBuffer.Ensure(ref _dx, x.Shape);                          // x's shape, (B, N) flat
        ComputeDx(dout, dx, B, N, M);
        ComputeGradients(x, dout, B, N, M);
        return dx;
    }

    /// <summary>Without <paramref name="needDx"/>, stores dW and db and skips the dx = dout·Wᵀ product (a third of the work).</summary>
    public override Tensor<T>? Backward(Tensor<T> dout, bool needDx)
    {
        if (needDx) return Backward(dout);
        var x = RequireForward(_x);
        int B = x.Dim(0), N = Inputs, M = Outputs;
        CheckDout(dout, [B, M]);
        ComputeGradients(x, dout, B, N, M);
        return null;
    }

    // dx = dout·Wᵀ, (B, N) flat.
    private void ComputeDx(Tensor<T> dout, Tensor<T> dx, int B, int N, int M)
    {
        if (IsTiny(B, N, M)) TinyDx(W.Span, dout.Span, dx.Span, B, N, M);
        else Gemm.Multiply<T>(transA: false, transB: true, B, N, M, dout.Span, M, W.Span, M, dx.Span, N);
    }

    // dW = xᵀ·dout (N, M) and db = Σ_batch dout (M,), summed by the product as it packs dout.
    private void ComputeGradients(Tensor<T> x, Tensor<T> dout, int B, int N, int M)
    {
        if (IsTiny(B, N, M)) TinyGradients(x.Span, dout.Span, dW.Span, db.Span, B, N, M);
        else Gemm.Multiply<T>(transA: true, transB: false, N, M, B, x.Span, N, dout.Span, M, dW.Span, M, columnSums: db.Span);
    }

    // Products this small (the textbook's 2×2×3) cost less than setting up a GEMM call: plain loops instead.
    private const long TinyWork = 64;

    private static bool IsTiny(int B, int N, int M) => (long)B * N * M <= TinyWork;

    private static void TinyForward(ReadOnlySpan<T> x, ReadOnlySpan<T> W, ReadOnlySpan<T> b, Span<T> y, int B, int N, int M)
    {
        for (int i = 0; i < B; i++)
            for (int j = 0; j < M; j++)
            {
                T s = T.Zero;
                for (int k = 0; k < N; k++) s += x[i * N + k] * W[k * M + j];
                y[i * M + j] = s + b[j];
            }
    }

    private static void TinyDx(ReadOnlySpan<T> W, ReadOnlySpan<T> dout, Span<T> dx, int B, int N, int M)
    {
        for (int i = 0; i < B; i++)
            for (int k = 0; k < N; k++)
            {
                T s = T.Zero;
                for (int j = 0; j < M; j++) s += dout[i * M + j] * W[k * M + j];
                dx[i * N + k] = s;
            }
    }

    private static void TinyGradients(ReadOnlySpan<T> x, ReadOnlySpan<T> dout, Span<T> dW, Span<T> db, int B, int N, int M)
    {
        for (int k = 0; k < N; k++)
            for (int j = 0; j < M; j++)
            {
                T s = T.Zero;
                for (int i = 0; i < B; i++) s += x[i * N + k] * dout[i * M + j];
                dW[k * M + j] = s;
            }
        for (int j = 0; j < M; j++)
        {
            T s = T.Zero;
            for (int i = 0; i < B; i++) s += dout[i * M + j];
            db[j] = s;
        }
    }

    /// <summary>
    /// The backward pass fused with a plain SGD step: returns dx (computed with the weights before the step; null unless
    /// <paramref name="needDx"/>) and updates W ← W − lr·xᵀ·dout and b ← b − lr·Σ_batch dout in place.
    /// </summary>
    /// <remarks>
    /// One accumulating product W += xᵀ·(−lr·dout) replaces writing dW, reading it back and a separate update pass over
    /// W: two passes over the weights instead of four. dW is not written; db holds Σ_batch dout.
    /// </remarks>
    public Tensor<T>? BackwardSgd(Tensor<T> dout, T lr, bool needDx)
    {
        var x = RequireForward(_x);
        int B = x.Dim(0), N = Inputs, M = Outputs;
        CheckDout(dout, [B, M]);
        Tensor<T>? dx = null;
        if (needDx)
        {
            dx = TensorBuffer.Ensure(ref _dx, x.Shape);
            ComputeDx(dout, dx, B, N, M);
        }
        var scaled = TensorBuffer.Ensure(ref _scaled, B, M);
        TensorPrimitives.Multiply(dout.Span, -lr, scaled.Span);
        Gemm.Multiply<T>(transA: true, transB: false, N, M, B, x.Span, N, scaled.Span, M, W.Span, M, accumulate: true);
        Gemm.ColumnSums(dout.Span, B, M, db.Span);
        TensorPrimitives.MultiplyAdd(db.Span, -lr, b.Span, b.Span);
        return dx;
    }
}
