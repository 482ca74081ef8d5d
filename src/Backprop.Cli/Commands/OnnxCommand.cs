using System.Numerics;
using Backprop.Cli.Support;
using Backprop.Models;
using Backprop.Networks;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop export</c> and <c>backprop import</c>: a saved model to ONNX and an ONNX graph to a saved model.</summary>
internal static class OnnxCommand
{
    public const string ExportUsage = "backprop export --model FILE --onnx FILE.onnx [--probabilities] [--opset N]";
    public const string ImportUsage = "backprop import --onnx FILE.onnx --out FILE.safetensors";

    public static string Export(Args args)
    {
        if (args.Positionals.Count > 0) throw new InvalidInputException($"export: unexpected argument '{args.Positionals[0]}'; " +
            $"usage: {ExportUsage}");
        string model = args.Value("model") ?? throw new InvalidInputException($"export: --model FILE is required; usage: {ExportUsage}");
        string onnx = args.Value("onnx") ?? throw new InvalidInputException($"export: --onnx FILE is required; usage: {ExportUsage}");
        OutputFiles.Check("onnx", onnx);
        var options = new OnnxExportOptions(args.Int("opset", 17, OnnxFile.MinOpset, OnnxFile.MaxOpset), args.Flag("probabilities"));
        var contents = ModelFile.Read(model);
        return contents.Description.Dtype == "float64" ? Export<double>(model, contents, onnx, options)
            : Export<float>(model, contents, onnx, options);
    }

    private static string Export<T>(string model, ModelFile.Contents contents, string onnx, OnnxExportOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var net = ModelFile.Load<T>(model, contents);
        OnnxFile.Export(net, onnx, options);
        return $"{onnx}: {net.Layers.Count} layers as ONNX opset {options.Opset} ({contents.Description.Dtype}); input x (N, …), " +
            $"output {(contents.Description.Loss == "softmax_cross_entropy" ? "logits" : "y")}" +
            (options.Probabilities ? " and probabilities" : "") + "\n";
    }

    public static string Import(Args args)
    {
        if (args.Positionals.Count > 0) throw new InvalidInputException($"import: unexpected argument '{args.Positionals[0]}'; " +
            $"usage: {ImportUsage}");
        string onnx = args.Value("onnx") ?? throw new InvalidInputException($"import: --onnx FILE is required; usage: {ImportUsage}");
        string output = args.Value("out") ?? throw new InvalidInputException($"import: --out FILE is required; usage: {ImportUsage}");
        OutputFiles.Check("out", output);
        var imported = OnnxFile.Read(onnx);
        string layers = imported.Description.Dtype == "float64" ? Save<double>(imported, onnx, output) : Save<float>(imported, onnx,
            output);
        return $"{output}: {layers} ({imported.Description.Dtype}, loss {imported.Description.Loss})\n";
    }

    private static string Save<T>(OnnxImported imported, string onnx, string output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var net = OnnxFile.Build<T>(imported, onnx);
        ModelFile.Save(output, net);
        return net is GraphNetwork<T> g ? $"a graph of {g.Nodes.Count} nodes ({g.Layers.Count} layers, " +
            $"{g.Nodes.Count(n => n.Layer is null)} joins) ending at '{g.Output}'"
            : string.Join(" – ", net.Layers.Select(l => l.Kind));
    }
}
