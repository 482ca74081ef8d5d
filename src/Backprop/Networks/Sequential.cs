using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Layers;
using Backprop.Losses;

namespace Backprop.Networks;

/// <summary>
/// A chain of layers ending in a loss. The forward pass runs the layers in order; the backward pass runs them in
/// reverse, each turning ∂L/∂(its output) into ∂L/∂(its input): the chain rule, one layer at a time.
/// </summary>
public sealed class Sequential<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Layer<T>[] _layers;
    // The fusion plan the last forward pass ran (the group starting at each layer, or null), which its backward follows.
    private FusedLayers?[]? _ran;
    private FusedLayers?[]? _plan;   // the fusion plan: the group that starts at layer i, or null; made once per setting

    // A layer that can run the ReLU after it (and the pooling layer after that) in its own passes, with them: as one layer
    // for the backward pass, its backward the fused one and its parameters the first layer's (so that a step that updates
    // as it goes, SGD's, updates them after it). Its epilogue, handed to the layer, carries the fused pass's state.
    private sealed class FusedLayers(Layer<T> first, Relu<T> relu, PoolingLayer<T>? pool) : Layer<T>
    {
        public Relu<T> Relu => relu;
        public PoolingLayer<T>? Pool => pool;
        public Epilogue<T> Epilogue { get; } = new(pool);
        public int Length => pool is null ? 1 : 2;
        public override string Kind => first.Kind;
        public override IReadOnlyList<Parameter<T>> Parameters => first.Parameters;
        public override Tensor<T> Forward(Tensor<T> x) => ((IReluFusable<T>)first).ForwardFused(x, Epilogue);
        public override Tensor<T> Backward(Tensor<T> dout) => Backward(dout, needDx: true)!;
        public override Tensor<T>? Backward(Tensor<T> dout, bool needDx) =>
            ((IReluFusable<T>)first).BackwardFused(dout, needDx, Epilogue);
    }

    // The fused groups, decided once, in one place: a layer that can fuse (IReluFusable) followed by a ReLU, and with
    // FusePool the pooling layer after that ReLU.
    private FusedLayers?[] Plan()
    {
        if (_plan is not null) return _plan;
        var plan = new FusedLayers?[_layers.Length];
        for (int i = 0; FuseRelu && i + 1 < _layers.Length; i++)
        {
            if (_layers[i] is not IReluFusable<T> || _layers[i + 1] is not Relu<T> relu) continue;
            var pool = FusePool && i + 2 < _layers.Length ? _layers[i + 2] as PoolingLayer<T> : null;
            plan[i] = new FusedLayers(_layers[i], relu, pool);
            i += plan[i]!.Length;
        }
        return _plan = plan;
    }

    /// <summary>Creates the network from its layers and its loss.</summary>
    public Sequential(IEnumerable<Layer<T>> layers, Loss<T> loss)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(loss);
        _layers = layers.ToArray();
        for (int i = 0; i < _layers.Length; i++)
            if (_layers[i] is null) throw new ArgumentNullException(nameof(layers), $"Sequential: layer {i} is null");
        Loss = loss;
        Parameters = _layers.SelectMany(l => l.Parameters).ToArray();
    }

    /// <summary>The layers, first to last.</summary>
    public IReadOnlyList<Layer<T>> Layers => _layers;

    /// <summary>The loss after the last layer.</summary>
    public Loss<T> Loss { get; }

    /// <summary>Every parameter of every layer, in layer order, with its gradient.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Switches every layer between training and inference behaviour.</summary>
    public bool Training
    {
        get => _layers.Length == 0 || _layers[0].Training;
        set { foreach (var l in _layers) l.Training = value; }
    }

    /// <summary>The output of the last layer (the logits), without the loss.</summary>
    public Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var _ = Enter();
        var plan = _ran = Plan();
        for (int i = 0; i < _layers.Length; i++)
        {
            if (plan[i] is { } group)
            {
                var y = group.Forward(x);
                group.Relu.Clear();   // it ran inside the layer's pass, and its backward pass runs inside the layer's too
                x = group.Epilogue.Output(y);
                i += group.Length;
                continue;
            }
            x = _layers[i].Forward(x);
        }
        return x;
    }

    /// <summary>Whether a ReLU runs inside the layer before it where that layer can (a convolution), and with
    /// <see cref="FusePool"/> a pooling layer after that ReLU too; on by default, off in the tests that compare.</summary>
    internal bool FuseRelu { get => _fuseRelu; set => (_fuseRelu, _plan) = (value, null); }

    private bool _fuseRelu = true, _fusePool = true;

    /// <summary>Whether a pooling layer after a fused ReLU runs inside the same layer (with <see cref="FuseRelu"/>).</summary>
    internal bool FusePool { get => _fusePool; set => (_fusePool, _plan) = (value, null); }

    /// <summary>Runs the layers and the loss; returns the loss.</summary>
    public T ComputeLoss(Tensor<T> x, Tensor<T> t)
    {
        ArgumentNullException.ThrowIfNull(t);
        using var _ = Enter();
        return Loss.Forward(Forward(x), t);
    }

    /// <summary>Backpropagates from the loss with dout = 1; every parameter's gradient is stored. Returns ∂L/∂x.</summary>
    public Tensor<T> Backward() => Backward(T.One);

    /// <summary>Backpropagates from the loss (scaled by <paramref name="dout"/>) to the input; every parameter's gradient is stored.
    /// Returns ∂L/∂x.</summary>
    public Tensor<T> Backward(T dout) => Backward(dout, inputGradient: true)!;

    /// <summary>
    /// The backward pass: the loss's, then every layer's from last to first, each turning ∂L/∂(its output) into
    /// ∂L/∂(its input). Without <paramref name="inputGradient"/> the first layer may skip ∂L/∂x (training needs only the
    /// parameters' gradients) and the result is null. <paramref name="via"/>, when given, runs each layer's step instead
    /// of its plain backward pass (an optimizer that updates parameters as the pass goes).
    /// </summary>
    public Tensor<T>? Backward(T dout, bool inputGradient, ILayerBackward<T>? via = null)
    {
        using var _ = Enter();
        Tensor<T>? d = Loss.Backward(dout);
        for (int i = _layers.Length - 1; i >= 0; i--)
        {
            // The ReLU's backward (and the pooling layer's) inside its layer's, as one layer for a step that updates as it goes.
            if (i > 1 && _ran?[i - 2] is { Length: 2 }) i -= 2;
            else if (i > 0 && _ran?[i - 1] is { Length: 1 }) i--;
            bool needDx = i > 0 || inputGradient;
            var layer = (Layer<T>?)_ran?[i] ?? _layers[i];
            d = via is not null ? via.Backward(layer, d!, needDx) : layer.Backward(d!, needDx);
            if (needDx && d is null)
                throw new InvalidOperationException($"{_layers[i].GetType().Name} returned no dx although one was needed");
        }
        return inputGradient ? d : null;
    }

    // A network (its layers' buffers and cached inputs) serves one thread at a time: a second thread entering while the
    // first is inside gets an exception instead of silently wrong outputs. The owner may re-enter (ComputeLoss → Forward).
    private int _owner, _depth;

    private Guard Enter()
    {
        int me = Environment.CurrentManagedThreadId;
        if (Interlocked.CompareExchange(ref _owner, me, 0) is int other && other != 0 && other != me)
            throw new InvalidOperationException("Sequential: the network is in use by another thread; a network, its layers and its " +
                "trainer serve one thread at a time (build one network per thread to run several)");
        _depth++;
        return new Guard(this);
    }

    private readonly struct Guard(Sequential<T> net) : IDisposable
    {
        public void Dispose()
        {
            if (--net._depth == 0) Volatile.Write(ref net._owner, 0);
        }
    }

    /// <summary>
    /// The classes and class probabilities of a classifier (a network ending in softmax cross-entropy) for inputs x,
    /// in inference mode (dropout off, batch normalization on running statistics).
    /// </summary>
    public Prediction<T> Predict(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!Loss.Classifies)
            throw new InvalidInputException($"Predict gives classes for a classifier (a loss that classifies, as softmax_cross_entropy); " +
                $"this network's loss is {Loss.Kind}: use Infer for its outputs");
        var scores = Infer(x);
        if (scores.Rank != 2) throw new ShapeMismatchException($"Predict: the network's output has shape {scores.ShapeString}, not (B, " +
            $"classes)");
        int B = scores.Dim(0), C = scores.Dim(1);
        var p = Tensor<T>.Zeros(B, C);
        var classes = new int[B];
        for (int i = 0; i < B; i++)
        {
            var row = scores.Span.Slice(i * C, C);
            Loss.ProbabilitiesOf(row, p.Span.Slice(i * C, C));
            classes[i] = TensorPrimitives.IndexOfMax<T>(row);
        }
        return new Prediction<T>(classes, p);
    }

    /// <summary>
    /// The layers, their parameters and the loss in one line (<see cref="NetworkSummary"/> gives the table with output
    /// shapes, which runs a sample through; a debugger's call of ToString must not touch what a backward pass needs).
    /// </summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"Sequential<{typeof(T).Name}>: {string.Join(", ", _layers.Select(Short))}; " +
        $"{Parameters.Sum(p => (long)p.Value.Length):N0} parameters; loss {Loss.Kind}");

    private static string Short(Layer<T> l) => l is FullyConnected<T> fc ? $"{l.Kind}({fc.Inputs}→{fc.Outputs})" : l.Kind;

    /// <summary>The network's output for x in inference mode, as a copy the caller keeps; the training mode is restored after.</summary>
    public Tensor<T> Infer(Tensor<T> x)
    {
        bool was = Training;
        Training = false;
        try { return Forward(x).Clone(); }
        finally { Training = was; }
    }
}

/// <summary>How one layer's backward pass runs inside <see cref="Sequential{T}.Backward(T, bool, ILayerBackward{T})"/>.</summary>
public interface ILayerBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Runs <paramref name="layer"/>'s backward pass for dout; returns dx (null allowed only without <paramref
    /// name="needDx"/>).</summary>
    Tensor<T>? Backward(Layer<T> layer, Tensor<T> dout, bool needDx);
}

/// <summary>A classifier's answer: the most probable class of each sample and every class's probability (B, C).</summary>
public sealed record Prediction<T>(int[] Classes, Tensor<T> Probabilities) where T : unmanaged, IFloatingPointIeee754<T>;
