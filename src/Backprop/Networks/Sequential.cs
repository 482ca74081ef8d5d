using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Layers;
using Backprop.Losses;

namespace Backprop.Networks;

/// <summary>
/// A chain of layers ending in a loss. The forward pass runs the layers in order; the backward pass runs them in
/// reverse, each turning ∂L/∂(its output) into ∂L/∂(its input): the chain rule, one layer at a time.
/// </summary>
public sealed class Sequential<T> : Network<T> where T : unmanaged, IFloatingPointIeee754<T>
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
    public Sequential(IEnumerable<Layer<T>> layers, Loss<T> loss) : base(loss ?? throw new ArgumentNullException(nameof(loss)))
    {
        ArgumentNullException.ThrowIfNull(layers);
        _layers = layers.ToArray();
        for (int i = 0; i < _layers.Length; i++)
            if (_layers[i] is null) throw new ArgumentNullException(nameof(layers), $"Sequential: layer {i} is null");
        Parameters = _layers.SelectMany(l => l.Parameters).ToArray();
    }

    // A run of a graph network's layers (no loss of its own: the graph's backward pass enters it through BackwardFrom).
    internal Sequential(Layer<T>[] layers) : base(null!)
    {
        _layers = layers;
        Parameters = _layers.SelectMany(l => l.Parameters).ToArray();
    }

    /// <summary>The layers, first to last.</summary>
    public override IReadOnlyList<Layer<T>> Layers => _layers;

    /// <summary>Every parameter of every layer, in layer order, with its gradient.</summary>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Layer i as node <c>"i"</c>, reading node i − 1 (the first reads x).</summary>
    public override IReadOnlyList<GraphNode<T>> Nodes => _nodes ??=
        [.. _layers.Select((l, i) => GraphNode<T>.Of(i.ToString(System.Globalization.CultureInfo.InvariantCulture), l,
            i == 0 ? "x" : (i - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)))];

    private GraphNode<T>[]? _nodes;

    /// <summary>The output of the last layer (the logits), without the loss.</summary>
    public override Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var _ = Enter();
        var plan = _ran = Plan();
        for (int i = 0; i < _layers.Length; i++)
        {
            Running = i;
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

    /// <summary>The layer the last forward pass ran last (the one that failed, after an exception).</summary>
    internal int Running { get; private set; }

    /// <summary>Whether a ReLU runs inside the layer before it where that layer can (a convolution), and with
    /// <see cref="FusePool"/> a pooling layer after that ReLU too; on by default, off in the tests that compare.</summary>
    internal bool FuseRelu { get => _fuseRelu; set => (_fuseRelu, _plan) = (value, null); }

    private bool _fuseRelu = true, _fusePool = true;

    /// <summary>Whether a pooling layer after a fused ReLU runs inside the same layer (with <see cref="FuseRelu"/>).</summary>
    internal bool FusePool { get => _fusePool; set => (_fusePool, _plan) = (value, null); }

    /// <inheritdoc/>
    internal override Tensor<T>? BackwardFrom(Tensor<T> dout, bool inputGradient, ILayerBackward<T>? via)
    {
        using var _ = Enter();
        Tensor<T>? d = dout;
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

    /// <summary>
    /// The layers, their parameters and the loss in one line (<see cref="NetworkSummary"/> gives the table with output
    /// shapes, which runs a sample through; a debugger's call of ToString must not touch what a backward pass needs).
    /// </summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"Sequential<{typeof(T).Name}>: {string.Join(", ", _layers.Select(Short))}; " +
        $"{Parameters.Sum(p => (long)p.Value.Length):N0} parameters; loss {Loss.Kind}");

    private static string Short(Layer<T> l) => l is FullyConnected<T> fc ? $"{l.Kind}({fc.Inputs}→{fc.Outputs})" : l.Kind;
}
