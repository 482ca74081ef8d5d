using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Backprop.Data;
using Backprop.IO;
using Backprop.Layers;
using Backprop.Networks;

namespace Backprop.Training;

/// <summary>The training settings that are not part of the model.</summary>
public sealed record TrainSettings
{
    /// <summary>sgd, momentum, nesterov, adagrad, rmsprop, adam or adamw.</summary>
    [JsonPropertyName("optimizer")] public string Optimizer { get; init; } = "sgd";
    /// <summary>The learning rate; null for the optimizer's textbook default.</summary>
    [JsonPropertyName("lr")] public double? LearningRate { get; init; }
    /// <summary>L2 weight decay λ (AdamW: decoupled decay).</summary>
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; }
    /// <summary>Mini-batch size.</summary>
    [JsonPropertyName("batch")] public int Batch { get; init; } = 100;
    /// <summary>The seed of every random draw: initialization, shuffling, dropout, the validation split.</summary>
    [JsonPropertyName("seed")] public ulong Seed { get; init; }
    /// <summary>The fraction of the training data held out for validation (0: train on all of it, no validation).</summary>
    [JsonPropertyName("validation")] public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Checks every field, with messages that name the option.</summary>
    public void Validate()
    {
        if (Batch < 1) throw new InvalidInputException($"--batch must be at least 1, not {Batch}");
        if (LearningRate is { } lr && (!(lr > 0) || !double.IsFinite(lr))) throw new InvalidInputException($"--lr must be a positive number, not {lr}");
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay)) throw new InvalidInputException($"--weight-decay must be 0 or more, not {WeightDecay}");
        if (!(ValidationFraction >= 0 && ValidationFraction < 1)) throw new InvalidInputException($"--validation must be at least 0 and below 1, not {ValidationFraction}");
        _ = Optimizer switch
        {
            "sgd" or "momentum" or "nesterov" or "adagrad" or "rmsprop" or "adam" or "adamw" => 0,
            _ => throw new InvalidInputException($"--optimizer must be one of sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, not '{Optimizer}'"),
        };
    }
}

/// <summary>One epoch's figures; Seconds is the training loop alone, evaluation excluded.</summary>
public sealed record EpochResult(
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("train_loss")] double TrainLoss,
    [property: JsonPropertyName("train_accuracy")] double TrainAccuracy,
    [property: JsonPropertyName("val_loss")] double? ValLoss,
    [property: JsonPropertyName("val_accuracy")] double? ValAccuracy,
    [property: JsonPropertyName("test_loss")] double? TestLoss,
    [property: JsonPropertyName("test_accuracy")] double? TestAccuracy);

/// <summary>Loss, accuracy and confusion matrix (rows: true class, columns: predicted) on a dataset.</summary>
public sealed record Evaluation(double Loss, double Accuracy, int[][] Confusion);

/// <summary>
/// Mini-batch training: seeded shuffling, forward, loss, backward, optimizer step; evaluation; checkpoints that resume
/// bit-identically (weights, optimizer state, random-generator state and history are all saved).
/// </summary>
public sealed class Trainer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Tensor<T>? _x, _t;
    private int[] _order = [];

    /// <summary>Creates a trainer for a freshly built network.</summary>
    public Trainer(ModelSpec spec, TrainSettings settings)
    {
        settings.Validate();
        spec.Validate();
        Spec = spec;
        Settings = settings;
        Rng = new Rng(settings.Seed);
        Net = spec.Build<T>(Rng);
        Optimizer = Optimizer<T>.Create(settings.Optimizer, Net.Parameters, settings.LearningRate, settings.WeightDecay);
    }

    /// <summary>The network.</summary>
    public Sequential<T> Net { get; }
    /// <summary>Its description.</summary>
    public ModelSpec Spec { get; }
    /// <summary>The training settings.</summary>
    public TrainSettings Settings { get; }
    /// <summary>The optimizer and its state.</summary>
    public Optimizer<T> Optimizer { get; }
    /// <summary>The generator for shuffling and dropout.</summary>
    public Rng Rng { get; }
    /// <summary>Completed epochs.</summary>
    public int Epoch => History.Count;
    /// <summary>Every completed epoch's figures.</summary>
    public List<EpochResult> History { get; } = new();

    /// <summary>Trains one epoch over <paramref name="train"/>, then evaluates on the validation and test data where given.</summary>
    public EpochResult RunEpoch(Dataset train, Dataset? validation, Dataset? test = null, Action<int, int>? progress = null)
    {
        if (train.Dim != Spec.Sizes[0])
            throw new ShapeMismatchException($"the data has {train.Dim} features per sample, but the network's input size is {Spec.Sizes[0]}");
        if (train.Classes > Spec.Sizes[^1])
            throw new ShapeMismatchException($"the data has {train.Classes} classes, but the network has {Spec.Sizes[^1]} outputs");
        var sw = Stopwatch.StartNew();
        if (_order.Length != train.Count) _order = Enumerable.Range(0, train.Count).ToArray();
        else for (int i = 0; i < _order.Length; i++) _order[i] = i;
        Rng.Shuffle(_order);
        Net.Training = true;
        int batches = (train.Count + Settings.Batch - 1) / Settings.Batch;
        double lossSum = 0;
        long correct = 0;
        for (int bi = 0; bi < batches; bi++)
        {
            int lo = bi * Settings.Batch, B = Math.Min(Settings.Batch, train.Count - lo);
            var (x, t) = Batch(train, _order.AsSpan(lo, B));
            T loss = Net.ComputeLoss(x, t);
            double l = double.CreateTruncating(loss);
            if (!double.IsFinite(l))
                throw new NonFiniteValueException($"training diverged in epoch {Epoch + 1}, batch {bi + 1}: the loss is {l}; try a smaller --lr");
            lossSum += l * B;
            correct += CountCorrect(Net.Loss is Losses.SoftmaxCrossEntropy<T> sce ? sce.Softmax! : x, t, B);
            if (Optimizer is Sgd<T> && Optimizer.WeightDecay == 0)
            {
                // Plain SGD is fused into the backward products (same update, two passes over W instead of four).
                Net.BackwardSgd(T.CreateTruncating(Optimizer.LearningRate));
                Optimizer.Steps++;
            }
            else
            {
                Net.BackwardParameters(T.One);
                Optimizer.Step();
            }
            progress?.Invoke(bi + 1, batches);
        }
        double seconds = sw.Elapsed.TotalSeconds;   // the training loop only, as the peers time it
        var val = validation is null ? null : Evaluate(Net, validation);
        var tst = test is null ? null : Evaluate(Net, test);
        var r = new EpochResult(Epoch + 1, seconds, lossSum / train.Count, (double)correct / train.Count,
            val?.Loss, val?.Accuracy, tst?.Loss, tst?.Accuracy);
        History.Add(r);
        return r;
    }

    private (Tensor<T> X, Tensor<T> T) Batch(Dataset data, ReadOnlySpan<int> idx)
    {
        int B = idx.Length, D = data.Dim;
        var x = TensorBuffer.Ensure(ref _x, B, D);
        var t = TensorBuffer.Ensure(ref _t, B);
        var xs = x.Span;
        var ts = t.Span;
        for (int i = 0; i < B; i++)
        {
            var src = data.Features.AsSpan(idx[i] * D, D);
            var dst = xs.Slice(i * D, D);
            if (typeof(T) == typeof(float)) src.CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(dst));
            else for (int j = 0; j < D; j++) dst[j] = T.CreateTruncating(src[j]);
            ts[i] = T.CreateTruncating(data.Labels[idx[i]]);
        }
        return (x, t);
    }

    private static long CountCorrect(Tensor<T> scores, Tensor<T> t, int B)
    {
        int C = scores.Dim(-1);
        long correct = 0;
        for (int i = 0; i < B; i++)
        {
            var row = scores.Span.Slice(i * C, C);
            int arg = System.Numerics.Tensors.TensorPrimitives.IndexOfMax<T>(row);
            if (arg == int.CreateTruncating(t.Span[i])) correct++;
        }
        return correct;
    }

    /// <summary>Loss, accuracy and confusion matrix of <paramref name="net"/> on <paramref name="data"/>, in inference mode.</summary>
    public static Evaluation Evaluate(Sequential<T> net, Dataset data, int batch = 1000)
    {
        bool wasTraining = net.Training;
        net.Training = false;
        try
        {
            int C = net.Layers.OfType<FullyConnected<T>>().Last().Outputs;
            var confusion = Enumerable.Range(0, C).Select(_ => new int[C]).ToArray();
            double lossSum = 0;
            long correct = 0;
            Tensor<T>? xb = null, tb = null;
            for (int lo = 0; lo < data.Count; lo += batch)
            {
                int B = Math.Min(batch, data.Count - lo), D = data.Dim;
                xb = TensorBuffer.Ensure(ref xb, B, D);
                tb = TensorBuffer.Ensure(ref tb, B);
                for (int i = 0; i < B * D; i++) xb.Span[i] = T.CreateTruncating(data.Features[(long)lo * D + i]);
                for (int i = 0; i < B; i++) tb.Span[i] = T.CreateTruncating(data.Labels[lo + i]);
                lossSum += double.CreateTruncating(net.ComputeLoss(xb, tb)) * B;
                var p = ((Losses.SoftmaxCrossEntropy<T>)net.Loss).Softmax!;
                for (int i = 0; i < B; i++)
                {
                    int pred = System.Numerics.Tensors.TensorPrimitives.IndexOfMax<T>(p.Span.Slice(i * C, C));
                    int truth = data.Labels[lo + i];
                    confusion[truth][pred]++;
                    if (pred == truth) correct++;
                }
            }
            return new Evaluation(lossSum / data.Count, (double)correct / data.Count, confusion);
        }
        finally
        {
            net.Training = wasTraining;
        }
    }

    /// <summary>Saves everything needed to resume bit-identically, atomically.</summary>
    public void SaveCheckpoint(string path)
    {
        var tensors = ModelFile.Tensors(Net).Concat(Optimizer.State);
        var meta = new Dictionary<string, string>
        {
            ["format"] = ModelFile.Format,
            ["model"] = Spec.ToJson(),
            ["training"] = JsonSerializer.Serialize(Settings),
            ["checkpoint"] = "1",
            ["optimizer_steps"] = Optimizer.Steps.ToString(CultureInfo.InvariantCulture),
            ["rng_state"] = string.Join(",", Rng.GetState().Select(w => w.ToString("x16", CultureInfo.InvariantCulture))),
            ["history"] = JsonSerializer.Serialize(History),
        };
        SafeTensors.Save(path, ModelFile.Entries(tensors), meta);
    }

    /// <summary>Restores a trainer from a checkpoint written by <see cref="SaveCheckpoint"/>.</summary>
    public static Trainer<T> LoadCheckpoint(string path) => LoadCheckpoint(path, ModelFile.Read(path));

    /// <summary>Restores a trainer from a checkpoint file already read (<paramref name="path"/> names it in errors).</summary>
    public static Trainer<T> LoadCheckpoint(string path, ModelFile.Contents contents)
    {
        var (spec, tensors, meta) = contents;
        if (!meta.ContainsKey("checkpoint") || !meta.TryGetValue("training", out var tj))
            throw new InvalidFileException($"{path}: a model, not a checkpoint (no training state); train with --out to a checkpoint-capable file or start afresh");
        TrainSettings settings;
        try { settings = JsonSerializer.Deserialize<TrainSettings>(tj) ?? throw new JsonException("empty"); settings.Validate(); }
        catch (Exception e) when (e is JsonException or InvalidInputException) { throw new InvalidFileException($"{path}: invalid training settings ({e.Message})", e); }
        string dtype = typeof(T) == typeof(float) ? "float32" : "float64";
        if (spec.Dtype != dtype) throw new InvalidFileException($"{path}: the checkpoint is {spec.Dtype}, not {dtype}");
        var trainer = new Trainer<T>(spec, settings);
        ModelFile.Assign(path, ModelFile.Tensors(trainer.Net).Concat(trainer.Optimizer.State), tensors);
        try
        {
            trainer.Optimizer.Steps = long.Parse(meta["optimizer_steps"], CultureInfo.InvariantCulture);
            trainer.Rng.SetState(meta["rng_state"].Split(',').Select(h => ulong.Parse(h, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray());
            trainer.History.AddRange(JsonSerializer.Deserialize<List<EpochResult>>(meta["history"]) ?? []);
        }
        catch (Exception e) when (e is KeyNotFoundException or FormatException or OverflowException or JsonException)
        {
            throw new InvalidFileException($"{path}: the checkpoint's training state is damaged ({e.Message})", e);
        }
        return trainer;
    }
}
