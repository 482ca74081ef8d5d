using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Backprop.Layers;
using Backprop.Networks;

namespace Backprop.Models;

/// <summary>
/// A multi-layer perceptron described by its sizes, one way to build a network: for every hidden size, fully connected
/// → [batch norm] → activation → [dropout]; then a fully connected output layer and softmax cross-entropy. It is also
/// the model description of files written before schema version 2 (format <c>backprop-mlp-1</c>), which still load.
/// </summary>
public sealed record MlpSpec
{
    /// <summary>Layer sizes from input to output, e.g. 784, 256, 10.</summary>
    [JsonPropertyName("sizes")] public int[] Sizes { get; init; } = [784, 256, 10];
    /// <summary>The activation kind after each hidden layer.</summary>
    [JsonPropertyName("activation")] public string Activation { get; init; } = "relu";
    /// <summary>The weight initialization: he, xavier or normal.</summary>
    [JsonPropertyName("init")] public Initialization Init { get; init; } = Initialization.He;
    /// <summary>The standard deviation of the normal initialization.</summary>
    [JsonPropertyName("init_std")] public double InitStd { get; init; } = 0.01;
    /// <summary>Dropout probability after each hidden activation (0 for none).</summary>
    [JsonPropertyName("dropout")] public double Dropout { get; init; }
    /// <summary>Batch normalization before each hidden activation.</summary>
    [JsonPropertyName("batch_norm")] public bool BatchNorm { get; init; }
    /// <summary>float32 or float64.</summary>
    [JsonPropertyName("dtype")] public string Dtype { get; init; } = "float32";

    /// <summary>Checks every field, with messages in the description's terms (sizes, activation, …).</summary>
    public void Validate()
    {
        if (Sizes is null
            || Sizes.Length < 2) throw new InvalidInputException($"an MLP needs at least an input and an output size, " +
            $"not {(Sizes is null ? "none" : string.Join(",", Sizes))}");
        if (Sizes.Any(s =>
            s < 1 || s > 1 << 20)) throw new InvalidInputException($"MLP sizes must be between 1 and {1 << 20}: {string.Join(",", Sizes)}");
        for (int i = 0; i + 1 < Sizes.Length; i++)
            if ((long)Sizes[i] * Sizes[i + 1] > BuiltIn.MaxWeights)
                throw new InvalidInputException($"an MLP layer of {Sizes[i]}×{Sizes[i + 1]} weights would need " +
                    $"{(long)Sizes[i] * Sizes[i + 1] * 12 / 1e9:0.#} GB (float32, with gradient and optimizer state); the limit is " +
                    $"{BuiltIn.MaxWeights} weights a layer");
        var kind = Kinds.Layer(Activation ?? "");
        if (!kind.IsActivation)
            throw new InvalidInputException($"the activation must be one of {string.Join(", ", Kinds.Activations.Select(k => k.Name))}, " +
                $"not '{Activation}'");
        if (!Enum.IsDefined(Init)) throw new InvalidInputException($"the initialization must be he, xavier or normal, not {(int)Init}");
        if (!(InitStd > 0)
            || !double.IsFinite(InitStd)) throw new InvalidInputException($"init_std must be a positive number, not {InitStd}");
        if (!(Dropout >= 0 && Dropout < 1)) throw new InvalidInputException($"the dropout probability must be in [0, 1), not {Dropout}");
        if (Dtype is not ("float32" or "float64")) throw new InvalidInputException($"dtype must be float32 or float64, not '{Dtype}'");
    }

    /// <summary>The network this spec builds, as a description.</summary>
    public ModelDescription Describe()
    {
        Validate();
        string activation = Kinds.Layer(Activation).Name;
        var layers = new List<LayerDescription>();
        for (int i = 0; i + 1 < Sizes.Length; i++)
        {
            var fc = new Dictionary<string, object> { ["inputs"] = Sizes[i], ["outputs"] = Sizes[i + 1] };
            if (Init != Initialization.He) fc["init"] = InitName(Init);
            if (Init == Initialization.Normal) fc["init_std"] = InitStd;
            layers.Add(new LayerDescription("fully_connected", fc));
            if (i + 2 == Sizes.Length) break;
            if (BatchNorm) layers.Add(new LayerDescription("batch_norm", new Dictionary<string, object> { ["features"] = Sizes[i + 1] }));
            layers.Add(new LayerDescription(activation, new Dictionary<string, object>()));
            if (Dropout > 0) layers.Add(new LayerDescription("dropout", new Dictionary<string, object> { ["p"] = Dropout }));
        }
        return new ModelDescription(Dtype, layers, "softmax_cross_entropy");
    }

    /// <summary>
    /// The spec that describes <paramref name="d"/>, or null when it is not an MLP of this shape (the check compares
    /// <see cref="Describe"/> of the candidate with <paramref name="d"/>).
    /// </summary>
    public static MlpSpec? From(ModelDescription d)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (d.Loss != "softmax_cross_entropy") return null;
        var fcs = d.Layers.Where(l => l.Kind == "fully_connected").ToList();
        if (fcs.Count == 0 || fcs.Any(l => !l.Hyperparameters.ContainsKey("inputs"))) return null;
        var sizes = fcs.Select(l => (int)l.Hyperparameters["inputs"]).Append((int)fcs[^1].Hyperparameters["outputs"]).ToArray();
        var activation = d.Layers.FirstOrDefault(l => l.Kind is not ("fully_connected" or "batch_norm" or "dropout"))?.Kind ?? "relu";
        var first = fcs[0].Hyperparameters;
        var spec = new MlpSpec
        {
            Sizes = sizes,
            Activation = activation,
            Init = first.TryGetValue("init", out var i) ? ParseInit((string)i) : Initialization.He,
            InitStd = first.TryGetValue("init_std", out var sd) ? (double)sd : 0.01,
            Dropout = d.Layers.FirstOrDefault(l => l.Kind == "dropout")?.Hyperparameters.GetValueOrDefault("p") as double? ?? 0,
            BatchNorm = d.Layers.Any(l => l.Kind == "batch_norm"),
            Dtype = d.Dtype,
        };
        try { return spec.Describe().Equals(d) ? spec : null; }
        catch (InvalidInputException) { return null; }
    }

    /// <summary>The initialization's name as descriptions and the command line spell it: he, xavier or normal.</summary>
    public static string InitName(Initialization init) => init switch
    {
        Initialization.Xavier => "xavier",
        Initialization.Normal => "normal",
        _ => "he",
    };

    /// <summary>The initialization of a name (he, xavier or normal).</summary>
    public static Initialization ParseInit(string name) => name switch
    {
        "he" => Initialization.He,
        "xavier" => Initialization.Xavier,
        "normal" => Initialization.Normal,
        _ => throw new InvalidInputException($"the initialization must be he, xavier or normal, not '{name}'"),
    };

    /// <summary>Builds the network with fresh weights drawn from <paramref name="rng"/>.</summary>
    public Sequential<T> Build<T>(Rng? rng = null) where T : unmanaged, IFloatingPointIeee754<T> =>
        (Sequential<T>)(this with { Dtype = ModelDescription.DtypeOf<T>() }).Describe().Build<T>(rng);

    /// <summary>The spec as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>A spec from JSON (the <c>model</c> entry of a <c>backprop-mlp-1</c> file), validated.</summary>
    /// <exception cref="InvalidFileException">Anything wrong, naming <paramref name="where"/>.</exception>
    public static MlpSpec FromJson(string json, string where)
    {
        MlpSpec? s;
        try { s = JsonSerializer.Deserialize<MlpSpec>(json); }
        catch (JsonException e)
        {
            throw new InvalidFileException($"{where}: the model description is not valid " +
            $"({e.Message.Split(". ")[0]})", e);
        }
        if (s is null) throw new InvalidFileException($"{where}: the model description is empty");
        try { s.Validate(); }
        catch (InvalidInputException e) { throw new InvalidFileException($"{where}: the model description is not valid: {e.Message}", e); }
        return s;
    }
}
