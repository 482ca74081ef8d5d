using Backprop.Layers;

namespace Backprop.Cli.Playground;

/// <summary>
/// View 1, the book's computational graphs (§5.1–5.4): the apple example (2 apples at 100, tax 1.1) and the apple-and-orange
/// one, as multiplication and addition nodes of the library (<see cref="MultiplyNode{T}"/>, <see cref="AddNode{T}"/>). The
/// forward pass runs node by node, then the backward pass from d(price) = 1 in reverse; each step is recorded with its
/// node's local rule, so the page reveals the passes a node at a time and computes nothing itself.
/// </summary>
internal static class GraphView
{
    /// <summary>One node: its operator, its two inputs and its output, by value name.</summary>
    internal sealed record Node(string Id, string Op, string A, string B, string Output);

    /// <summary>One step of a pass: which node, which direction, the local rule in words, and the values it produced.</summary>
    internal sealed record Step(string Node, string Pass, string Rule, IReadOnlyDictionary<string, double> Values);

    /// <summary>A graph's nodes, inputs and results: every value forward and every gradient backward.</summary>
    internal sealed record Result(string Example, IReadOnlyList<Node> Nodes, IReadOnlyList<string> Inputs,
        IReadOnlyDictionary<string, double> Values, IReadOnlyDictionary<string, double> Gradients, IReadOnlyList<Step> Steps);

    public static readonly IReadOnlyList<string> Examples = ["apple", "apple_orange"];

    private static (Node[] Nodes, Dictionary<string, double> Inputs) Definition(string example) => example switch
    {
        "apple" => ([
            new("mul_apple", "×", "apple", "apple_num", "apple_price"),
            new("mul_tax", "×", "apple_price", "tax", "price"),
        ], new() { ["apple"] = 100, ["apple_num"] = 2, ["tax"] = 1.1 }),
        "apple_orange" => ([
            new("mul_apple", "×", "apple", "apple_num", "apple_price"),
            new("mul_orange", "×", "orange", "orange_num", "orange_price"),
            new("add_apple_orange", "+", "apple_price", "orange_price", "all_price"),
            new("mul_tax", "×", "all_price", "tax", "price"),
        ], new() { ["apple"] = 100, ["apple_num"] = 2, ["orange"] = 150, ["orange_num"] = 3, ["tax"] = 1.1 }),
        _ => throw new InvalidInputException($"the graph must be one of {string.Join(", ", Examples)}, not '{example}'"),
    };

    /// <summary>Runs both passes of <paramref name="example"/> with the given inputs (the book's where not given).</summary>
    public static Result Run(string example, IReadOnlyDictionary<string, double>? given)
    {
        var (nodes, inputs) = Definition(example);
        foreach (var (name, v) in given ?? new Dictionary<string, double>())
        {
            if (!inputs.ContainsKey(name))
                throw new InvalidInputException($"the graph '{example}' has no input '{name}'; it takes {string.Join(", ", inputs.Keys)}");
            if (!double.IsFinite(v) || Math.Abs(v) > 1e12) throw new InvalidInputException($"{name} must be a finite number up to 1e12");
            inputs[name] = v;
        }
        var values = new Dictionary<string, double>(inputs);
        var steps = new List<Step>();
        var layers = new Dictionary<string, object>();
        static Tensor<double> S(double v) => new([v], 1);
        foreach (var n in nodes)
        {
            double z;
            if (n.Op == "×")
            {
                var m = new MultiplyNode<double>();
                z = m.Forward(S(values[n.A]), S(values[n.B])).Span[0];
                layers[n.Id] = m;
            }
            else
            {
                var a = new AddNode<double>();
                z = a.Forward(S(values[n.A]), S(values[n.B])).Span[0];
                layers[n.Id] = a;
            }
            values[n.Output] = z;
            steps.Add(new(n.Id, "forward", $"{n.Output} = {n.A} {n.Op} {n.B}", new Dictionary<string, double> { [n.Output] = z }));
        }
        var grads = new Dictionary<string, double> { ["price"] = 1 };
        for (int i = nodes.Length - 1; i >= 0; i--)
        {
            var n = nodes[i];
            var dout = S(grads[n.Output]);
            var (da, db) = layers[n.Id] is MultiplyNode<double> m ? m.Backward(dout) : ((AddNode<double>)layers[n.Id]).Backward(dout);
            grads[n.A] = da.Span[0];
            grads[n.B] = db.Span[0];
            string rule = n.Op == "×"
                ? $"multiply swaps its inputs: d{n.A} = dout·{n.B}, d{n.B} = dout·{n.A}"
                : $"add passes dout through: d{n.A} = d{n.B} = dout";
            steps.Add(new(n.Id, "backward", rule, new Dictionary<string, double> { [n.A] = grads[n.A], [n.B] = grads[n.B] }));
        }
        return new Result(example, nodes, [.. inputs.Keys], values, grads, steps);
    }
}
