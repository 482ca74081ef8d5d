using System.Numerics;
using Backprop;
using Backprop.Cli.Support;
using Backprop.IO;
using Backprop.Layers;
using Backprop.Models;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop layer KIND [FILE]</c>: one forward and backward pass of one layer or loss.</summary>
internal static class LayerCommand
{
    public const string Usage = "backprop layer KIND [FILE] [--json] [--dtype float64|float32]";

    public static string Run(Args args)
    {
        if (args.Positionals.Count == 0) throw new InvalidInputException($"layer: missing KIND; usage: {Usage}; KIND is one " +
            $"of {string.Join(", ", Kinds.Names)}");
        string kind = Kinds.Canonical(args.Positionals[0]);
        string dtype = args.Choice("dtype", "float64", "float64", "float32");
        var values = Inputs.Read(args.ReadInput(1));
        var output = dtype == "float32" ? Compute<float>(kind, values) : Compute<double>(kind, values);
        output.EnsureFinite(kind);
        return args.Flag("json") ? output.ToJson() + "\n" : output.ToText();
    }

    public static Output Compute<T>(string kind, IReadOnlyList<InputValue> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var output = new Output();
        if (Kinds.IsLoss(kind))
        {
            var inputs = new Inputs(values, kind, ["x", "t", "dout"]);
            var x = inputs.Tensor<T>("x");
            var t = inputs.Tensor<T>("t");
            var dout = inputs.Optional("dout")?.ToNumber() ?? 1.0;
            var loss = Kinds.Loss(kind).Create<T>();
            output.Add("loss", loss.Forward(x, t));
            output.Add("dx", loss.Backward(T.CreateTruncating(dout)));
            return output;
        }
        var k = Kinds.Layer(kind);
        var all = new Inputs(values, kind, ["x", "dout", .. k.Tensors, .. k.Hyperparameters.Select(h => h.Name)]);
        var layer = Build<T>(k, all, "layer", values.Where(v => v.Name is not ("x" or "dout")));
        var xIn = all.Tensor<T>("x");
        var doutIn = all.Tensor<T>("dout");
        output.Add("y", layer.Forward(xIn));
        output.Add("dx", layer.Backward(doutIn));
        foreach (var p in layer.Parameters) output.Add("d" + p.Name, p.Grad);
        return output;
    }

    /// <summary>
    /// Builds a layer of <paramref name="kind"/> from named values: its tensors (all required: W and b of a fully
    /// connected layer) and its hyper-parameters (numbers, or words such as tanh).
    /// </summary>
    internal static Layer<T> Build<T>(LayerKind kind, Inputs inputs, string where, IEnumerable<InputValue> values) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        var tensors = kind.Tensors.Select(name => new KeyValuePair<string, object>(name, inputs.Tensor<T>(name))).ToList();
        var hyper = new List<KeyValuePair<string, object>>();
        foreach (var v in values)
        {
            if (kind.Tensors.Contains(v.Name)) continue;
            object value = v.Word is { } w ? (w == "true" ? true : w == "false" ? false : w) : v.ToNumber();
            hyper.Add(new(v.Name, value));
        }
        return kind.Create<T>(Kinds.Configure(kind, hyper, where, tensors: tensors));
    }
}
