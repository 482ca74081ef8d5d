using System.Numerics;
using System.Text.Json;
using Backprop;
using Backprop.Cli.Support;
using Backprop.IO;
using Backprop.Layers;
using Backprop.Models;
using Backprop.Networks;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop grad [FILE]</c>: the loss and every gradient of a whole network given as JSON.</summary>
internal static class GradCommand
{
    public const string Usage = "backprop grad [FILE] [--json] [--dtype float64|float32]";

    public static string Run(Args args)
    {
        string dtype = args.Choice("dtype", "float64", "float64", "float32");
        string text = args.ReadInput(0);
        using var doc = JsonInput.ParseDocument(text);
        var output = dtype == "float32" ? Compute<float>(doc.RootElement) : Compute<double>(doc.RootElement);
        output.EnsureFinite("grad");
        return args.Flag("json") ? output.ToJson() + "\n" : output.ToText();
    }

    /// <summary>Builds the network described by <paramref name="root"/> ({"layers": [...], "loss": {...}, "x", "t"}).</summary>
    public static (Sequential<T> Net, Tensor<T> X, Tensor<T> T) Build<T>(JsonElement root) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidInputException("grad: the input must be a JSON object with layers, " +
            "loss, x and t");
        string[] allowed = ["layers", "loss", "x", "t"];
        foreach (var p in root.EnumerateObject())
            if (!allowed.Contains(p.Name)) throw new InvalidInputException($"grad: unknown key '{p.Name}'; " +
                $"expected {string.Join(", ", allowed)}");
        JsonElement Get(string name) => root.TryGetProperty(name, out var e) ? e
            : throw new InvalidInputException($"grad: missing input '{name}'");

        var layersJson = Get("layers");
        if (layersJson.ValueKind != JsonValueKind.Array) throw new InvalidInputException("grad: 'layers' must be an array of layer " +
            "objects");
        var layers = new List<Layer<T>>();
        int i = 0;
        foreach (var lj in layersJson.EnumerateArray())
        {
            string where = $"layers[{i}]";
            if (lj.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"grad: {where} must be an object with a 'kind'");
            var values = JsonInput.Object(lj, where + ".");
            var kindValue = values.FirstOrDefault(v => v.Name == "kind") ?? throw new InvalidInputException($"grad: {where} has no 'kind'");
            string kind = Kinds.Canonical(kindValue.Word ?? "");
            if (Kinds.IsLoss(kind)) throw new InvalidInputException($"grad: {where} is the loss {kind}; put it under \"loss\"");
            var rest = values.Where(v => v.Name != "kind").ToList();
            var k = Kinds.Layer(kind);
            var inputs = new Inputs(rest, $"{where} ({kind})", [.. k.Tensors, .. k.Hyperparameters.Select(h => h.Name)]);
            try { layers.Add(LayerCommand.Build<T>(k, inputs, where, rest)); }
            catch (ShapeMismatchException e) { throw new ShapeMismatchException($"{where}: {e.Message}"); }
            i++;
        }
        var lossJson = Get("loss");
        string lossKind = lossJson.ValueKind switch
        {
            JsonValueKind.String => lossJson.GetString()!,
            JsonValueKind.Object when lossJson.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String => k.GetString()!,
            _ => throw new InvalidInputException("grad: 'loss' must be an object such as {\"kind\": \"softmax_cross_entropy\"}"),
        };
        if (lossJson.ValueKind == JsonValueKind.Object)
            foreach (var p in lossJson.EnumerateObject())
                if (p.Name != "kind") throw new InvalidInputException($"grad: unknown key 'loss.{p.Name}'; a loss takes only 'kind'");
        lossKind = Kinds.Canonical(lossKind);
        if (!Kinds.IsLoss(lossKind)) throw new InvalidInputException($"grad: the loss must be one " +
            $"of {string.Join(", ", Kinds.Losses.Select(l => l.Name))}, not {lossKind}");
        var x = JsonInput.Value(Get("x"), "x", "x").ToTensor<T>();
        var t = JsonInput.Value(Get("t"), "t", "t").ToTensor<T>();
        return (new Sequential<T>(layers, Kinds.Loss(lossKind).Create<T>()), x, t);
    }

    public static Output Compute<T>(JsonElement root) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (net, x, t) = Build<T>(root);
        T loss;
        var h = x;
        for (int i = 0; i < net.Layers.Count; i++)
        {
            try { h = net.Layers[i].Forward(h); }
            catch (ShapeMismatchException e) { throw new ShapeMismatchException($"layers[{i}]: {e.Message}"); }
        }
        try { loss = net.Loss.Forward(h, t); }
        catch (ShapeMismatchException e) { throw new ShapeMismatchException($"loss: {e.Message}"); }
        var output = new Output();
        output.Add("loss", loss);
        output.Add("dx", net.Backward());
        var list = new List<Output>();
        foreach (var layer in net.Layers)
        {
            var o = new Output();
            foreach (var p in layer.Parameters) o.Add("d" + p.Name, p.Grad);
            list.Add(o);
        }
        output.Add("layers", list);
        return output;
    }
}
