using System.Text.Json.Serialization;

namespace Backprop.Optimizers;

/// <summary>The optimizers, with the textbook's update formulas (AdamW as <c>torch.optim.AdamW</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OptimizerKind>))]
public enum OptimizerKind
{
    /// <summary>W ← W − lr·g.</summary>
    [JsonStringEnumMemberName("sgd")] Sgd,
    /// <summary>v ← m·v − lr·g; W ← W + v.</summary>
    [JsonStringEnumMemberName("momentum")] Momentum,
    /// <summary>W ← W + m²·v − (1 + m)·lr·g, then v ← m·v − lr·g.</summary>
    [JsonStringEnumMemberName("nesterov")] Nesterov,
    /// <summary>h ← h + g²; W ← W − lr·g/(√h + 1e-7).</summary>
    [JsonStringEnumMemberName("adagrad")] AdaGrad,
    /// <summary>h ← ρ·h + (1 − ρ)·g²; W ← W − lr·g/(√h + 1e-7).</summary>
    [JsonStringEnumMemberName("rmsprop")] RmsProp,
    /// <summary>The textbook's Adam.</summary>
    [JsonStringEnumMemberName("adam")] Adam,
    /// <summary>Adam with decoupled weight decay.</summary>
    [JsonStringEnumMemberName("adamw")] AdamW,
}

/// <summary>
/// An optimizer and its hyper-parameters. Null means the default: lr 0.01 (Adam and AdamW 0.001), weight decay 0
/// (AdamW 0.01, as <c>torch.optim.AdamW</c>), momentum 0.9, RMSProp's decay ρ 0.99, β₁ 0.9, β₂ 0.999.
/// </summary>
public sealed record OptimizerSettings
{
    /// <summary>Which optimizer.</summary>
    [JsonPropertyName("kind")] public OptimizerKind Kind { get; init; } = OptimizerKind.Sgd;
    /// <summary>The learning rate.</summary>
    [JsonPropertyName("lr")] public double? LearningRate { get; init; }
    /// <summary>L2 weight decay λ (AdamW: decoupled); applies to parameters whose role decays.</summary>
    [JsonPropertyName("weight_decay")] public double? WeightDecay { get; init; }
    /// <summary>The momentum m of Momentum and Nesterov.</summary>
    [JsonPropertyName("momentum"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Momentum { get; init; }
    /// <summary>RMSProp's decay rate ρ.</summary>
    [JsonPropertyName("decay"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Decay { get; init; }
    /// <summary>Adam's β₁.</summary>
    [JsonPropertyName("beta1"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Beta1 { get; init; }
    /// <summary>Adam's β₂.</summary>
    [JsonPropertyName("beta2"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Beta2 { get; init; }

    /// <summary>Every name <see cref="Parse"/> accepts, in the order of <see cref="OptimizerKind"/>.</summary>
    public static readonly IReadOnlyList<string> Names = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"];

    /// <summary>The optimizer's name as files and the command line spell it.</summary>
    public static string Name(OptimizerKind kind) => Names[(int)kind];

    /// <summary>The kind of a name.</summary>
    /// <exception cref="InvalidInputException">Unknown name.</exception>
    public static OptimizerKind Parse(string name)
    {
        int i = Names.ToList().IndexOf((name ?? "").Trim().ToLowerInvariant());
        if (i < 0) throw new InvalidInputException($"unknown optimizer '{name}'; expected one of {string.Join(", ", Names)}");
        return (OptimizerKind)i;
    }

    /// <summary>The same settings with every default filled in, and only the hyper-parameters this kind has.</summary>
    public OptimizerSettings Resolved() => Kind switch
    {
        OptimizerKind.Momentum or OptimizerKind.Nesterov => Base(0.01, 0) with { Momentum = Momentum ?? 0.9 },
        OptimizerKind.RmsProp => Base(0.01, 0) with { Decay = Decay ?? 0.99 },
        OptimizerKind.Adam => Base(0.001, 0) with { Beta1 = Beta1 ?? 0.9, Beta2 = Beta2 ?? 0.999 },
        OptimizerKind.AdamW => Base(0.001, 0.01) with { Beta1 = Beta1 ?? 0.9, Beta2 = Beta2 ?? 0.999 },
        _ => Base(0.01, 0),
    };

    private OptimizerSettings Base(double lr, double wd) =>
        new() { Kind = Kind, LearningRate = LearningRate ?? lr, WeightDecay = WeightDecay ?? wd };

    /// <summary>Checks every value, naming the setting.</summary>
    /// <exception cref="InvalidInputException">A value out of range, or a hyper-parameter this kind does not have.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind)) throw new InvalidInputException($"optimizer kind {(int)Kind} is not one of {string.Join(", ", Names)}");
        if (LearningRate is { } lr && (!(lr > 0)
            || !double.IsFinite(lr))) throw new InvalidInputException($"the learning rate must be a positive number, not {lr}");
        if (WeightDecay is { } wd && (!(wd >= 0)
            || !double.IsFinite(wd))) throw new InvalidInputException($"the weight decay must be 0 or more, not {wd}");
        bool momentum = Kind is OptimizerKind.Momentum or OptimizerKind.Nesterov, adam = Kind is OptimizerKind.Adam or OptimizerKind.AdamW;
        Check("momentum", Momentum, momentum, 0, 1, upperOpen: true);
        Check("decay", Decay, Kind == OptimizerKind.RmsProp, 0, 1, upperOpen: true);
        Check("beta1", Beta1, adam, 0, 1, upperOpen: true);
        Check("beta2", Beta2, adam, 0, 1, upperOpen: true);
    }

    private void Check(string name, double? value, bool applies, double lo, double hi, bool upperOpen)
    {
        if (value is not { } v) return;
        if (!applies) throw new InvalidInputException($"{Name(Kind)} has no hyper-parameter {name}");
        if (!(v >= lo
            && (upperOpen ? v < hi
            : v <= hi))) throw new InvalidInputException($"{Name(Kind)}: {name} must be in [{lo}, {hi}{(upperOpen ? ")" : "]")}, not {v}");
    }
}
