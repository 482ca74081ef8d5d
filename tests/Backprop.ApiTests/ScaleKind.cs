using Backprop.Layers;
using Backprop.Models;

namespace Backprop.ApiTests;

/// <summary>The registry entry that lets networks holding a <see cref="Scale{T}"/> save and load.</summary>
public sealed class ScaleKind() : LayerKind("scale", "y = x·s per feature", typeof(Scale<>))
{
    private static readonly Lazy<bool> Registered = new(() => { Kinds.Register(new ScaleKind()); return true; });

    public static void EnsureRegistered() => _ = Registered.Value;

    public override IReadOnlyList<Hyperparameter> Hyperparameters =>
        [new("features", HyperparameterType.Integer, null, "the features scaled") { Min = 1 }];

    public override Layer<T> Create<T>(LayerConfig config) => new Scale<T>(config.Int("features"));
}
