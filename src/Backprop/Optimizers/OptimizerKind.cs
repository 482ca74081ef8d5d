using System.Numerics;
using Backprop.Layers;

namespace Backprop.Optimizers;

/// <summary>One hyper-parameter of an optimizer kind beyond the learning rate and weight decay: its default and range.</summary>
/// <param name="Name">As settings, checkpoints and the command line spell it (<c>momentum</c>, <c>beta1</c>).</param>
/// <param name="Default">The value when none is given.</param>
/// <param name="Min">The smallest value allowed.</param>
/// <param name="Max">The bound above: allowed only where <paramref name="MaxInclusive"/>.</param>
/// <param name="Description">What it is, for help texts.</param>
/// <param name="MaxInclusive">True when <paramref name="Max"/> itself is allowed.</param>
public sealed record OptimizerHyperparameter(string Name, double Default, double Min, double Max, string Description,
    bool MaxInclusive = false)
{
    /// <summary>The allowed values in words: "[0, 1)".</summary>
    public string Range => $"[{Min}, {Max}{(MaxInclusive ? "]" : ")")}";

    /// <summary>True when <paramref name="v"/> is in the range.</summary>
    public bool Allows(double v) => v >= Min && (MaxInclusive ? v <= Max : v < Max);
}

/// <summary>
/// A kind of optimizer, registered once: its name, the exact reference its update equals, its hyper-parameters with
/// their defaults and ranges, and how to build one. Settings, checkpoints and the command line read everything about an
/// optimizer from here, so that a new one is its own file (the optimizer and its kind) plus one <see cref="Register"/>.
/// </summary>
public abstract class OptimizerKind
{
    /// <summary>Creates a kind; <see cref="Register"/> makes it known by name.</summary>
    protected OptimizerKind(string name, string update, string reference, double learningRate, double weightDecay,
        params OptimizerHyperparameter[] hyperparameters)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(update);
        ArgumentNullException.ThrowIfNull(reference);
        Name = name.ToLowerInvariant();
        Update = update;
        Reference = reference;
        LearningRate = learningRate;
        WeightDecay = weightDecay;
        Hyperparameters = hyperparameters;
    }

    /// <summary>The name, lower case, as files and the command line spell it.</summary>
    public string Name { get; }

    /// <summary>The update in one line of formulas.</summary>
    public string Update { get; }

    /// <summary>The reference the update equals, exactly (a test checks it against that reference's formula).</summary>
    public string Reference { get; }

    /// <summary>The default learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>The default weight decay λ.</summary>
    public double WeightDecay { get; }

    /// <summary>Hyper-parameters beyond the learning rate and weight decay.</summary>
    public IReadOnlyList<OptimizerHyperparameter> Hyperparameters { get; }

    /// <summary>
    /// True where weight decay is decoupled (W ← W − lr·λ·W apart from the gradient, as AdamW); false where it is added
    /// to the gradient (g + λ·W, the textbook's L2), which <see cref="Optimizer{T}"/> then does before the update.
    /// </summary>
    public virtual bool DecouplesDecay => false;

    /// <summary>Builds the optimizer from settings whose defaults are filled in and values checked.</summary>
    public abstract Optimizer<T> Create<T>(IReadOnlyList<Parameter<T>> parameters, OptimizerSettings settings)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <inheritdoc/>
    public override string ToString() => Name;

    private static readonly List<OptimizerKind> Registered = [];

    /// <summary>Every registered kind, built-in ones first.</summary>
    public static IReadOnlyList<OptimizerKind> All
    {
        get { lock (Registered) return [.. Registered]; }
    }

    /// <summary>Makes <paramref name="kind"/> known by its name to settings, checkpoints and the command line.</summary>
    /// <exception cref="InvalidInputException">A kind of that name is registered already.</exception>
    public static T Register<T>(T kind) where T : OptimizerKind
    {
        ArgumentNullException.ThrowIfNull(kind);
        lock (Registered)
        {
            if (Registered.Any(k => k.Name == kind.Name))
                throw new InvalidInputException($"an optimizer named '{kind.Name}' is registered already");
            Registered.Add(kind);
        }
        return kind;
    }

    /// <summary>The kind of a name.</summary>
    /// <exception cref="InvalidInputException">No kind has that name.</exception>
    public static OptimizerKind Parse(string name)
    {
        string n = (name ?? "").Trim().ToLowerInvariant();
        return All.FirstOrDefault(k => k.Name == n)
            ?? throw new InvalidInputException($"unknown optimizer '{name}'; expected one of {string.Join(", ", All.Select(k => k.Name))}");
    }

    // The registry: one entry per kind, each kind in its optimizer's file.

    /// <summary>SGD (<see cref="Sgd{T}"/>).</summary>
    public static readonly OptimizerKind Sgd = Register(new SgdKind());
    /// <summary>Momentum (<see cref="Momentum{T}"/>).</summary>
    public static readonly OptimizerKind Momentum = Register(new MomentumKind());
    /// <summary>Nesterov's momentum (<see cref="Nesterov{T}"/>).</summary>
    public static readonly OptimizerKind Nesterov = Register(new NesterovKind());
    /// <summary>AdaGrad (<see cref="AdaGrad{T}"/>).</summary>
    public static readonly OptimizerKind AdaGrad = Register(new AdaGradKind());
    /// <summary>RMSProp (<see cref="RmsProp{T}"/>).</summary>
    public static readonly OptimizerKind RmsProp = Register(new RmsPropKind());
    /// <summary>The textbook's Adam (<see cref="Adam{T}"/>).</summary>
    public static readonly OptimizerKind Adam = Register(new AdamKind("adam", decoupled: false, torch: false));
    /// <summary>The textbook's Adam with decoupled weight decay (<see cref="Adam{T}"/>).</summary>
    public static readonly OptimizerKind AdamW = Register(new AdamKind("adamw", decoupled: true, torch: false));
    /// <summary><c>torch.optim.Adam</c> (<see cref="Adam{T}"/>).</summary>
    public static readonly OptimizerKind AdamTorch = Register(new AdamKind("adam_torch", decoupled: false, torch: true));
    /// <summary><c>torch.optim.AdamW</c> (<see cref="Adam{T}"/>).</summary>
    public static readonly OptimizerKind AdamWTorch = Register(new AdamKind("adamw_torch", decoupled: true, torch: true));
}
