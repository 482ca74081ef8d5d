using System.Numerics;
using Backprop.Layers;
using Backprop.Losses;

namespace Backprop.Networks;

/// <summary>
/// One node of a <see cref="GraphNetwork{T}"/>: a layer applied to one input, or <c>add</c> (element-wise sum of inputs
/// of one shape) or <c>concat</c> (inputs joined along the channels, axis 1). Inputs name the network's input <c>x</c>
/// or other nodes.
/// </summary>
public sealed record GraphNode<T>(string Name, string Op, IReadOnlyList<string> Inputs, Layer<T>? Layer = null)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A layer applied to <paramref name="input"/>.</summary>
    public static GraphNode<T> Of(string name, Layer<T> layer, string input) => new(name, "layer", [input], layer);

    /// <summary>The element-wise sum of <paramref name="inputs"/> (shapes equal).</summary>
    public static GraphNode<T> Add(string name, params string[] inputs) => new(name, "add", inputs);

    /// <summary><paramref name="inputs"/> joined along the channels (axis 1; the other sizes equal).</summary>
    public static GraphNode<T> Concat(string name, params string[] inputs) => new(name, "concat", inputs);
}

/// <summary>
/// A network that is a directed acyclic graph of nodes (§5's rule for a fork: where a value feeds several nodes, its
/// gradient is the sum of theirs). The nodes run in a topological order fixed at construction, forward and then in
/// reverse; the gradients reaching a value are summed in that fixed order, so results do not depend on thread counts.
/// The input is named <c>x</c>; <see cref="Output"/> names the node whose value the loss takes.
/// </summary>
public sealed class GraphNetwork<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly GraphNode<T>[] _order;
    private readonly Dictionary<string, Tensor<T>> _values = [];
    private readonly Dictionary<string, Tensor<T>> _grads = [];

    /// <summary>Builds the graph and checks it: unique names, inputs that exist, no cycle, every node on a path to the output,
    /// one input for a layer and two or more for add and concat, no layer used twice.</summary>
    /// <exception cref="InvalidInputException">A bad graph; the message names the node.</exception>
    public GraphNetwork(IReadOnlyList<GraphNode<T>> nodes, string output, Loss<T> loss)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(loss);
        var byName = new Dictionary<string, GraphNode<T>>();
        var layers = new HashSet<Layer<T>>(ReferenceEqualityComparer.Instance);
        foreach (var n in nodes)
        {
            if (string.IsNullOrWhiteSpace(n.Name) || n.Name == "x")
                throw new InvalidInputException($"node '{n.Name}': a node needs a name " +
                "other than x (the input)");
            if (!byName.TryAdd(n.Name, n)) throw new InvalidInputException($"node '{n.Name}': the name is given twice");
            switch (n.Op)
            {
                case "layer":
                    if (n.Layer is null || n.Inputs.Count != 1)
                        throw new InvalidInputException($"node '{n.Name}': a layer takes one input");
                    if (!layers.Add(n.Layer)) throw new InvalidInputException($"node '{n.Name}': its layer object is another node's too " +
                        "(a layer keeps one forward pass: give each node its own)");
                    break;
                case "add" or "concat":
                    if (n.Inputs.Count < 2) throw new InvalidInputException($"node '{n.Name}': {n.Op} joins two inputs or more");
                    break;
                default:
                    throw new InvalidInputException($"node '{n.Name}': the operation must be layer, add or concat, not '{n.Op}'");
            }
        }
        foreach (var n in nodes)
            foreach (var i in n.Inputs)
                if (i != "x" && !byName.ContainsKey(i))
                    throw new InvalidInputException($"node '{n.Name}': its input '{i}' is neither x nor a node");
        if (!byName.ContainsKey(output)) throw new InvalidInputException($"the output '{output}' is not a node");
        // Depth-first from the output: a cycle is a node met again on the path; the order lists each node after its inputs.
        var order = new List<GraphNode<T>>();
        var state = new Dictionary<string, int>();   // 1 on the path, 2 done
        void Visit(string name, string from)
        {
            if (name == "x") return;
            state.TryGetValue(name, out int s);
            if (s == 2) return;
            if (s == 1) throw new InvalidInputException($"node '{name}': a cycle through it (reached again from '{from}')");
            state[name] = 1;
            foreach (var i in byName[name].Inputs) Visit(i, name);
            state[name] = 2;
            order.Add(byName[name]);
        }
        Visit(output, output);
        if (nodes.FirstOrDefault(n => !state.ContainsKey(n.Name)) is { } unused)
            throw new InvalidInputException($"node '{unused.Name}': the output '{output}' does not depend on it");
        _order = [.. order];
        Output = output;
        Loss = loss;
        Parameters = [.. _order.Where(n => n.Layer is not null).SelectMany(n => n.Layer!.Parameters)];
    }

    /// <summary>The nodes in the order they run.</summary>
    public IReadOnlyList<GraphNode<T>> Nodes => _order;

    /// <summary>The node whose value is the network's output.</summary>
    public string Output { get; }

    /// <summary>The loss on the output.</summary>
    public Loss<T> Loss { get; }

    /// <summary>Every layer's parameters, in node order.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Switches every layer between training and inference.</summary>
    public bool Training { set { foreach (var n in _order) if (n.Layer is not null) n.Layer.Training = value; } }

    /// <summary>The output for <paramref name="x"/> (the output node's value; valid until the next pass).</summary>
    public Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        _values.Clear();
        _values["x"] = x;
        foreach (var n in _order)
        {
            var inputs = n.Inputs.Select(i => _values[i]).ToArray();
            _values[n.Name] = n.Op switch
            {
                "layer" => n.Layer!.Forward(inputs[0]),
                "add" => Sum(n, inputs),
                _ => Join(n, inputs),
            };
        }
        return _values[Output];
    }

    /// <summary>Runs the nodes and the loss; returns the loss.</summary>
    public T ComputeLoss(Tensor<T> x, Tensor<T> t) => Loss.Forward(Forward(x), t);

    /// <summary>
    /// The backward pass from the loss (dout = 1): every node in reverse order turns the gradient of its value into its
    /// inputs' (a layer through its own Backward, add passing it to each input, concat slicing it), summed where a value
    /// feeds several nodes. Every parameter's gradient is stored; returns ∂L/∂x.
    /// </summary>
    public Tensor<T> Backward()
    {
        _grads.Clear();
        _grads[Output] = Loss.Backward(T.One).Clone();
        for (int k = _order.Length - 1; k >= 0; k--)
        {
            var n = _order[k];
            if (!_grads.TryGetValue(n.Name, out var dout)) continue;   // nothing below it reached the loss
            switch (n.Op)
            {
                case "layer":
                    Accumulate(n.Inputs[0], n.Layer!.Backward(dout));
                    break;
                case "add":
                    foreach (var i in n.Inputs) Accumulate(i, dout);
                    break;
                default:
                    int offset = 0;
                    foreach (var i in n.Inputs)
                    {
                        var v = _values[i];
                        Accumulate(i, Slice(dout, v.Shape.ToArray(), offset));
                        offset += v.Dim(1);
                    }
                    break;
            }
        }
        return _grads.TryGetValue("x", out var dx) ? dx : Tensor<T>.Zeros(_values["x"].Shape.ToArray());
    }

    // The first gradient to reach a value is copied (a layer reuses its buffers); the next ones are added to it.
    private void Accumulate(string name, Tensor<T> g)
    {
        if (_grads.TryGetValue(name, out var sum)) System.Numerics.Tensors.TensorPrimitives.Add(sum.Span, g.Span, sum.Span);
        else _grads[name] = g.Clone();
    }

    private static Tensor<T> Sum(GraphNode<T> n, Tensor<T>[] inputs)
    {
        var y = inputs[0].Clone();
        for (int i = 1; i < inputs.Length; i++)
        {
            if (!inputs[i].HasShape(y.Shape))
                throw new ShapeMismatchException($"node '{n.Name}' (add): '{n.Inputs[i]}' has shape {inputs[i].ShapeString}, " +
                    $"'{n.Inputs[0]}' {y.ShapeString}; add takes one shape");
            System.Numerics.Tensors.TensorPrimitives.Add(y.Span, inputs[i].Span, y.Span);
        }
        return y;
    }

    // Along axis 1: out[b, c0 + c, …] = input[b, c, …], the inputs' channels one after the other.
    private static Tensor<T> Join(GraphNode<T> n, Tensor<T>[] inputs)
    {
        var first = inputs[0];
        if (first.Rank < 2)
            throw new ShapeMismatchException($"node '{n.Name}' (concat): inputs need a channel axis, not {first.ShapeString}");
        int channels = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            var v = inputs[i];
            bool same = v.Rank == first.Rank && v.Dim(0) == first.Dim(0);
            for (int d = 2; same && d < v.Rank; d++) same = v.Dim(d) == first.Dim(d);
            if (!same) throw new ShapeMismatchException($"node '{n.Name}' (concat): '{n.Inputs[i]}' has shape {v.ShapeString}, " +
                $"'{n.Inputs[0]}' {first.ShapeString}; only the channels (axis 1) may differ");
            channels += v.Dim(1);
        }
        var shape = first.Shape.ToArray();
        shape[1] = channels;
        var y = Tensor<T>.Zeros(shape);
        int batch = shape[0], inner = first.Length / (first.Dim(0) * first.Dim(1)), offset = 0;
        foreach (var v in inputs)
        {
            int c = v.Dim(1);
            for (int b = 0; b < batch; b++)
                v.Span.Slice(b * c * inner, c * inner).CopyTo(y.Span.Slice((b * channels + offset) * inner, c * inner));
            offset += c;
        }
        return y;
    }

    // The channels [offset, offset + shape[1]) of dout, in an input's shape.
    private static Tensor<T> Slice(Tensor<T> dout, int[] shape, int offset)
    {
        var g = Tensor<T>.Zeros(shape);
        int batch = shape[0], c = shape[1], channels = dout.Dim(1), inner = g.Length / Math.Max(1, batch * c);
        for (int b = 0; b < batch; b++)
            dout.Span.Slice((b * channels + offset) * inner, c * inner).CopyTo(g.Span.Slice(b * c * inner, c * inner));
        return g;
    }
}
