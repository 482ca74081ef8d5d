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
/// The input is named <c>x</c>; <see cref="Output"/> names the node whose value the loss takes. A run of layers where
/// each value feeds only the next runs as one <see cref="Sequential{T}"/> (with its fusion): a chain built as a graph is
/// a chain.
/// </summary>
public sealed class GraphNetwork<T> : Network<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly GraphNode<T>[] _order;
    private readonly Step[] _steps;
    private readonly Layer<T>[] _layers;
    private readonly Dictionary<string, Tensor<T>> _values = [];
    private readonly Dictionary<string, Tensor<T>> _grads = [];
    private readonly Dictionary<string, Tensor<T>?> _sums = [];   // a fork's gradient buffer, reused from pass to pass

    // What the passes run: a run of layers (its first node's input to its last node's value), or an add or concat node.
    private sealed class Step(GraphNode<T>[] nodes, Sequential<T>? run = null)
    {
        public GraphNode<T> Node => nodes[0];       // the first node (an add's or concat's own)
        public GraphNode<T>[] Nodes => nodes;
        public Sequential<T>? Run => run;
        public string Output => nodes[^1].Name;
        public Tensor<T>? Y;                       // an add's or concat's output buffer
        public Tensor<T>?[] Slices = [];           // a concat's inputs' gradient buffers
    }

    /// <summary>Builds the graph and checks it: unique names, inputs that exist, no cycle, every node on a path to the output,
    /// one input for a layer and two or more for add and concat, no layer used twice.</summary>
    /// <exception cref="InvalidInputException">A bad graph; the message names the node.</exception>
    public GraphNetwork(IReadOnlyList<GraphNode<T>> nodes, string output, Loss<T> loss)
        : base(loss ?? throw new ArgumentNullException(nameof(loss)))
    {
        ArgumentNullException.ThrowIfNull(nodes);
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
        _layers = [.. _order.Where(n => n.Layer is not null).Select(n => n.Layer!)];
        Parameters = [.. _layers.SelectMany(l => l.Parameters)];
        var consumers = new Dictionary<string, int> { [output] = 1 };   // the loss reads the output
        foreach (var n in _order)
            foreach (var i in n.Inputs) consumers[i] = consumers.GetValueOrDefault(i) + 1;
        _steps = [.. Steps(consumers)];
    }

    // The depth-first order lists a layer right after its input where that input feeds nothing else: such runs of layers
    // become one step each.
    private IEnumerable<Step> Steps(Dictionary<string, int> consumers)
    {
        for (int k = 0; k < _order.Length; k++)
        {
            var n = _order[k];
            if (n.Op != "layer")
            {
                yield return new Step([n]);
                continue;
            }
            int end = k;
            while (end + 1 < _order.Length && _order[end + 1].Op == "layer" && _order[end + 1].Inputs[0] == _order[end].Name
                && consumers[_order[end].Name] == 1)
                end++;
            var run = _order[k..(end + 1)];
            yield return new Step(run, new Sequential<T>([.. run.Select(m => m.Layer!)]));
            k = end;
        }
    }

    /// <summary>The nodes in the order they run.</summary>
    public override IReadOnlyList<GraphNode<T>> Nodes => _order;

    /// <summary>The node whose value is the network's output.</summary>
    public string Output { get; }

    /// <inheritdoc/>
    public override string OutputNode => Output;

    /// <summary>Every node's layer, in node order.</summary>
    public override IReadOnlyList<Layer<T>> Layers => _layers;

    /// <summary>Every layer's parameters, in node order.</summary>
    public override IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Whether runs of layers fuse a ReLU (and a pooling layer) into the layer before, as <see cref="Sequential{T}"/>
    /// does.</summary>
    internal bool FuseRelu { set { foreach (var s in _steps) if (s.Run is not null) s.Run.FuseRelu = value; } }

    /// <summary>The output for <paramref name="x"/> (the output node's value; valid until the next pass).</summary>
    public override Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var _ = Enter();
        _values.Clear();
        _values["x"] = x;
        foreach (var s in _steps)
        {
            var n = s.Node;
            if (s.Run is null)
            {
                var inputs = n.Inputs.Select(i => _values[i]).ToArray();
                _values[s.Output] = n.Op == "add" ? Sum(s, inputs) : Join(s, inputs);
                continue;
            }
            try { _values[s.Output] = s.Run.Forward(_values[n.Inputs[0]]); }
            catch (ShapeMismatchException e)
            {
                throw new ShapeMismatchException($"node '{s.Nodes[s.Run.Running].Name}': {e.Message}");
            }
        }
        return _values[Output];
    }

    /// <summary>
    /// The backward pass from dout = ∂L/∂(output): every step in reverse order turns the gradient of its value into its
    /// inputs' (a run of layers through their own backward passes, add passing it to each input, concat slicing it),
    /// summed where a value feeds several nodes. Every parameter's gradient is stored; returns ∂L/∂x (null without
    /// <paramref name="inputGradient"/>).
    /// </summary>
    internal override Tensor<T>? BackwardFrom(Tensor<T> dout, bool inputGradient, ILayerBackward<T>? via)
    {
        using var _ = Enter();
        _grads.Clear();
        Accumulate(Output, dout);
        for (int k = _steps.Length - 1; k >= 0; k--)
        {
            var s = _steps[k];
            var n = s.Node;
            if (!_grads.TryGetValue(s.Output, out var d)) continue;   // nothing below it reached the loss
            if (s.Run is not null)
            {
                bool needDx = inputGradient || n.Inputs[0] != "x";
                var dx = s.Run.BackwardFrom(d, needDx, via);
                if (needDx) Accumulate(n.Inputs[0], dx!);
            }
            else if (n.Op == "add")
                foreach (var i in n.Inputs) Accumulate(i, d);
            else
            {
                int offset = 0;
                if (s.Slices.Length != n.Inputs.Count) s.Slices = new Tensor<T>?[n.Inputs.Count];
                for (int j = 0; j < n.Inputs.Count; j++)
                {
                    var v = _values[n.Inputs[j]];
                    Accumulate(n.Inputs[j], Slice(d, TensorBuffer.Ensure(ref s.Slices[j], v.Shape), offset));
                    offset += v.Dim(1);
                }
            }
        }
        if (!inputGradient) return null;
        return _grads.TryGetValue("x", out var gx) ? gx : Tensor<T>.Zeros(_values["x"].Shape.ToArray());
    }

    // A value that feeds one node takes its gradient as it comes (dout is never modified); a fork's gradients are summed in a
    // buffer of its own: the first two into it, the next added, in the fixed reverse order of the steps.
    private void Accumulate(string name, Tensor<T> g)
    {
        if (!_grads.TryGetValue(name, out var first))
        {
            _grads[name] = g;   // kept as it came until a second gradient arrives
            return;
        }
        _sums.TryGetValue(name, out var buffer);
        if (ReferenceEquals(first, buffer))
        {
            System.Numerics.Tensors.TensorPrimitives.Add(buffer.Span, g.Span, buffer.Span);
            return;
        }
        var b = TensorBuffer.Ensure(ref buffer, g.Shape);
        _sums[name] = b;
        System.Numerics.Tensors.TensorPrimitives.Add(first.Span, g.Span, b.Span);
        _grads[name] = b;
    }

    /// <summary>An add or concat node's value for <paramref name="inputs"/>, in a new tensor (the summary's per-node pass).</summary>
    internal static Tensor<T> Join(GraphNode<T> n, Tensor<T>[] inputs)
    {
        var s = new Step([n]);
        return (n.Op == "add" ? Sum(s, inputs) : Join(s, inputs)).Clone();
    }

    private static Tensor<T> Sum(Step s, Tensor<T>[] inputs)
    {
        var n = s.Node;
        for (int i = 1; i < inputs.Length; i++)
            if (!inputs[i].HasShape(inputs[0].Shape))
                throw new ShapeMismatchException($"node '{n.Name}' (add): '{n.Inputs[i]}' has shape {inputs[i].ShapeString}, " +
                    $"'{n.Inputs[0]}' {inputs[0].ShapeString}; add takes one shape");
        var y = TensorBuffer.Ensure(ref s.Y, inputs[0].Shape);
        System.Numerics.Tensors.TensorPrimitives.Add(inputs[0].Span, inputs[1].Span, y.Span);
        for (int i = 2; i < inputs.Length; i++) System.Numerics.Tensors.TensorPrimitives.Add(y.Span, inputs[i].Span, y.Span);
        return y;
    }

    // Along axis 1: out[b, c0 + c, …] = input[b, c, …], the inputs' channels one after the other.
    private static Tensor<T> Join(Step s, Tensor<T>[] inputs)
    {
        var n = s.Node;
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
        var y = TensorBuffer.Ensure(ref s.Y, shape);
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
    internal static Tensor<T> Slice(Tensor<T> dout, Tensor<T> g, int offset)
    {
        int batch = g.Dim(0), c = g.Dim(1), channels = dout.Dim(1), inner = g.Length / Math.Max(1, batch * c);
        for (int b = 0; b < batch; b++)
            dout.Span.Slice((b * channels + offset) * inner, c * inner).CopyTo(g.Span.Slice(b * c * inner, c * inner));
        return g;
    }
}
