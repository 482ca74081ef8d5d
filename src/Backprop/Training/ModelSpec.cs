using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Backprop.IO;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Networks;

namespace Backprop.Training;

/// <summary>
/// A multi-layer perceptron described by its sizes: for every hidden size, fully connected → [batch norm] →
/// activation → [dropout]; then a fully connected output layer and softmax cross-entropy.
/// </summary>
public sealed record ModelSpec
{
    /// <summary>Layer sizes from input to output, e.g. 784, 256, 10.</summary>
    [JsonPropertyName("sizes")] public int[] Sizes { get; init; } = [784, 256, 10];
    /// <summary>The activation kind after each hidden layer.</summary>
    [JsonPropertyName("activation")] public string Activation { get; init; } = "relu";
    /// <summary>The weight initializer: he, xavier or normal.</summary>
    [JsonPropertyName("init")] public string Init { get; init; } = "he";
    /// <summary>The standard deviation of the normal initializer.</summary>
    [JsonPropertyName("init_std")] public double InitStd { get; init; } = 0.01;
    /// <summary>Dropout probability after each hidden activation (0 for none).</summary>
    [JsonPropertyName("dropout")] public double Dropout { get; init; }
    /// <summary>Batch normalization before each hidden activation.</summary>
    [JsonPropertyName("batch_norm")] public bool BatchNorm { get; init; }
    /// <summary>float32 or float64.</summary>
    [JsonPropertyName("dtype")] public string Dtype { get; init; } = "float32";

    /// <summary>Checks every field, with messages that name the option.</summary>
    public void Validate()
    {
        if (Sizes.Length < 2) throw new InvalidInputException($"--layers needs at least an input and an output size, not {string.Join(",", Sizes)}");
        if (Sizes.Any(s => s < 1 || s > 1 << 20)) throw new InvalidInputException($"--layers sizes must be between 1 and {1 << 20}: {string.Join(",", Sizes)}");
        if (!Kinds.Activations.Contains(Activation)) throw new InvalidInputException($"--activation must be one of {string.Join(", ", Kinds.Activations)}, not '{Activation}'");
        ParseInit(Init);
        if (!(InitStd > 0) || !double.IsFinite(InitStd)) throw new InvalidInputException($"--init-std must be a positive number, not {InitStd}");
        if (!(Dropout >= 0 && Dropout < 1)) throw new InvalidInputException($"--dropout must be in [0, 1), not {Dropout}");
        if (Dtype is not ("float32" or "float64")) throw new InvalidInputException($"--dtype must be float32 or float64, not '{Dtype}'");
    }

    /// <summary>The initializer kind of a name.</summary>
    public static InitKind ParseInit(string s) => s switch
    {
        "he" => InitKind.He,
        "xavier" => InitKind.Xavier,
        "normal" => InitKind.Normal,
        _ => throw new InvalidInputException($"--init must be he, xavier or normal, not '{s}'"),
    };

    /// <summary>Builds the network with freshly initialized weights; dropout masks are drawn from <paramref name="rng"/>.</summary>
    public Sequential<T> Build<T>(Rng rng) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate();
        var layers = new List<Layer<T>>();
        var init = ParseInit(Init);
        for (int i = 0; i + 1 < Sizes.Length; i++)
        {
            var fc = new FullyConnected<T>(Sizes[i], Sizes[i + 1]);
            Initializer.Fill(fc.W, init, rng, InitStd);
            layers.Add(fc);
            if (i + 2 == Sizes.Length) break;
            if (BatchNorm) layers.Add(new BatchNormalization<T>(Sizes[i + 1]));
            layers.Add(Kinds.CreateActivation<T>(Activation, _ => null));
            if (Dropout > 0) layers.Add(new Dropout<T>(Dropout, rng));
        }
        return new Sequential<T>(layers, new SoftmaxCrossEntropy<T>());
    }

    /// <summary>The spec as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>A spec from JSON, validated.</summary>
    public static ModelSpec FromJson(string json, string where)
    {
        ModelSpec? s;
        try { s = JsonSerializer.Deserialize<ModelSpec>(json); }
        catch (JsonException e) { throw new InvalidFileException($"{where}: the model description is not valid ({e.Message})", e); }
        if (s is null) throw new InvalidFileException($"{where}: the model description is empty");
        try { s.Validate(); }
        catch (InvalidInputException e) { throw new InvalidFileException($"{where}: the model description is not valid: {e.Message}", e); }
        return s;
    }
}

/// <summary>Saves and loads networks as safetensors: parameters, batch-norm statistics, and for checkpoints the training state.</summary>
public static class ModelFile
{
    /// <summary>The format tag in the metadata.</summary>
    public const string Format = "backprop-mlp-1";

    /// <summary>Every tensor of a network (parameters and running statistics) by its stored name.</summary>
    public static IEnumerable<(string Name, Tensor<T> Value)> Tensors<T>(Sequential<T> net) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < net.Layers.Count; i++)
        {
            foreach (var p in net.Layers[i].Parameters) yield return ($"layers.{i}.{p.Name}", p.Value);
            if (net.Layers[i] is BatchNormalization<T> bn)
            {
                yield return ($"layers.{i}.running_mean", bn.RunningMean);
                yield return ($"layers.{i}.running_var", bn.RunningVar);
            }
        }
    }

    /// <summary>Converts named tensors to safetensors entries of the tensors' own dtype.</summary>
    public static IEnumerable<SafeTensors.Entry> Entries<T>(IEnumerable<(string Name, Tensor<T> Value)> tensors) where T : unmanaged, IFloatingPointIeee754<T> =>
        tensors.Select(t => typeof(T) == typeof(float)
            ? new SafeTensors.Entry(t.Name, t.Value.Shape.ToArray(), (float[])(object)t.Value.Span.ToArray(), null)
            : new SafeTensors.Entry(t.Name, t.Value.Shape.ToArray(), null, (double[])(object)t.Value.Span.ToArray()));

    /// <summary>Saves a trained network (atomically).</summary>
    public static void Save<T>(string path, Sequential<T> net, ModelSpec spec, IReadOnlyDictionary<string, string>? extra = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var meta = new Dictionary<string, string> { ["format"] = Format, ["model"] = spec.ToJson() };
        if (extra is not null) foreach (var (k, v) in extra) meta[k] = v;
        SafeTensors.Save(path, Entries(Tensors(net)), meta);
    }

    /// <summary>A model file as read: its description, its tensors and its metadata.</summary>
    public sealed record Contents(ModelSpec Spec, IReadOnlyList<SafeTensors.Entry> Tensors, IReadOnlyDictionary<string, string> Metadata);

    /// <summary>Reads and validates a model file (once: pass the result on rather than reading the file again).</summary>
    public static Contents Read(string path)
    {
        var (tensors, meta) = SafeTensors.Load(path);
        if (!meta.TryGetValue("format", out var f) || f != Format)
            throw new InvalidFileException($"{path}: not a Backprop model (metadata 'format' is {(f is null ? "missing" : $"'{f}'")}, '{Format}' expected)");
        if (!meta.TryGetValue("model", out var m)) throw new InvalidFileException($"{path}: the metadata has no model description");
        return new Contents(ModelSpec.FromJson(m, path), tensors, meta);
    }

    /// <summary>Builds the network a file describes and loads its tensors, checking every name and shape.</summary>
    public static (Sequential<T> Net, ModelSpec Spec, IReadOnlyDictionary<string, string> Metadata) Load<T>(string path, Rng? rng = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        Load<T>(path, Read(path), rng);

    /// <summary>Builds the network of a file already read (<paramref name="path"/> names it in errors).</summary>
    public static (Sequential<T> Net, ModelSpec Spec, IReadOnlyDictionary<string, string> Metadata) Load<T>(string path, Contents contents, Rng? rng = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (spec, tensors, meta) = contents;
        var net = spec.Build<T>(rng ?? new Rng(0));
        Assign(path, Tensors(net), tensors);
        return (net, spec, meta);
    }

    /// <summary>Copies stored entries into the named tensors; every expected name must be present with its shape.</summary>
    public static void Assign<T>(string path, IEnumerable<(string Name, Tensor<T> Value)> into, IReadOnlyList<SafeTensors.Entry> stored) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var byName = stored.ToDictionary(e => e.Name);
        foreach (var (name, value) in into)
        {
            if (!byName.TryGetValue(name, out var e)) throw new InvalidFileException($"{path}: tensor '{name}' is missing");
            if (!value.HasShape(e.Shape))
                throw new InvalidFileException($"{path}: tensor '{name}' has shape {Tensor<T>.ShapeText(e.Shape)}, but the model needs {value.ShapeString}");
            var src = e.ToTensor<T>();
            for (int i = 0; i < src.Length; i++)
                if (!T.IsFinite(src.Span[i])) throw new InvalidFileException($"{path}: tensor '{name}' contains a NaN or infinity at index {i}");
            src.Span.CopyTo(value.Span);
        }
    }
}
