using System.Globalization;
using Backprop;
using Backprop.Cli.Support;
using Backprop.Models;
using Backprop.Networks;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop summary --model FILE|simple_convnet|deep_convnet|resnet_small [--input SHAPE]</c>: the network's layers, each one's
/// output shape, parameters and multiply-adds per sample, with totals (Keras' <c>model.summary()</c>).</summary>
internal static class SummaryCommand
{
    public static string Run(Args args)
    {
        string model = args.Value("model") ?? throw new InvalidInputException("summary: --model is needed (a model file, a description " +
            $"file, or one of {string.Join(", ", Architectures.Names)})");
        Network<float> net = Architectures.Named(model.ToLowerInvariant()) is { } named ? named.Build<float>(new Rng(0))
            : !File.Exists(model) ? throw new InvalidInputException($"summary: --model {model} is no file and none of " +
                string.Join(", ", Architectures.Names))
            : model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? OnnxFile.Import<float>(model)
            : model.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? Described(model)
            : Load(model);
        int[] shape = args.Value("input") is { } s ? Shape(s) : NetworkSummary.DefaultSampleShape(net)
            ?? throw new InvalidInputException("summary: the network's first layers do not fix its input; give --input, e.g. 1,28,28");
        return NetworkSummary.Table(NetworkSummary.Of(net, shape), shape) +
            $"loss {net.Loss.Kind}\n";
    }

    private static Network<float> Described(string path) =>
        (ModelDescription.FromJson(Backprop.IO.BoundedFile.ReadAllText(path, 16 << 20), path) with { Dtype = "float32" })
            .Build<float>(new Rng(0));

    private static Network<float> Load(string path)
    {
        var contents = ModelFile.Read(path);
        return contents.Description.Dtype == "float32" ? ModelFile.Load<float>(path, contents)
            : ModelFile.Load<float>(path, contents with { Description = contents.Description with { Dtype = "float32" } });
    }

    private static int[] Shape(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var shape = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]) || shape[i] is < 1 or > 1 << 16)
                throw new InvalidInputException($"--input is one sample's shape, sizes separated by commas (1,28,28), not '{text}'");
        return shape;
    }
}
