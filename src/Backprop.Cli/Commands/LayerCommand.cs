using System.Numerics;
using Backprop;
using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop layer KIND [FILE]</c>: one forward and backward pass of one layer or loss.</summary>
internal static class LayerCommand
{
    public const string Usage = "backprop layer KIND [FILE] [--json] [--dtype float64|float32]";

    public static string Run(string[] argv)
    {
        var args = new Args(argv, new HashSet<string> { "json" }, new HashSet<string> { "dtype" });
        if (args.Positionals.Count == 0) throw new InvalidInputException($"layer: missing KIND; usage: {Usage}; KIND is one of {string.Join(", ", Kinds.All)}");
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
        if (kind == "fully_connected")
        {
            var inputs = new Inputs(values, kind, ["W", "b", "x", "dout"]);
            var W = inputs.Tensor<T>("W");
            var b = inputs.Tensor<T>("b");
            var x = inputs.Tensor<T>("x");
            var dout = inputs.Tensor<T>("dout");
            var layer = new FullyConnected<T>(W, b);
            output.Add("y", layer.Forward(x));
            output.Add("dx", layer.Backward(dout));
            output.Add("dW", layer.dW);
            output.Add("db", layer.db);
        }
        else if (Kinds.IsLoss(kind))
        {
            var inputs = new Inputs(values, kind, ["x", "t", "dout"]);
            var x = inputs.Tensor<T>("x");
            var t = inputs.Tensor<T>("t");
            var dout = inputs.Optional("dout")?.ToNumber() ?? 1.0;
            var loss = Kinds.CreateLoss<T>(kind);
            output.Add("loss", loss.Forward(x, t));
            output.Add("dx", loss.Backward(T.CreateTruncating(dout)));
        }
        else
        {
            var inputs = new Inputs(values, kind, ["x", "dout", .. Kinds.Hyperparameters(kind)]);
            var layer = Kinds.CreateActivation<T>(kind, inputs.Optional);
            var x = inputs.Tensor<T>("x");
            var dout = inputs.Tensor<T>("dout");
            output.Add("y", layer.Forward(x));
            output.Add("dx", layer.Backward(dout));
        }
        return output;
    }
}
