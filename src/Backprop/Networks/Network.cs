using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Layers;
using Backprop.Losses;

namespace Backprop.Networks;

/// <summary>
/// What every network is to its users (the trainer, the optimizers, model files, evaluation and prediction): layers that
/// run forward from an input to an output, a loss on that output, and a backward pass from the loss to every parameter.
/// Two shapes exist: a chain (<see cref="Sequential{T}"/>) and a directed acyclic graph (<see cref="GraphNetwork{T}"/>).
/// </summary>
public abstract class Network<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private protected Network(Loss<T> loss) => Loss = loss;

    /// <summary>The loss on the output.</summary>
    public Loss<T> Loss { get; }

    /// <summary>Every layer, in the order the forward pass runs them.</summary>
    public abstract IReadOnlyList<Layer<T>> Layers { get; }

    /// <summary>Every parameter of every layer, in layer order, with its gradient.</summary>
    public abstract IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>The nodes in the order they run, each naming what it reads (<c>x</c>, the input, or an earlier node): a graph's
    /// own; a chain's layer i as node <c>"i"</c> reading the one before.</summary>
    public abstract IReadOnlyList<GraphNode<T>> Nodes { get; }

    /// <summary>
    /// Every node's value for <paramref name="x"/>, by node name (and <c>x</c>), each layer run on its own (no fused forms)
    /// and its value copied: what summaries, benchmarks and views show. Runs in the current mode (training or inference)
    /// and leaves each layer's cache at this pass.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor<T>> Trace(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var _ = Enter();
        var values = new Dictionary<string, Tensor<T>> { ["x"] = x };
        foreach (var n in Nodes)
            values[n.Name] = n.Layer is { } layer ? layer.Forward(values[n.Inputs[0]]).Clone()
                : GraphNetwork<T>.Join(n, [.. n.Inputs.Select(i => values[i])]);
        return values;
    }

    /// <summary>The node whose value the loss reads (a chain's last layer; x for no layers).</summary>
    public virtual string OutputNode => Nodes.Count > 0 ? Nodes[^1].Name : "x";

    /// <summary>
    /// Every node's value and ∂L/∂(its value) for <paramref name="x"/> and targets <paramref name="t"/>, by node name (and
    /// x), each layer run on its own forward and back (no fused forms), a value feeding several nodes summing their
    /// gradients in reverse node order: the plain rule, which views show and which the fast passes are tested against.
    /// Every parameter's gradient is stored, as by <see cref="Backward()"/>. Returns the loss too.
    /// </summary>
    public (T Loss, IReadOnlyDictionary<string, Tensor<T>> Values, IReadOnlyDictionary<string, Tensor<T>> Gradients) TraceBackward(
        Tensor<T> x, Tensor<T> t)
    {
        ArgumentNullException.ThrowIfNull(t);
        using var _ = Enter();
        var values = Trace(x);
        T loss = Loss.Forward(values[OutputNode], t);
        var grads = new Dictionary<string, Tensor<T>> { [OutputNode] = Loss.Backward(T.One).Clone() };
        void Add(string name, Tensor<T> g)
        {
            if (grads.TryGetValue(name, out var sum)) TensorPrimitives.Add(sum.Span, g.Span, sum.Span);
            else grads[name] = g.Clone();
        }
        for (int k = Nodes.Count - 1; k >= 0; k--)
        {
            var n = Nodes[k];
            if (!grads.TryGetValue(n.Name, out var d)) continue;
            if (n.Layer is { } layer) Add(n.Inputs[0], layer.Backward(d));
            else if (n.Op == "add") foreach (var i in n.Inputs) Add(i, d);
            else
            {
                int offset = 0;
                foreach (var i in n.Inputs)
                {
                    var v = values[i];
                    Add(i, GraphNetwork<T>.Slice(d, Tensor<T>.Zeros(v.Shape.ToArray()), offset));
                    offset += v.Dim(1);
                }
            }
        }
        return (loss, values, grads);
    }

    /// <summary>Switches every layer between training and inference behaviour.</summary>
    public bool Training
    {
        get => Layers.Count == 0 || Layers[0].Training;
        set { foreach (var l in Layers) l.Training = value; }
    }

    /// <summary>The network's output for x (the logits), without the loss; valid until the next pass.</summary>
    public abstract Tensor<T> Forward(Tensor<T> x);

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
    /// The backward pass: the loss's, then every layer's in reverse order, each turning ∂L/∂(its output) into ∂L/∂(its
    /// input). Without <paramref name="inputGradient"/> the layers that read the input may skip ∂L/∂x (training needs only
    /// the parameters' gradients) and the result is null. <paramref name="via"/>, when given, runs each layer's step
    /// instead of its plain backward pass (an optimizer that updates parameters as the pass goes).
    /// </summary>
    public Tensor<T>? Backward(T dout, bool inputGradient, ILayerBackward<T>? via = null)
    {
        using var _ = Enter();
        return BackwardFrom(Loss.Backward(dout), inputGradient, via);
    }

    /// <summary>The backward pass from ∂L/∂(the output), as <see cref="Backward(T, bool, ILayerBackward{T})"/> after the loss's.</summary>
    internal abstract Tensor<T>? BackwardFrom(Tensor<T> dout, bool inputGradient, ILayerBackward<T>? via);

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

    /// <summary>The network's output for x in inference mode, as a copy the caller keeps; the training mode is restored after.</summary>
    public Tensor<T> Infer(Tensor<T> x)
    {
        bool was = Training;
        Training = false;
        try { return Forward(x).Clone(); }
        finally { Training = was; }
    }

    // A network (its layers' buffers and cached inputs) serves one thread at a time: a second thread entering while the
    // first is inside gets an exception instead of silently wrong outputs. The owner may re-enter (ComputeLoss → Forward).
    private int _owner, _depth;

    private protected Guard Enter()
    {
        int me = Environment.CurrentManagedThreadId;
        if (Interlocked.CompareExchange(ref _owner, me, 0) is int other && other != 0 && other != me)
            throw new InvalidOperationException($"{GetType().Name.Split('`')[0]}: the network is in use by another thread; a network, " +
                "its layers and its trainer serve one thread at a time (build one network per thread to run several)");
        _depth++;
        return new Guard(this);
    }

    private protected readonly struct Guard(Network<T> net) : IDisposable
    {
        public void Dispose()
        {
            if (--net._depth == 0) Volatile.Write(ref net._owner, 0);
        }
    }
}

/// <summary>How one layer's backward pass runs inside <see cref="Network{T}.Backward(T, bool, ILayerBackward{T})"/>.</summary>
public interface ILayerBackward<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Runs <paramref name="layer"/>'s backward pass for dout; returns dx (null allowed only without <paramref
    /// name="needDx"/>).</summary>
    Tensor<T>? Backward(Layer<T> layer, Tensor<T> dout, bool needDx);
}

/// <summary>A classifier's answer: the most probable class of each sample and every class's probability (B, C).</summary>
public sealed record Prediction<T>(int[] Classes, Tensor<T> Probabilities) where T : unmanaged, IFloatingPointIeee754<T>;
