using System.Numerics;
using Backprop.IO;
using Backprop.Networks;

namespace Backprop.Models;

/// <summary>
/// Saves and loads whole networks as one safetensors file: the tensors <c>layers.{i}.{name}</c> of a chain's layer i, or
/// <c>nodes.{node}.{name}</c> of a graph's node (parameters and buffers such as running statistics) and, in
/// <c>__metadata__</c>, <c>format</c> = <c>backprop-model</c> and the
/// <see cref="ModelDescription"/> as JSON under <c>model</c>. Training checkpoints add their own entries (see
/// <c>Trainer</c>). Files of the earlier MLP-only format (<c>backprop-mlp-1</c>) still load.
/// </summary>
public static class ModelFile
{
    /// <summary>The format tag in the metadata.</summary>
    public const string Format = "backprop-model";

    /// <summary>The format tag of files written before the self-describing schema (MLPs only).</summary>
    public const string LegacyFormat = "backprop-mlp-1";

    /// <summary>Every tensor of a network (parameters, then buffers, layer by layer) by its stored name.</summary>
    public static IEnumerable<(string Name, Tensor<T> Value)> Tensors<T>(Network<T> net) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(net);
        var prefixes = net is GraphNetwork<T> g ? g.Nodes.Where(n => n.Layer is not null).Select(n => $"nodes.{n.Name}").ToArray()
            : [.. Enumerable.Range(0, net.Layers.Count).Select(i => $"layers.{i}")];
        for (int i = 0; i < net.Layers.Count; i++)
        {
            foreach (var p in net.Layers[i].Parameters) yield return ($"{prefixes[i]}.{p.Name}", p.Value);
            foreach (var (name, value) in net.Layers[i].Buffers) yield return ($"{prefixes[i]}.{name}", value);
        }
    }

    // Where a description's entry i keeps its tensors: layers.{i} in a chain, nodes.{node} in a graph.
    private static string PrefixOf(ModelDescription d, int i) => d.IsGraph ? $"nodes.{d.Layers[i].Node}" : $"layers.{i}";

    private static string PrefixOf(ModelDescription d) => d.IsGraph ? "nodes." : "layers.";

    /// <summary>Converts named tensors to safetensors entries of the tensors' own dtype.</summary>
    public static IEnumerable<SafeTensors.Entry> Entries<T>(IEnumerable<(string Name, Tensor<T> Value)> tensors) where T : unmanaged,
        IFloatingPointIeee754<T> =>
        tensors.Select(t => typeof(T) == typeof(float)
            ? new SafeTensors.Entry(t.Name, t.Value.Shape.ToArray(), (float[])(object)t.Value.Span.ToArray(), null)
            : new SafeTensors.Entry(t.Name, t.Value.Shape.ToArray(), null, (double[])(object)t.Value.Span.ToArray()));

    /// <summary>
    /// Saves a network (atomically: a temporary file renamed over <paramref name="path"/>). <paramref name="metadata"/> and
    /// <paramref name="extraTensors"/> add entries (a checkpoint's training state); they may not reuse the model's names.
    /// </summary>
    /// <exception cref="InvalidInputException">A layer that cannot be described (its kind is not registered).</exception>
    public static void Save<T>(string path, Network<T> net, IReadOnlyDictionary<string, string>? metadata = null,
        IEnumerable<(string Name, Tensor<T> Value)>? extraTensors = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(path);
        var description = ModelDescription.Of(net);
        var meta = new Dictionary<string, string> { ["format"] = Format, ["model"] = description.ToJson() };
        foreach (var (k, v) in metadata ?? new Dictionary<string, string>())
            if (!meta.TryAdd(k, v)) throw new InvalidInputException($"metadata entry '{k}' is the model file's own");
        var tensors = Tensors(net).Concat(extraTensors ?? []).ToList();
        var dup = tensors.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new InvalidInputException($"two tensors are named '{dup.Key}'");
        SafeTensors.Save(path, Entries(tensors), meta);
    }

    /// <summary>A model file as read: its description, its tensors and its metadata.</summary>
    public sealed record Contents(ModelDescription Description, IReadOnlyList<SafeTensors.Entry> Tensors, IReadOnlyDictionary<string,
        string> Metadata)
    {
        /// <summary>True for a file of the earlier MLP-only format.</summary>
        public bool Legacy => Metadata.GetValueOrDefault("format") == LegacyFormat;
    }

    /// <summary>Reads and validates a model file (once: pass the result on rather than reading the file again).</summary>
    /// <exception cref="InvalidFileException">Not a model file, or one whose description or tensors are damaged.</exception>
    public static Contents Read(string path)
    {
        var (tensors, meta) = SafeTensors.Load(path);
        string? f = meta.GetValueOrDefault("format");
        if (f is not (Format or LegacyFormat))
            throw new InvalidFileException($"{path}: not a Backprop model (metadata 'format' is {(f is null ? "missing" : $"'{f}'")}, " +
                $"'{Format}' expected)");
        if (!meta.TryGetValue("model", out var m)) throw new InvalidFileException($"{path}: the metadata has no model description");
        var description = f == LegacyFormat ? MlpSpec.FromJson(m, path).Describe() : ModelDescription.FromJson(m, path);
        string dtype = description.Dtype == "float32" ? "F32" : "F64";
        foreach (var e in tensors)
            if ((e.F32 is not null ? "F32" : "F64") != dtype)
                throw new InvalidFileException($"{path}: tensor '{e.Name}' is {(e.F32 is not null ? "F32" : "F64")}, but the model " +
                    $"is {description.Dtype}");
        return new Contents(description, tensors, meta);
    }

    /// <summary>Builds the network a file describes and loads its tensors, checking every name and shape.</summary>
    public static Network<T> Load<T>(string path) where T : unmanaged, IFloatingPointIeee754<T> => Load<T>(path, Read(path));

    /// <summary>
    /// Builds the network of a file already read (<paramref name="path"/> names it in errors) and loads its tensors; every
    /// tensor the network has must be in the file with its shape, and the file may hold no other <c>layers.</c> (or a
    /// graph's <c>nodes.</c>) tensor. Dropout layers draw from generators split from <paramref name="rng"/>. A chain's file
    /// gives a <see cref="Sequential{T}"/>, a graph's a <see cref="GraphNetwork{T}"/>.
    /// </summary>
    public static Network<T> Load<T>(string path, Contents contents, Rng? rng = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(contents);
        if (contents.Description.Dtype != ModelDescription.DtypeOf<T>())
            throw new InvalidFileException($"{path}: the model is {contents.Description.Dtype}; load it as " +
                $"Network<{(contents.Description.Dtype == "float32" ? "float" : "double")}>");
        CheckShapesBeforeBuilding(path, contents);
        Network<T> net;
        try { net = contents.Description.Build<T>(rng ?? new Rng(0)); }
        catch (InvalidInputException e) { throw new InvalidFileException($"{path}: the model description is not valid: {e.Message}", e); }
        Assign(path, Tensors(net), contents.Tensors, PrefixOf(contents.Description));
        return net;
    }

    // The tensors the description implies, against those stored, before a layer is allocated: a small file whose
    // description asks for a huge layer fails here instead of allocating gigabytes first.
    private static void CheckShapesBeforeBuilding(string path, Contents contents)
    {
        var stored = new Dictionary<string, int[]>();
        foreach (var e in contents.Tensors) stored.TryAdd(e.Name, e.Shape);
        for (int i = 0; i < contents.Description.Layers.Count; i++)
        {
            var d = contents.Description.Layers[i];
            if (contents.Description.IsGraph && LayerDescription.Joins.Contains(d.Kind)) continue;
            LayerKind kind;
            LayerConfig config;
            try
            {
                kind = Kinds.Layer(d.Kind);
                config = Kinds.Configure(kind, d.Hyperparameters, $"layers[{i}]");
            }
            catch (InvalidInputException e)
            {
                throw new InvalidFileException($"{path}: the model description is not valid: {e.Message}",
                e);
            }
            foreach (var (name, shape) in kind.TensorShapes(config) ?? [])
            {
                string full = $"{PrefixOf(contents.Description, i)}.{name}";
                if (!stored.TryGetValue(full, out var have)) throw new InvalidFileException($"{path}: tensor '{full}' is missing");
                if (!have.AsSpan().SequenceEqual(shape))
                    throw new InvalidFileException($"{path}: tensor '{full}' has shape {Tensor<float>.ShapeText(have)}, but the model " +
                        $"description needs {Tensor<float>.ShapeText(shape)}");
            }
        }
    }

    /// <summary>
    /// Loads a file's tensors into an existing network, as <c>load_state_dict</c> does: the file's model tensors and the
    /// network's must agree name by name, in order, shape by shape; the first that differs is named in the error.
    /// </summary>
    public static void LoadWeights<T>(Network<T> net, string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(net);
        var contents = Read(path);
        string prefix = net is GraphNetwork<T> ? "nodes." : "layers.";
        var theirs = contents.Tensors.Where(e => e.Name.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        var ours = Tensors(net).ToList();
        for (int i = 0; i < Math.Max(theirs.Count, ours.Count); i++)
        {
            if (i >= ours.Count) throw new InvalidFileException($"{path}: tensor '{theirs[i].Name}' has no counterpart in the network, " +
                $"which has {ours.Count} tensors");
            if (i >= theirs.Count) throw new InvalidFileException($"{path}: the network's tensor '{ours[i].Name}' is not in the file, " +
                $"which has {theirs.Count} model tensors");
            if (theirs[i].Name != ours[i].Name) throw new InvalidFileException($"{path}: tensor {i} is '{theirs[i].Name}' in the file " +
                $"but '{ours[i].Name}' in the network");
            if (!ours[i].Value.HasShape(theirs[i].Shape))
                throw new InvalidFileException($"{path}: tensor '{ours[i].Name}' has shape {Tensor<T>.ShapeText(theirs[i].Shape)} in the " +
                    $"file, but {ours[i].Value.ShapeString} in the network");
        }
        Assign(path, ours, theirs, prefix);
    }

    /// <summary>
    /// Copies stored entries into the named tensors: every expected name must be present with its shape and finite
    /// values, and no stored name that starts with <paramref name="prefix"/> may be left over.
    /// </summary>
    public static void Assign<T>(string path, IEnumerable<(string Name, Tensor<T> Value)> into, IReadOnlyList<SafeTensors.Entry> stored,
        string? prefix = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var byName = new Dictionary<string, SafeTensors.Entry>();
        foreach (var e in stored)
            if (!byName.TryAdd(e.Name, e)) throw new InvalidFileException($"{path}: tensor '{e.Name}' is stored twice");
        var used = new HashSet<string>();
        foreach (var (name, value) in into)
        {
            if (!byName.TryGetValue(name, out var e)) throw new InvalidFileException($"{path}: tensor '{name}' is missing");
            if (!value.HasShape(e.Shape))
                throw new InvalidFileException($"{path}: tensor '{name}' has shape {Tensor<T>.ShapeText(e.Shape)}, but the model " +
                    $"needs {value.ShapeString}");
            var src = e.ToTensor<T>();
            for (int i = 0; i < src.Length; i++)
                if (!T.IsFinite(src.Span[i])) throw new InvalidFileException($"{path}: tensor '{name}' contains a NaN or infinity at " +
                    $"index {i}");
            src.Span.CopyTo(value.Span);
            used.Add(name);
        }
        if (prefix is not null)
            foreach (var e in stored)
                if (e.Name.StartsWith(prefix, StringComparison.Ordinal) && !used.Contains(e.Name))
                    throw new InvalidFileException($"{path}: tensor '{e.Name}' belongs to no layer of the model the file describes");
    }
}

/// <summary>Saving and loading as members of the networks: <c>net.Save(path)</c>, <c>Network&lt;float&gt;.Load(path)</c>,
/// <c>Sequential&lt;float&gt;.Load(path)</c> for a chain.</summary>
public static class NetworkFiles
{
    extension<T>(Network<T> net) where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <summary>Saves the network, its description and its tensors, to one safetensors file (atomically).</summary>
        public void Save(string path) => ModelFile.Save(path, net);

        /// <summary>Loads a file's tensors into this network; names and shapes must agree (see <see
        /// cref="ModelFile.LoadWeights{T}"/>).</summary>
        public void LoadWeights(string path) => ModelFile.LoadWeights(net, path);

        /// <summary>What the network is: its layers' kinds and hyper-parameters (a graph's nodes and their inputs), the loss and
        /// the element type.</summary>
        public ModelDescription Description => ModelDescription.Of(net);

        /// <summary>Writes the network as an ONNX model (docs/ONNX.md).</summary>
        public void ExportOnnx(string path, OnnxExportOptions? options = null) => OnnxFile.Export(net, path, options);

        /// <summary>The network a file describes, with its tensors: a chain or a graph.</summary>
        public static Network<T> Load(string path) => ModelFile.Load<T>(path);

        /// <summary>Imports an ONNX model of the operators docs/ONNX.md lists: a chain, or a graph with Add and Concat.</summary>
        public static Network<T> ImportOnnx(string path) => OnnxFile.Import<T>(path);
    }
}

/// <summary>Loading a chain as a member of <see cref="Sequential{T}"/>: <c>Sequential&lt;float&gt;.Load(path)</c>.</summary>
public static class SequentialFiles
{
    extension<T>(Sequential<T> net) where T : unmanaged, IFloatingPointIeee754<T>
    {
        /// <summary>The chain a file describes, with its tensors.</summary>
        /// <exception cref="InvalidFileException">The file holds a graph network (load it as a <see cref="Network{T}"/>).</exception>
        public static Sequential<T> Load(string path) => ModelFile.Load<T>(path) as Sequential<T>
            ?? throw new InvalidFileException($"{path}: a graph network, not a chain; load it with Network<{typeof(T).Name}>.Load");

        /// <summary>Imports an ONNX model of the operators docs/ONNX.md lists, whose graph is a chain.</summary>
        /// <exception cref="InvalidFileException">The graph branches (import it as a <see cref="Network{T}"/>).</exception>
        public static Sequential<T> ImportOnnx(string path) => OnnxFile.Import<T>(path) as Sequential<T>
            ?? throw new InvalidFileException($"{path}: the graph branches; import it with Network<{typeof(T).Name}>.ImportOnnx");
    }
}
