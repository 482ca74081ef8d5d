using System.Numerics;
using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Models;

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

    /// <summary>
    /// Sample configurations with an input each, for everything that enumerates the registry: the gradient check
    /// (<c>GradientCheckSuite</c>), the ONNX round trip and the save-and-load tests. An activation's default is one sample
    /// with its default hyper-parameters on a (3, 4) input.
    /// </summary>
    public virtual IReadOnlyList<LayerExample> Examples => IsActivation
        ? [new LayerExample(LayerType.Name.Split('`')[0], new Dictionary<string, object>(), [3, 4])] : [];

    /// <summary>
    /// The input shape a graph that starts with this layer declares (<c>["N", 784]</c>, <c>["N", 3, "H", "W"]</c>;
    /// strings are symbolic dimensions), or null when the layer takes any shape (activations, dropout).
    /// </summary>
    public virtual IReadOnlyList<object>? OnnxInputShape(LayerDescription layer) => null;

    /// <summary>
    /// Writes the layer as standard ONNX operators reading <see cref="OnnxLayerWriter.Input"/> and returns the value it
    /// produces (docs/ONNX.md lists the built-in forms). A kind without an override has no ONNX form: exporting a network
    /// that holds it is an error naming the layer.
    /// </summary>
    public virtual string ToOnnx(OnnxLayerWriter onnx)
    {
        ArgumentNullException.ThrowIfNull(onnx);
        throw new InvalidInputException($"{onnx.Prefix}: the kind '{Name}' has no ONNX form (override LayerKind.ToOnnx)");
    }

    /// <summary>The ONNX operators a layer of this kind may start with on import (built-in kinds).</summary>
    internal virtual IReadOnlyList<string> OnnxOperators => [];

    /// <summary>
    /// The layer that starts at node <paramref name="n"/> reading <paramref name="x"/>, with every node it spans, or null
    /// when the nodes are not this kind's form; nothing is taken until the importer chooses the longest match.
    /// </summary>
    internal virtual OnnxMatch? FromOnnx(OnnxImporter r, OnnxNode n, string x) => null;

    /// <summary>True when <paramref name="layer"/> is of this kind's class.</summary>
    public bool Builds(object layer)
    {
        var t = layer.GetType();
        return LayerType.IsGenericTypeDefinition ? t.IsGenericType && t.GetGenericTypeDefinition() == LayerType : t == LayerType;
    }
}

/// <summary>
/// A sample configuration of a layer kind: a label, hyper-parameters (defaults for the rest) and an input shape.
/// </summary>
/// <param name="Label">How reports name it ("Softplus (beta 2, threshold 3)").</param>
/// <param name="Hyperparameters">The values given; the kind's defaults fill in the rest.</param>
/// <param name="InputShape">The input's shape, batch first.</param>
public sealed record LayerExample(string Label, IReadOnlyDictionary<string, object> Hyperparameters, int[] InputShape)
{
    /// <summary>Where the layer's derivative jumps besides 0 (a softplus threshold): random inputs keep clear of it.</summary>
    public double Kink { get; init; }

    /// <summary>True when inputs must be distinct (a tie in a max-pooling window moves the derivative within a step).</summary>
    public bool Distinct { get; init; }

    /// <summary>False for a layer checked in inference (dropout draws a new mask on every training pass).</summary>
    public bool Training { get; init; } = true;
}
