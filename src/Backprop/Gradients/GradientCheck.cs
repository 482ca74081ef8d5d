using Backprop.Layers;
using Backprop.Losses;
using Backprop.Networks;

namespace Backprop.Gradients;

/// <summary>One row of a gradient check: how far the backward pass's gradient is from the numerical one.</summary>
/// <param name="Target">What was checked, e.g. <c>FullyConnected</c> or <c>layers[2] Relu</c>.</param>
/// <param name="Parameter">The input or parameter, e.g. <c>x</c>, <c>W</c>, <c>b</c>.</param>
/// <param name="MaxRelativeError">max over elements of |a − n| / max(|a| + |n|, 1e-6).</param>
/// <param name="MaxAbsoluteError">max over elements of |a − n|.</param>
/// <param name="Count">The number of elements compared.</param>
public sealed record GradientCheckResult(string Target, string Parameter, double MaxRelativeError, double MaxAbsoluteError, int Count);

/// <summary>
/// Compares backward passes with numerical gradients in float64.
/// </summary>
/// <remarks>
/// A layer is checked through the scalar L = Σ r ⊙ y with a fixed random r (so dout = r); a loss and a network
/// through their own loss. Each input or parameter element is perturbed by ±h, ±2h and ±3h, and the derivative
/// taken by the sixth-order central difference
/// ((f(+3h) − f(−3h)) − 9(f(+2h) − f(−2h)) + 45(f(+h) − f(−h)))/(60h), whose truncation error is O(h⁶):
/// with h = 1e-2 it stays near 1e-13 for smooth functions, and the rounding error near 1e-14.
/// Inputs must keep every element more than 3h from a kink (ReLU's 0, softplus's threshold).
/// </remarks>
public static class GradientCheck
{
    /// <summary>
    /// Below this magnitude a gradient is compared in absolute terms: the rounding noise of the numerical derivative
    /// (a few ulps of the loss divided by the step, about 1e-14 here) would otherwise swamp genuinely tiny gradients.
    /// </summary>
    public const double Floor = 1e-6;

    /// <summary>The default step.</summary>
    public const double DefaultStep = 1e-2;

    /// <summary>Checks dx and every parameter gradient of <paramref name="layer"/> at input <paramref name="x"/>.</summary>
    public static IReadOnlyList<GradientCheckResult> Layer(Layer<double> layer, Tensor<double> x, int seed = 0, double h = DefaultStep,
        string? target = null)
    {
        target ??= Short(layer.GetType());
        var y = layer.Forward(x);
        var rng = new Random(seed);
        var r = Tensor<double>.Zeros(y.Shape.ToArray());
        for (int i = 0; i < r.Length; i++) r.Span[i] = rng.NextDouble() * 2 - 1;
        var analytic = new List<(string, double[])> { ("x", layer.Backward(r).Span.ToArray()) };
        foreach (var p in layer.Parameters) analytic.Add((p.Name, p.Grad.Span.ToArray()));

        double F() => Dot(layer.Forward(x).Span, r.Span);
        var results = new List<GradientCheckResult> { Compare(target, "x", analytic[0].Item2, Numeric(x, F, h)) };
        int k = 1;
        foreach (var p in layer.Parameters) results.Add(Compare(target, p.Name, analytic[k++].Item2, Numeric(p.Value, F, h)));
        return results;
    }

    /// <summary>Checks dx of <paramref name="loss"/> at logits <paramref name="x"/> and targets <paramref name="t"/>.</summary>
    public static GradientCheckResult Loss(Loss<double> loss, Tensor<double> x, Tensor<double> t, double h = DefaultStep,
        string? target = null)
    {
        loss.Forward(x, t);
        var a = loss.Backward().Span.ToArray();
        return Compare(target ?? Short(loss.GetType()), "x", a, Numeric(x, () => loss.Forward(x, t), h));
    }

    /// <summary>Checks ∂L/∂x and every parameter gradient of a whole network (a graph's rows name their nodes).</summary>
    public static IReadOnlyList<GradientCheckResult> Network(Network<double> net, Tensor<double> x, Tensor<double> t,
        double h = DefaultStep, string name = "network")
    {
        ArgumentNullException.ThrowIfNull(net);
        net.ComputeLoss(x, t);
        var dx = net.Backward().Span.ToArray();
        var grads = net.Layers.Select(l => l.Parameters.Select(p => p.Grad.Span.ToArray()).ToArray()).ToArray();
        double F() => net.ComputeLoss(x, t);
        var results = new List<GradientCheckResult> { Compare(name, "x", dx, Numeric(x, F, h)) };
        var nodes = net.Nodes.Where(n => n.Layer is not null).ToArray();
        for (int i = 0; i < net.Layers.Count; i++)
        {
            var layer = net.Layers[i];
            string where = net is GraphNetwork<double> ? $"{name}: node {nodes[i].Name}" : $"layers[{i}]";
            for (int j = 0; j < layer.Parameters.Count; j++)
                results.Add(Compare($"{where} {Short(layer.GetType())}", layer.Parameters[j].Name, grads[i][j],
                    Numeric(layer.Parameters[j].Value, F, h)));
        }
        return results;
    }

    /// <summary>The numerical gradient of f with respect to every element of <paramref name="v"/> (restored afterwards).</summary>
    public static double[] Numeric(Tensor<double> v, Func<double> f, double h = DefaultStep)
    {
        var g = new double[v.Length];
        var s = v.Data;
        for (int i = 0; i < g.Length; i++)
        {
            double old = s[i];
            s[i] = old + 3 * h; double p3 = f();
            s[i] = old + 2 * h; double p2 = f();
            s[i] = old + h; double p1 = f();
            s[i] = old - h; double m1 = f();
            s[i] = old - 2 * h; double m2 = f();
            s[i] = old - 3 * h; double m3 = f();
            s[i] = old;
            g[i] = ((p3 - m3) - 9 * (p2 - m2) + 45 * (p1 - m1)) / (60 * h);
        }
        f();    // leave the cached state of the unperturbed point
        return g;
    }

    /// <summary>The row for analytic gradient <paramref name="a"/> against numerical <paramref name="n"/>.</summary>
    public static GradientCheckResult Compare(string target, string parameter, ReadOnlySpan<double> a, ReadOnlySpan<double> n)
    {
        double rel = 0, abs = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs(a[i] - n[i]);
            abs = Math.Max(abs, d);
            rel = Math.Max(rel, d / Math.Max(Math.Abs(a[i]) + Math.Abs(n[i]), Floor));
        }
        return new GradientCheckResult(target, parameter, rel, abs, a.Length);
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    private static string Short(Type t) => t.Name.Split('`')[0];
}
