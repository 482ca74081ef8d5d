using System.Text.Json;
using System.Text.Json.Serialization;

namespace Backprop.Optimizers;

/// <summary>
/// An optimizer and its hyper-parameters. Null (or absent) means the kind's default (<see cref="OptimizerKind"/>: lr
/// 0.01, Adam's 0.001; weight decay 0, AdamW's 0.01 as <c>torch.optim.AdamW</c>; momentum 0.9, RMSProp's decay ρ 0.99,
/// β₁ 0.9, β₂ 0.999, the torch forms' ε 1e-8). In JSON (checkpoints): <c>{"kind": "adam", "lr": 0.001, "weight_decay": 0,
/// "beta1": 0.9, "beta2": 0.999}</c>, each of the kind's hyper-parameters by its name.
/// </summary>
[JsonConverter(typeof(OptimizerSettingsJson))]
public sealed record OptimizerSettings
{
    private Dictionary<string, double> _values = [];

    /// <summary>Which optimizer.</summary>
    public OptimizerKind Kind { get; init; } = OptimizerKind.Sgd;

    /// <summary>The learning rate.</summary>
    public double? LearningRate { get; init; }

    /// <summary>L2 weight decay λ (decoupled where the kind says so); applies to parameters whose role decays.</summary>
    public double? WeightDecay { get; init; }

    /// <summary>The values given for the kind's own hyper-parameters (<see cref="OptimizerKind.Hyperparameters"/>), by name.</summary>
    public IReadOnlyDictionary<string, double> Values
    {
        get => _values;
        init => _values = new Dictionary<string, double>(value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>The value given for hyper-parameter <paramref name="name"/>, or null.</summary>
    public double? this[string name] => _values.TryGetValue(name, out double v) ? v : null;

    // Copied on each change, so that a `with` copy never shares a change with its original.
    private void Set(string name, double? value)
    {
        var copy = new Dictionary<string, double>(_values);
        if (value is { } v) copy[name] = v;
        else copy.Remove(name);
        _values = copy;
    }

    /// <summary>The momentum m of Momentum and Nesterov.</summary>
    public double? Momentum { get => this["momentum"]; init => Set("momentum", value); }
    /// <summary>RMSProp's decay rate ρ.</summary>
    public double? Decay { get => this["decay"]; init => Set("decay", value); }
    /// <summary>Adam's β₁.</summary>
    public double? Beta1 { get => this["beta1"]; init => Set("beta1", value); }
    /// <summary>Adam's β₂.</summary>
    public double? Beta2 { get => this["beta2"]; init => Set("beta2", value); }
    /// <summary>The torch forms of Adam's ε.</summary>
    public double? Eps { get => this["eps"]; init => Set("eps", value); }

    /// <summary>Every name <see cref="Parse"/> accepts: the registered kinds.</summary>
    public static IReadOnlyList<string> Names => OptimizerKind.All.Select(k => k.Name).ToArray();

    /// <summary>The optimizer's name as files and the command line spell it.</summary>
    public static string Name(OptimizerKind kind) => (kind ?? throw new ArgumentNullException(nameof(kind))).Name;

    /// <summary>The kind of a name.</summary>
    /// <exception cref="InvalidInputException">Unknown name.</exception>
    public static OptimizerKind Parse(string name) => OptimizerKind.Parse(name);

    /// <summary>The same settings with every default of the kind filled in.</summary>
    public OptimizerSettings Resolved()
    {
        var values = new Dictionary<string, double>(_values);
        foreach (var h in Kind.Hyperparameters) values.TryAdd(h.Name, h.Default);
        return this with
        {
            LearningRate = LearningRate ?? Kind.LearningRate,
            WeightDecay = WeightDecay ?? Kind.WeightDecay,
            Values = values,
        };
    }

    /// <summary>Checks every value, naming the setting.</summary>
    /// <exception cref="InvalidInputException">A value out of range, or a hyper-parameter this kind does not have.</exception>
    public void Validate()
    {
        if (Kind is null) throw new InvalidInputException("the optimizer kind is missing");
        if (LearningRate is { } lr && (!(lr > 0)
            || !double.IsFinite(lr))) throw new InvalidInputException($"the learning rate must be a positive number, not {lr}");
        if (WeightDecay is { } wd && (!(wd >= 0)
            || !double.IsFinite(wd))) throw new InvalidInputException($"the weight decay must be 0 or more, not {wd}");
        foreach (var (name, v) in _values)
        {
            var h = Kind.Hyperparameters.FirstOrDefault(h => h.Name == name)
                ?? throw new InvalidInputException($"{Kind.Name} has no hyper-parameter {name}");
            if (!h.Allows(v)) throw new InvalidInputException($"{Kind.Name}: {name} must be in {h.Range}, not {v}");
        }
    }

    /// <inheritdoc/>
    public bool Equals(OptimizerSettings? other) =>
        other is not null && ReferenceEquals(Kind, other.Kind) && LearningRate == other.LearningRate && WeightDecay == other.WeightDecay
        && _values.Count == other._values.Count && _values.All(kv => other._values.TryGetValue(kv.Key, out double v) && v.Equals(kv.Value));

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, LearningRate, WeightDecay, _values.Count);
}

/// <summary>Settings as one flat JSON object: kind, lr, weight_decay, then each of the kind's hyper-parameters by name.</summary>
internal sealed class OptimizerSettingsJson : JsonConverter<OptimizerSettings>
{
    public override OptimizerSettings Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        var o = doc.RootElement;
        if (o.ValueKind != JsonValueKind.Object) throw new JsonException("optimizer settings must be an object");
        OptimizerKind kind = OptimizerKind.Sgd;
        double? lr = null, wd = null;
        var values = new Dictionary<string, double>();
        foreach (var p in o.EnumerateObject())
        {
            double? Number() => p.Value.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.Number when p.Value.TryGetDouble(out double d) => d,
                _ => throw new JsonException($"optimizer setting '{p.Name}' must be a number"),
            };
            switch (p.Name)
            {
                case "kind":
                    if (p.Value.ValueKind != JsonValueKind.String) throw new JsonException("the optimizer kind must be a string");
                    try { kind = OptimizerKind.Parse(p.Value.GetString()!); }
                    catch (InvalidInputException e) { throw new JsonException(e.Message); }
                    break;
                case "lr": lr = Number(); break;
                case "weight_decay": wd = Number(); break;
                default:
                    if (Number() is { } v && !values.TryAdd(p.Name, v))
                        throw new JsonException($"optimizer setting '{p.Name}' given twice");
                    break;
            }
        }
        return new OptimizerSettings { Kind = kind, LearningRate = lr, WeightDecay = wd, Values = values };
    }

    public override void Write(Utf8JsonWriter writer, OptimizerSettings value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("kind", value.Kind.Name);
        Number(writer, "lr", value.LearningRate);
        Number(writer, "weight_decay", value.WeightDecay);
        // The kind's hyper-parameters in its order, then any others (Validate refuses those, but they round-trip).
        var order = value.Kind.Hyperparameters.Select(h => h.Name).ToList();
        foreach (var (name, v) in value.Values.OrderBy(kv => order.IndexOf(kv.Key) is int i and >= 0 ? i : int.MaxValue))
            writer.WriteNumber(name, v);
        writer.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, double? v)
    {
        if (v is { } d) w.WriteNumber(name, d);
        else w.WriteNull(name);
    }
}
