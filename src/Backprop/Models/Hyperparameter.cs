using System.Globalization;
using System.Numerics;

namespace Backprop.Models;

/// <summary>The type of a hyper-parameter's value.</summary>
public enum HyperparameterType
{
    /// <summary>A whole number (sizes).</summary>
    Integer,
    /// <summary>A finite real number.</summary>
    Number,
    /// <summary>true or false.</summary>
    Boolean,
    /// <summary>One word out of <see cref="Hyperparameter.Choices"/>.</summary>
    Choice,
}

/// <summary>One hyper-parameter of a layer kind: its name, type, default (null: required) and allowed range or words.</summary>
public sealed record Hyperparameter(string Name, HyperparameterType Type, object? Default, string Description)
{
    /// <summary>The words a <see cref="HyperparameterType.Choice"/> takes.</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];
    /// <summary>The smallest value allowed (numbers and integers).</summary>
    public double Min { get; init; } = double.NegativeInfinity;
    /// <summary>The largest value allowed (numbers and integers).</summary>
    public double Max { get; init; } = double.PositiveInfinity;
    /// <summary>True when <see cref="Min"/> itself is not allowed.</summary>
    public bool MinExclusive { get; init; }
    /// <summary>True when <see cref="Max"/> itself is not allowed.</summary>
    public bool MaxExclusive { get; init; }

    /// <summary>
    /// True for a setting that only says how a fresh layer is initialized (a fully connected layer's init): the layer
    /// does not report it, so descriptions compare without it.
    /// </summary>
    public bool CreationOnly { get; init; }

    /// <summary>True when the kind has no default for it.</summary>
    public bool Required => Default is null;

    /// <summary>The allowed values in words, for help texts and errors: "an integer from 1 to 1048576", "tanh or none".</summary>
    public string Allowed => Type switch
    {
        HyperparameterType.Boolean => "true or false",
        HyperparameterType.Choice => string.Join(" or ", Choices),
        _ => (Type == HyperparameterType.Integer ? "an integer" : "a number") + Range(),
    };

    private string Range()
    {
        string lo = Min.ToString(CultureInfo.InvariantCulture), hi = Max.ToString(CultureInfo.InvariantCulture);
        bool hasLo = !double.IsNegativeInfinity(Min), hasHi = !double.IsPositiveInfinity(Max);
        if (hasLo && hasHi) return $" in {(MinExclusive ? "(" : "[")}{lo}, {hi}{(MaxExclusive ? ")" : "]")}";
        if (hasLo) return MinExclusive ? $" above {lo}" : $" of at least {lo}";
        if (hasHi) return MaxExclusive ? $" below {hi}" : $" of at most {hi}";
        return "";
    }

    /// <summary>Checks and converts a value (int, long, double, bool or string) to this hyper-parameter's type.</summary>
    /// <exception cref="InvalidInputException">The value has the wrong type or is out of range; the message names <paramref
    /// name="where"/>.</exception>
    public object Coerce(object value, string where)
    {
        ArgumentNullException.ThrowIfNull(value);
        InvalidInputException Bad() => new($"{where}: {Name} must be {Allowed}, not {Show(value)}");
        switch (Type)
        {
            case HyperparameterType.Boolean:
                return value is bool b ? b : throw Bad();
            case HyperparameterType.Choice:
                if (value is not string s || !Choices.Contains(s.ToLowerInvariant())) throw Bad();
                return s.ToLowerInvariant();
            default:
                double d = value switch { int i => i, long l => l, double x => x, float f => f, _ => throw Bad() };
                if (!double.IsFinite(d) || d < Min || d > Max || (MinExclusive && d == Min) || (MaxExclusive && d == Max)) throw Bad();
                if (Type == HyperparameterType.Number) return d;
                if (d != Math.Floor(d) || d > int.MaxValue || d < int.MinValue) throw Bad();
                return (int)d;
        }
    }

    internal static string Show(object v) => v switch
    {
        string s => $"'{s}'",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "null",
    };
}

/// <summary>
/// The hyper-parameters (defaults filled in, every value checked) and, where given, the tensors to build one layer from.
/// </summary>
public sealed class LayerConfig
{
    private readonly Dictionary<string, object> _values;
    private readonly Dictionary<string, object> _tensors;

    internal LayerConfig(LayerKind kind, Dictionary<string, object> values, Dictionary<string, object> tensors, Rng? rng, string where)
    {
        Kind = kind;
        _values = values;
        _tensors = tensors;
        Rng = rng;
        Where = where;
    }

    /// <summary>The kind being built.</summary>
    public LayerKind Kind { get; }

    /// <summary>Where the layer is described ("layers[2]"), for messages.</summary>
    public string Where { get; }

    /// <summary>The generator for initial weights and dropout masks; null: <see cref="Backprop.Rng.Fork"/>.</summary>
    public Rng? Rng { get; }

    /// <summary>Every hyper-parameter given or defaulted, by name.</summary>
    public IReadOnlyDictionary<string, object> Values => _values;

    /// <summary>True when the hyper-parameter has a value (given or by default).</summary>
    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>An integer hyper-parameter.</summary>
    public int Int(string name) => (int)Get(name);

    /// <summary>A number hyper-parameter.</summary>
    public double Number(string name) => (double)Get(name);

    /// <summary>A boolean hyper-parameter.</summary>
    public bool Flag(string name) => (bool)Get(name);

    /// <summary>A choice hyper-parameter.</summary>
    public string Choice(string name) => (string)Get(name);

    /// <summary>A tensor given with the layer (W and b of a fully connected layer read from the command line), or null.</summary>
    public Tensor<T>? Tensor<T>(string name) where T : unmanaged, IFloatingPointIeee754<T> =>
        _tensors.TryGetValue(name, out var t) ? (Tensor<T>)t : null;

    private object Get(string name) =>
        _values.TryGetValue(name, out var v) ? v : throw new InvalidInputException($"{Where} ({Kind.Name}): {name} is required");
}

