using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Backprop.Data;
using Backprop.Layers;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;

namespace Backprop.Training;

// Checkpoints: everything needed to resume a run bit-identically, in a model file.
public sealed partial class Trainer<T>
{
    /// <summary>The metadata entry of a model's <see cref="Data.Standardization"/>.</summary>
    public const string StandardizationKey = "standardization";

    /// <summary>The standardization a model file records, or null.</summary>
    /// <exception cref="InvalidFileException">A damaged entry.</exception>
    public static Standardization? StandardizationOf(ModelFile.Contents contents, string path)
    {
        ArgumentNullException.ThrowIfNull(contents);
        if (!contents.Metadata.TryGetValue(StandardizationKey, out var json)) return null;
        Standardization? s;
        try { s = JsonSerializer.Deserialize<Standardization>(json); }
        catch (JsonException e) { throw new InvalidFileException($"{path}: the standardization entry is damaged ({e.Message})", e); }
        if (s is null || s.Mean.Length != s.Std.Length || s.Mean.Length == 0 || s.Std.Any(v => !(v > 0) || !float.IsFinite(v))
            || s.Mean.Any(v => !float.IsFinite(v)))
            throw new InvalidFileException($"{path}: the standardization entry is damaged");
        return s;
    }

    /// <summary>The checkpoint format's version (in the metadata entry <c>checkpoint</c>).</summary>
    public const int CheckpointVersion = 2;

    /// <summary>
    /// Saves everything needed to resume bit-identically, atomically, as a model file with the training state added:
    /// metadata <c>checkpoint</c>, <c>training</c> (batch, seed), <c>optimizer</c> (kind and hyper-parameters),
    /// <c>optimizer_steps</c>, <c>rng_state</c>, <c>layer_rng_state</c>, <c>history</c> and <c>data</c>; tensors
    /// <c>optimizer.{parameter}.{slot}</c>.
    /// </summary>
    public void SaveCheckpoint(string path)
    {
        var layerRng = new Dictionary<string, string>();
        for (int i = 0; i < Net.Layers.Count; i++)
            if (Net.Layers[i] is IStochasticLayer s) layerRng[i.ToString(CultureInfo.InvariantCulture)] = RngText(s.Rng);
        var meta = new Dictionary<string, string>
        {
            ["checkpoint"] = CheckpointVersion.ToString(CultureInfo.InvariantCulture),
            ["training"] = JsonSerializer.Serialize(Options),
            ["optimizer"] = JsonSerializer.Serialize(BaseSettings()),
            ["optimizer_steps"] = Optimizer.Steps.ToString(CultureInfo.InvariantCulture),
            ["rng_state"] = RngText(Rng),
            ["layer_rng_state"] = JsonSerializer.Serialize(layerRng),
            ["history"] = JsonSerializer.Serialize(History),
        };
        if (Data is not null) meta["data"] = JsonSerializer.Serialize(Data);
        if (Standardization is not null) meta[StandardizationKey] = JsonSerializer.Serialize(Standardization);
        ModelFile.Save(path, Net, meta, Optimizer.State);
    }

    // The optimizer's settings with the base rate, not this epoch's scheduled one: a resumed run schedules from the base.
    private OptimizerSettings BaseSettings()
    {
        double now = Optimizer.LearningRate;
        Optimizer.LearningRate = BaseLearningRate;
        try { return Optimizer.Settings; }
        finally { Optimizer.LearningRate = now; }
    }

    private static string RngText(Rng rng) => string.Join(",", rng.GetState().Select(w => w.ToString("x16", CultureInfo.InvariantCulture)));

    private static void SetRng(Rng rng, string text) =>
        rng.SetState(text.Split(',').Select(h => ulong.Parse(h, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)).ToArray());

    /// <summary>Restores a trainer from a checkpoint written by <see cref="SaveCheckpoint"/>.</summary>
    public static Trainer<T> LoadCheckpoint(string path) => LoadCheckpoint(path, ModelFile.Read(path));

    /// <summary>Restores a trainer from a checkpoint file already read (<paramref name="path"/> names it in errors).</summary>
    /// <exception cref="InvalidFileException">A model without training state, another element type, or damaged training state.</exception>
    public static Trainer<T> LoadCheckpoint(string path, ModelFile.Contents contents)
    {
        ArgumentNullException.ThrowIfNull(contents);
        var meta = contents.Metadata;
        if (!meta.ContainsKey("checkpoint") || !meta.TryGetValue("training", out var tj))
            throw new InvalidFileException($"{path}: a model, not a checkpoint (no training state)");
        if (contents.Description.Dtype != ModelDescription.DtypeOf<T>())
            throw new InvalidFileException($"{path}: the checkpoint is {contents.Description.Dtype}, not {ModelDescription.DtypeOf<T>()}");
        try
        {
            TrainerOptions options;
            OptimizerSettings optimizer;
            DataSource? data = null;
            if (contents.Legacy)
            {
                var legacy = JsonSerializer.Deserialize<LegacySettings>(tj) ?? throw new JsonException("the training settings are null");
                options = new TrainerOptions { Batch = legacy.Batch, Seed = legacy.Seed };
                optimizer = new OptimizerSettings
                {
                    Kind = OptimizerSettings.Parse(legacy.Optimizer),
                    LearningRate = legacy.LearningRate,
                    WeightDecay = legacy.WeightDecay
                };
            }
            else
            {
                options = JsonSerializer.Deserialize<TrainerOptions>(tj) ?? throw new JsonException("the training settings are null");
                optimizer = JsonSerializer.Deserialize<OptimizerSettings>(Require(meta, "optimizer"))
                    ?? throw new JsonException("the optimizer is null");
                if (meta.TryGetValue("data", out var dj)) data = JsonSerializer.Deserialize<DataSource>(dj)
                    ?? throw new JsonException("the data source is null");
                data?.Validate();
            }
            var net = ModelFile.Load<T>(path, contents, new Rng(options.Seed));
            var trainer = new Trainer<T>(net, optimizer, options) { Data = data, Standardization = StandardizationOf(contents, path) };
            ModelFile.Assign(path, trainer.Optimizer.State, contents.Tensors, "optimizer.");
            trainer.Optimizer.Steps = long.Parse(Require(meta, "optimizer_steps"), NumberStyles.None, CultureInfo.InvariantCulture);
            SetRng(trainer.Rng, Require(meta, "rng_state"));
            if (meta.TryGetValue("layer_rng_state", out var lj))
            {
                var states = JsonSerializer.Deserialize<Dictionary<string, string>>(lj)
                    ?? throw new JsonException("layer_rng_state is null");
                foreach (var (key, state) in states)
                {
                    if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= net.Layers.Count
                        || net.Layers[i] is not IStochasticLayer s)
                        throw new InvalidFileException($"{path}: layer_rng_state names layer '{key}', which draws no random numbers");
                    SetRng(s.Rng, state);
                }
            }
            var history = JsonSerializer.Deserialize<List<EpochResult>>(Require(meta, "history"))
                ?? throw new JsonException("the history is null");
            if (history.Any(h => h is null)) throw new JsonException("the history has a null epoch");
            trainer.History.AddRange(history);
            return trainer;
        }
        catch (Exception e)
            when (e is JsonException or FormatException or OverflowException or InvalidInputException or NotSupportedException)
        {
            throw new InvalidFileException($"{path}: the checkpoint's training state is damaged ({e.Message})", e);
        }
    }

    private static string Require(IReadOnlyDictionary<string, string> meta, string key) =>
        meta.TryGetValue(key, out var v) ? v : throw new FormatException($"'{key}' is missing");

    // The training settings of backprop-mlp-1 checkpoints.
    private sealed record LegacySettings
    {
        [JsonPropertyName("optimizer")] public string Optimizer { get; init; } = "sgd";
        [JsonPropertyName("lr")] public double? LearningRate { get; init; }
        [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; }
        [JsonPropertyName("batch")] public int Batch { get; init; } = 100;
        [JsonPropertyName("seed")] public ulong Seed { get; init; }
        [JsonPropertyName("validation")] public double ValidationFraction { get; init; }
    }
}
