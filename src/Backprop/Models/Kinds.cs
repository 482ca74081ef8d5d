using System.Globalization;
using System.Numerics;
using Backprop.Layers;
using Backprop.Losses;

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

/// <summary>
/// One kind of layer: its name and aliases, a one-line summary, its hyper-parameters with defaults, the tensors it may be
/// given, and the factory that builds it for float or double. Register a kind of your own with
/// <see cref="Kinds.Register(LayerKind)"/> so that models containing it save and load.
/// </summary>
public abstract class LayerKind
{
    /// <summary>Declares the kind under the name the layer class carries (<see cref="LayerKindAttribute"/>), written once there.</summary>
    /// <param name="summary">One line: what the layer computes.</param>
    /// <param name="layerType">The layer class, generic definition allowed (<c>typeof(Relu&lt;&gt;)</c>): a saved layer must be of
    /// it.</param>
    protected LayerKind(string summary, Type layerType)
        : this(LayerKindAttribute.NameOf(layerType ?? throw new ArgumentNullException(nameof(layerType))), summary, layerType) { }

    /// <summary>Declares the kind.</summary>
    /// <param name="name">The canonical name, as files and the command line spell it (lower case, underscores).</param>
    /// <param name="summary">One line: what the layer computes.</param>
    /// <param name="layerType">The layer class, generic definition allowed (<c>typeof(Relu&lt;&gt;)</c>): a saved layer must be of
    /// it.</param>
    protected LayerKind(string name, string summary, Type layerType)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(layerType);
        Name = name;
        Summary = summary;
        LayerType = layerType;
    }

    /// <summary>The canonical name.</summary>
    public string Name { get; }

    /// <summary>What the layer computes, in one line.</summary>
    public string Summary { get; }

    /// <summary>The layer class this kind builds.</summary>
    public Type LayerType { get; }

    /// <summary>Other names accepted for it.</summary>
    public virtual IReadOnlyList<string> Aliases => [];

    /// <summary>Its hyper-parameters.</summary>
    public virtual IReadOnlyList<Hyperparameter> Hyperparameters => [];

    /// <summary>Tensors it may be built from instead of freshly initialized ones (W and b of a fully connected layer).</summary>
    public virtual IReadOnlyList<string> Tensors => [];

    /// <summary>
    /// The shapes of the tensors (parameters and buffers, by name) a layer of this configuration has, or null when the
    /// kind does not say: a model file's tensors are checked against them before any layer is allocated.
    /// </summary>
    public virtual IReadOnlyList<(string Name, int[] Shape)>? TensorShapes(LayerConfig config) => null;

    /// <summary>True for element-wise activations (the MLP builder's choices).</summary>
    public virtual bool IsActivation => false;

    /// <summary>Builds the layer.</summary>
    public abstract Layer<T> Create<T>(LayerConfig config) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>True when <paramref name="layer"/> is of this kind's class.</summary>
    public bool Builds(object layer)
    {
        var t = layer.GetType();
        return LayerType.IsGenericTypeDefinition ? t.IsGenericType && t.GetGenericTypeDefinition() == LayerType : t == LayerType;
    }
}

/// <summary>One kind of loss: name, aliases, summary and factory. What it can do (classify) the loss itself declares.</summary>
public sealed class LossKind
{
    private readonly Func<Type, object> _create;

    internal LossKind(string name, string summary, string[] aliases, Func<Type, object> create)
    {
        Name = name;
        Summary = summary;
        Aliases = aliases;
        _create = create;
    }

    /// <summary>A loss kind of your own, for <see cref="Kinds.Register(LossKind)"/>: its factories in float32 and float64.</summary>
    public LossKind(string name, string summary, IReadOnlyList<string> aliases, Func<Loss<float>> float32, Func<Loss<double>> float64)
        : this(Kinds.NormalizedName(name), summary ?? "", (aliases ?? []).Select(Kinds.NormalizedName).ToArray(),
            t => t == typeof(float) ? (float32 ?? throw new ArgumentNullException(nameof(float32)))()
                : (float64 ?? throw new ArgumentNullException(nameof(float64)))())
    {
    }

    /// <summary>The canonical name.</summary>
    public string Name { get; }
    /// <summary>What the loss computes.</summary>
    public string Summary { get; }
    /// <summary>Other names accepted for it.</summary>
    public IReadOnlyList<string> Aliases { get; }

    /// <summary>Creates the loss.</summary>
    public Loss<T> Create<T>() where T : unmanaged, IFloatingPointIeee754<T> => (Loss<T>)_create(typeof(T));
}

/// <summary>
/// The one registry of layer and loss kinds: what the command line's <c>layer</c> and <c>grad</c>, saved models, help
/// texts and tests enumerate. Adding a built-in kind means its layer file, its kernel and one entry here.
/// </summary>
public static class Kinds
{
    private static readonly object Gate = new();
    private static readonly List<LayerKind> LayerList = [];
    private static readonly List<LossKind> LossList = [];

    static Kinds()
    {
        foreach (var k in BuiltIn.Layers()) LayerList.Add(k);
        LossList.Add(new LossKind("softmax_cross_entropy", "L = −(1/B)·Σ t·log softmax(x); t one-hot (B, C) or class indices (B,)",
            ["softmax_with_loss", "cross_entropy", "softmaxcrossentropy"],
            t => t == typeof(float) ? new SoftmaxCrossEntropy<float>() : new SoftmaxCrossEntropy<double>()));
        LossList.Add(new LossKind("mse", "L = ½·Σ(y − t)²/B", ["mean_squared_error"],
            t => t == typeof(float) ? new MeanSquaredError<float>() : new MeanSquaredError<double>()));
    }

    /// <summary>Every layer kind, built-in ones first, then registered ones.</summary>
    public static IReadOnlyList<LayerKind> Layers { get { lock (Gate) return LayerList.ToArray(); } }

    /// <summary>Every loss kind, built-in ones first, then registered ones.</summary>
    public static IReadOnlyList<LossKind> Losses { get { lock (Gate) return LossList.ToArray(); } }

    /// <summary>The element-wise activation kinds.</summary>
    public static IReadOnlyList<LayerKind> Activations => Layers.Where(k => k.IsActivation).ToArray();

    /// <summary>Every canonical name, layers then losses.</summary>
    public static IReadOnlyList<string> Names => [.. Layers.Select(k => k.Name), .. Losses.Select(k => k.Name)];

    /// <summary>Adds a kind of your own (its name and aliases must be new).</summary>
    public static void Register(LayerKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        lock (Gate)
        {
            CheckFree(kind.Aliases.Prepend(kind.Name));
            LayerList.Add(kind);
        }
    }

    /// <summary>Adds a loss kind of your own (its name and aliases must be new): descriptions, model files, the command line's
    /// <c>layer</c> and <c>grad</c>, and the gradient check then know it.</summary>
    public static void Register(LossKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        lock (Gate)
        {
            CheckFree(kind.Aliases.Prepend(kind.Name));
            LossList.Add(kind);
        }
    }

    private static void CheckFree(IEnumerable<string> names)
    {
        foreach (var name in names)
            if (Find(Normalize(name)) is { } taken)
                throw new InvalidInputException($"the kind name '{name}' is taken by {taken}");
    }

    internal static string NormalizedName(string name) =>
        string.IsNullOrWhiteSpace(name) ? throw new ArgumentException("a kind needs a name", nameof(name)) : Normalize(name);

    private static string Normalize(string? s) => (s ?? "").Trim().ToLowerInvariant().Replace('-', '_');

    private static string? Find(string n)
    {
        foreach (var k in LayerList) if (k.Name == n || k.Aliases.Contains(n)) return k.Name;
        foreach (var k in LossList) if (k.Name == n || k.Aliases.Contains(n)) return k.Name;
        return null;
    }

    /// <summary>The canonical name of a layer or loss kind or one of its aliases (<c>fc</c> and <c>affine</c> are
    /// <c>fully_connected</c>).</summary>
    /// <exception cref="InvalidInputException">Unknown kind; the message lists every kind.</exception>
    public static string Canonical(string? kind)
    {
        lock (Gate)
            return Find(Normalize(kind)) ?? throw new InvalidInputException(
                $"unknown kind '{kind}'; expected one of {string.Join(", ", Names)} (fully_connected is also fc or affine)");
    }

    /// <summary>True for loss kinds (canonical names).</summary>
    public static bool IsLoss(string kind) => Losses.Any(k => k.Name == kind);

    /// <summary>The layer kind of a name or alias.</summary>
    /// <exception cref="InvalidInputException">Unknown, or a loss.</exception>
    public static LayerKind Layer(string kind)
    {
        string c = Canonical(kind);
        return Layers.FirstOrDefault(k => k.Name == c)
            ?? throw new InvalidInputException($"'{c}' is a loss, not a layer; expected one " +
                $"of {string.Join(", ", Layers.Select(k => k.Name))}");
    }

    /// <summary>The loss kind of a name or alias.</summary>
    /// <exception cref="InvalidInputException">Unknown, or a layer.</exception>
    public static LossKind Loss(string kind)
    {
        string c = Canonical(kind);
        var losses = Losses;
        return losses.FirstOrDefault(k => k.Name == c)
            ?? throw new InvalidInputException($"the loss must be one of {string.Join(", ", losses.Select(k => k.Name))}, not {c}");
    }

    /// <summary>
    /// Checks hyper-parameters against a kind's declaration (unknown names, types, ranges), fills in defaults, and keeps
    /// the given tensors (for kinds that take them). <paramref name="where"/> names the layer in messages.
    /// </summary>
    public static LayerConfig Configure(LayerKind kind, IEnumerable<KeyValuePair<string, object>>? values, string where,
        Rng? rng = null, IEnumerable<KeyValuePair<string, object>>? tensors = null)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var declared = kind.Hyperparameters.ToDictionary(h => h.Name);
        var resolved = new Dictionary<string, object>();
        foreach (var (name, value) in values ?? [])
        {
            if (!declared.TryGetValue(name, out var h))
                throw new InvalidInputException($"{where} ({kind.Name}): unknown hyper-parameter '{name}'; " +
                    (declared.Count == 0 ? "it takes none" : $"it takes {string.Join(", ", declared.Keys)}"));
            if (resolved.ContainsKey(name)) throw new InvalidInputException($"{where} ({kind.Name}): {name} is given twice");
            resolved[name] = h.Coerce(value, $"{where} ({kind.Name})");
        }
        foreach (var h in kind.Hyperparameters)
            if (!resolved.ContainsKey(h.Name) && h.Default is not null) resolved[h.Name] = h.Default;
        var given = new Dictionary<string, object>();
        foreach (var (name, t) in tensors ?? [])
        {
            if (!kind.Tensors.Contains(name))
                throw new InvalidInputException($"{where} ({kind.Name}): unknown tensor '{name}'"
                    + (kind.Tensors.Count == 0 ? "; it takes none" : $"; it takes {string.Join(", ", kind.Tensors)}"));
            given[name] = t;
        }
        return new LayerConfig(kind, resolved, given, rng, where);
    }

    /// <summary>Builds a layer by kind name from hyper-parameters (defaults for the rest).</summary>
    public static Layer<T> Create<T>(string kind, IReadOnlyDictionary<string, object>? hyperparameters = null, Rng? rng = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = Layer(kind);
        return k.Create<T>(Configure(k, hyperparameters, k.Name, rng));
    }
}
