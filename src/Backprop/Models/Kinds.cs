using System.Globalization;
using System.Numerics;
using Backprop.Layers;
using Backprop.Losses;

namespace Backprop.Models;

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
