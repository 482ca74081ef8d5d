using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

/// <summary>What a parameter is to the layer that owns it; optimizers decide per role (weight decay applies to weights only).</summary>
public enum ParameterRole
{
    /// <summary>A weight matrix or filter bank (W): L2 weight decay applies.</summary>
    Weight,
    /// <summary>An additive bias (b): never decayed.</summary>
    Bias,
    /// <summary>A normalization scale (γ): never decayed.</summary>
    NormScale,
    /// <summary>A normalization shift (β): never decayed.</summary>
    NormShift,
}

/// <summary>A trainable tensor and the gradient of the loss with respect to it, as the last backward pass stored it.</summary>
/// <param name="Name">The textbook's name, e.g. <c>W</c> or <c>b</c>; names a tensor in saved models.</param>
/// <param name="Value">The parameter, updated in place by optimizers.</param>
/// <param name="Grad">∂L/∂Value, same shape, overwritten by every backward pass.</param>
/// <param name="Role">What the parameter is, which decides weight decay.</param>
public sealed record Parameter<T>(string Name, Tensor<T> Value, Tensor<T> Grad, ParameterRole Role) where T : unmanaged,
    IFloatingPointIeee754<T>
{
    /// <summary>True when L2 weight decay applies to this parameter (weights, not biases or normalization parameters).</summary>
    public bool Decays => Role == ParameterRole.Weight;
}

/// <summary>
/// A capability a layer may offer: its backward pass fused with a plain SGD step (W ← W − lr·dW applied inside the
/// gradient product, without writing dW). An optimizer that runs plain SGD uses it where a layer has it.
/// </summary>
public interface ISgdFusable<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// Returns dx (computed with the parameters before the step; null unless <paramref name="needDx"/>) and updates every
    /// parameter p ← p − lr·∂L/∂p in place.
    /// </summary>
    Tensor<T>? BackwardSgd(Tensor<T> dout, T lr, bool needDx);
}

/// <summary>
/// A layer that can run the ReLU that follows it inside its own passes, while each chunk of its output is still in cache,
/// instead of the ReLU reading and writing the whole tensor again, and the pooling layer after that ReLU too, as an
/// <see cref="Epilogue{T}"/> that <see cref="Networks.Sequential{T}"/>'s fusion plan hands it. The results are those of the
/// layers run apart, bit for bit.
/// </summary>
internal interface IReluFusable<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>relu(layer(x)) in the layer's own output buffer, each chunk then through the epilogue's pooling layer if
    /// any; returns the layer's y (which holds nothing where the epilogue drops it).</summary>
    Tensor<T> ForwardFused(Tensor<T> x, Epilogue<T> epilogue);

    /// <summary>The layer's backward pass after <see cref="ForwardFused"/> with the same epilogue, from dout = ∂L/∂ of the
    /// epilogue's output: through the pooling layer (if any) and the ReLU chunk by chunk, then as
    /// <see cref="Layer{T}.Backward(Tensor{T}, bool)"/>.</summary>
    Tensor<T>? BackwardFused(Tensor<T> dout, bool needDx, Epilogue<T> epilogue);
}

/// <summary>A layer that draws random numbers (dropout masks) from a generator of its own, saved in checkpoints.</summary>
public interface IStochasticLayer
{
    /// <summary>The layer's generator.</summary>
    Rng Rng { get; }
}

/// <summary>
/// One layer of a network: <see cref="Forward"/> computes y from x and keeps what the backward pass needs;
/// <see cref="Backward(Tensor{T})"/> takes dout = ∂L/∂y and returns dx = ∂L/∂x, storing the gradients of its parameters.
/// </summary>
/// <remarks>
/// The tensors a layer returns are its own buffers, reused on the next call (no allocation in a training step):
/// copy them (<see cref="Tensor{T}.Clone"/>) to keep them. A layer keeps a reference to its input x until the
/// backward pass, as the textbook's layers do, so x must not change in between. dout is never modified.
/// </remarks>
public abstract class Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The kind's name as the command line spells it, e.g. <c>fully_connected</c>: the class's <see cref="LayerKindAttribute"/>
    /// (where the name is written once, for the layer and its registry entry alike), else the class's name in lower case.
    /// </summary>
    public virtual string Kind => LayerKindAttribute.NameOf(GetType());

    /// <summary>True while training (dropout drops, batch normalization uses batch statistics).</summary>
    public bool Training { get; set; } = true;

    /// <summary>y = f(x).</summary>
    public abstract Tensor<T> Forward(Tensor<T> x);

    /// <summary>dx = ∂L/∂x from dout = ∂L/∂y; stores the parameters' gradients.</summary>
    public abstract Tensor<T> Backward(Tensor<T> dout);

    /// <summary>
    /// dx = ∂L/∂x from dout, or null when <paramref name="needDx"/> is false and the layer can skip computing it (the
    /// first layer of a network, whose input needs no gradient); the parameters' gradients are stored either way.
    /// </summary>
    public virtual Tensor<T>? Backward(Tensor<T> dout, bool needDx) => Backward(dout);

    /// <summary>The layer's parameters with their gradients (empty for layers without any).</summary>
    public virtual IReadOnlyList<Parameter<T>> Parameters => [];

    /// <summary>
    /// State that is not trained by gradients but belongs to the model and is saved with it (batch normalization's
    /// running statistics), by name.
    /// </summary>
    public virtual IReadOnlyList<(string Name, Tensor<T> Value)> Buffers => [];

    /// <summary>
    /// The hyper-parameters that, with <see cref="Kind"/>, rebuild this layer (sizes, alpha, p, …): what a saved model
    /// records of it besides its tensors. Values are <see cref="int"/>, <see cref="double"/>, <see cref="bool"/> or
    /// <see cref="string"/>.
    /// </summary>
    public virtual IReadOnlyDictionary<string, object> Hyperparameters => EmptyHyperparameters;

    private static readonly IReadOnlyDictionary<string, object> EmptyHyperparameters = new Dictionary<string, object>();

    /// <summary>Throws unless a forward pass came first.</summary>
    protected Tensor<T> RequireForward(Tensor<T>? x) =>
        x ?? throw new InvalidInputException($"{Name}: Backward was called before Forward");

    /// <summary>Throws a <see cref="ShapeMismatchException"/> unless dout has the shape of y.</summary>
    protected void CheckDout(Tensor<T> dout, ReadOnlySpan<int> expected)
    {
        ArgumentNullException.ThrowIfNull(dout);
        if (!dout.HasShape(expected))
            throw new ShapeMismatchException($"{Name}: dout has shape {dout.ShapeString}, but the forward output y has " +
                $"shape {Tensor<T>.ShapeText(expected)}; they must match");
    }

    /// <summary>The layer's name in messages, e.g. <c>FullyConnected</c>.</summary>
    protected virtual string Name => GetType().Name.Split('`')[0];
}

/// <summary>
/// An element-wise activation: y = f(x) and dx = dout·f′(x), shape preserved.
/// </summary>
public abstract class ActivationLayer<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Element counts from which both cores share the work (below it a second thread costs more than it saves).
    internal const int ParallelElements = 1 << 15;

    private Tensor<T>? _x, _y, _dx;
    private ChunkJob? _job;

    /// <summary>Drops the last forward pass: the network ran this activation inside the layer before it (its fused
    /// epilogue), so the activation has no pass of its own to go back through until its next forward pass.</summary>
    internal void Clear() => _x = null;

    /// <summary>The input of the last forward pass.</summary>
    protected Tensor<T> X => _x!;

    /// <summary>The output of the last forward pass.</summary>
    protected Tensor<T> Y => _y!;

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        _x = x;
        var y = TensorBuffer.Ensure(ref _y, x.Shape);
        Run(forward: true, x, y, y, y);
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var x = _x ?? throw new InvalidOperationException($"{Name}: Backward was called before Forward, or after a network's " +
            "forward pass that ran this activation inside the layer before it (its backward pass runs there too)");
        CheckDout(dout, x.Shape);
        var dx = TensorBuffer.Ensure(ref _dx, x.Shape);
        Run(forward: false, x, _y!, dout, dx);
        return dx;
    }

    private unsafe void Run(bool forward, Tensor<T> x, Tensor<T> y, Tensor<T> dout, Tensor<T> dst)
    {
        int n = x.Length;
        int parts = Math.Min(Parallelism.MaxThreads, WorkerPool.Shared.Capacity);
        if (n < ParallelElements || parts < 2)
        {
            if (forward) Apply(x.Span, y.Span);
            else Derive(x.Span, y.Span, dout.Span, dst.Span);
            return;
        }
        fixed (T* px = x.Span, py = y.Span, pd = dout.Span, po = dst.Span)
        {
            var job = _job ??= new ChunkJob(this);
            job.Set(forward, px, py, pd, po, n);
            WorkerPool.Shared.Run(job, parts);
        }
    }

    /// <summary>y = f(x).</summary>
    protected abstract void Apply(ReadOnlySpan<T> x, Span<T> y);

    /// <summary>dx = dout·f′(x), given x and y = f(x).</summary>
    protected abstract void Derive(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dout, Span<T> dx);

    // Splits one element-wise pass into contiguous chunks, one per thread, aligned to 64 elements.
    private sealed unsafe class ChunkJob(ActivationLayer<T> layer) : WorkerPool.IJob
    {
        private bool _forward;
        private T* _x, _y, _dout, _dst;
        private int _n;

        public void Set(bool forward, T* x, T* y, T* dout, T* dst, int n)
        {
            _forward = forward; _x = x; _y = y; _dout = dout; _dst = dst; _n = n;
        }

        public void Execute(int part, int parts)
        {
            var (lo, hi) = WorkerPool.Part(_n, 64, part, parts);
            int len = hi - lo;
            if (len <= 0) return;
            if (_forward) layer.Apply(new ReadOnlySpan<T>(_x + lo, len), new Span<T>(_y + lo, len));
            else layer.Derive(new ReadOnlySpan<T>(_x + lo, len), new ReadOnlySpan<T>(_y + lo, len), new ReadOnlySpan<T>(_dout + lo, len),
                new Span<T>(_dst + lo, len));
        }
    }
}

/// <summary>
/// The kind name of a layer class, as files and the command line spell it (lower case, underscores). Written once, on the
/// class: the layer's <see cref="Layer{T}.Kind"/> and its registry entry both read it.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class LayerKindAttribute(string name) : Attribute
{
    /// <summary>The kind name.</summary>
    public string Name { get; } = name;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, string> Names = new();

    /// <summary>The kind name of a layer class (a constructed generic type or its definition).</summary>
    public static string NameOf(Type layerType)
    {
        ArgumentNullException.ThrowIfNull(layerType);
        return Names.GetOrAdd(layerType, t =>
        {
            var d = t.IsGenericType ? t.GetGenericTypeDefinition() : t;
            return d.GetCustomAttributes(typeof(LayerKindAttribute), inherit: false) is [LayerKindAttribute a, ..] ? a.Name
                : d.Name.Split('`')[0].ToLowerInvariant();
        });
    }
}
