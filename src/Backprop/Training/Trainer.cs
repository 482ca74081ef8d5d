using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Backprop.Data;
using Backprop.IO;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;

namespace Backprop.Training;

/// <summary>One epoch's figures; Seconds is the training loop alone, evaluation excluded. Accuracies are null for regression.</summary>
public sealed record EpochResult(
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("train_loss")] double TrainLoss,
    [property: JsonPropertyName("train_accuracy")] double? TrainAccuracy,
    [property: JsonPropertyName("val_loss")] double? ValLoss,
    [property: JsonPropertyName("val_accuracy")] double? ValAccuracy,
    [property: JsonPropertyName("test_loss")] double? TestLoss,
    [property: JsonPropertyName("test_accuracy")] double? TestAccuracy);

/// <summary>
/// The loss on a dataset and, for classifiers, the accuracy and the confusion matrix (rows: true class, columns:
/// predicted); both null for regression.
/// </summary>
public sealed record Evaluation(double Loss, double? Accuracy, int[][]? Confusion);

/// <summary>
/// Mini-batch training of any network (<see cref="Sequential{T}"/> or <see cref="GraphNetwork{T}"/>) with any optimizer:
/// seeded shuffling, forward, loss, then the
/// optimizer's step (backward and update, fused where the optimizer can); evaluation; checkpoints that resume
/// bit-identically (weights, optimizer state, every random generator's state, history and the data source).
/// </summary>
/// <remarks>
/// A network whose loss classifies (<see cref="Loss{T}.Classifies"/>: softmax cross-entropy) trains on a dataset's class
/// labels and reports accuracy; any other (mean squared error, or a loss of your own) trains on its targets. A trainer,
/// like its network, is used from one thread at a time.
/// </remarks>
public sealed partial class Trainer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const ulong ShuffleStream = 0x5DEECE66DUL;

    private DataLoader<T>? _loader;

    /// <summary>Creates a trainer for <paramref name="net"/>, updated by <paramref name="optimizer"/> (created over
    /// net.Parameters).</summary>
    public Trainer(Network<T> net, Optimizer<T> optimizer, TrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(optimizer);
        Options = options ?? new TrainerOptions();
        Options.Validate();
        var theirs = net.Parameters;
        if (theirs.Count != optimizer.Parameters.Count || theirs.Where((p, i) =>
            !ReferenceEquals(p.Value, optimizer.Parameters[i].Value)).Any())
            throw new InvalidInputException("the optimizer was not created over this network's parameters; create it from net.Parameters");
        Net = net;
        Optimizer = optimizer;
        BaseLearningRate = optimizer.LearningRate;
        Rng = new Rng(Options.Seed ^ ShuffleStream);
    }

    /// <summary>Creates a trainer for <paramref name="net"/> with an optimizer made from <paramref name="optimizer"/>.</summary>
    public Trainer(Network<T> net, OptimizerSettings optimizer, TrainerOptions? options = null)
        : this(net, Optimizer<T>.Create(optimizer, (net ?? throw new ArgumentNullException(nameof(net))).Parameters), options) { }

    /// <summary>The network.</summary>
    public Network<T> Net { get; }
    /// <summary>The optimizer and its state.</summary>
    public Optimizer<T> Optimizer { get; }
    /// <summary>How the data is gone through.</summary>
    public TrainerOptions Options { get; }
    /// <summary>The generator of the shuffling.</summary>
    public Rng Rng { get; }
    /// <summary>How the features were standardized before training (fitted on the training split), recorded in checkpoints so
    /// that the model's users scale raw inputs alike; null for none.</summary>
    public Standardization? Standardization { get; set; }
    /// <summary>Where the data comes from, recorded in checkpoints (null when not said).</summary>
    public DataSource? Data { get; set; }
    /// <summary>Completed epochs.</summary>
    public int Epoch => History.Count;
    /// <summary>Every completed epoch's figures.</summary>
    public List<EpochResult> History { get; } = new();

    // What the loss declares: class labels and accuracy where it classifies, else target values.
    private bool Classifier => Net.Loss.Classifies;

    /// <summary>Trains one epoch over <paramref name="train"/>, then evaluates on the validation and test data where given.</summary>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite (the run diverged); the message names the epoch
    /// and batch.</exception>
    public EpochResult RunEpoch(Dataset train, Dataset? validation, Dataset? test = null, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        CheckData(train);
        var sw = Stopwatch.StartNew();
        if (_loader is null || !ReferenceEquals(_loader.Data, train))
            _loader = new DataLoader<T>(train, Options.Batch, Rng, Options.Augment);
        _loader.Shuffle();
        Net.Training = true;
        AgreeOnce(train);
        CommunicationSeconds = 0;
        if (Options.Schedule is { } schedule) Optimizer.LearningRate = schedule.Rate(BaseLearningRate, Epoch);
        int batches = (int)(((long)train.Count + Options.Batch - 1) / Options.Batch);   // a batch above the count is one batch
        double lossSum = 0;
        long correct = 0;
        for (int bi = 0; bi < batches; bi++)
        {
            int lo = (int)((long)bi * Options.Batch), B = Math.Min(Options.Batch, train.Count - lo);
            var (x, t) = _loader.Batch(bi);
            double l;
            long right = 0;
            try
            {
                if (Options.Shards is null) l = double.CreateTruncating(Net.ComputeLoss(x, t));
                else (l, right) = ShardedStep(x, t, _loader.Indices(bi), train.Labels);
            }
            catch (ShapeMismatchException e) when (bi == 0)
            {
                throw new ShapeMismatchException($"{train.Name} ({train.Dim} features per " +
                $"sample): {e.Message}");
            }
            if (!double.IsFinite(l))
                throw new TrainingDivergedException($"training diverged in epoch {Epoch + 1}, batch {bi + 1} of {batches}: the loss " +
                    $"is {l}; a smaller learning rate may help", Epoch + 1, bi + 1);
            lossSum += l * B;
            RunningLoss = lossSum / ((long)bi * Options.Batch + B);
            if (Options.Shards is not null)
            {
                // every shard's gradients are summed into the parameters' Grad already
                correct += right;
                if (Options.ClipNorm is { } clip) ClipGradients(clip);
                Optimizer.Step();
            }
            else
            {
                if (Classifier) correct += CountCorrect(Net.Loss.Probabilities!, train.Labels, _loader.Indices(bi));
                if (Options.ClipNorm is { } max)
                {
                    // Every gradient first, then their global norm, then the update: the fused backward-and-update cannot clip.
                    Net.Backward(T.One, inputGradient: false);
                    ClipGradients(max);
                    Optimizer.Step();
                }
                else Optimizer.Step(Net);
            }
            progress?.Invoke(bi + 1, batches);
        }
        double seconds = sw.Elapsed.TotalSeconds;   // the training loop only, as the peers time it
        _exchange?.Stop();   // the exchange thread (with OverlapExchange) waits for the next epoch's
        var val = validation is null ? null : Evaluate(Net, validation);
        var tst = test is null ? null : Evaluate(Net, test);
        var r = new EpochResult(Epoch + 1, seconds, lossSum / train.Count, Classifier ? (double)correct / train.Count : null,
            val?.Loss, val?.Accuracy, tst?.Loss, tst?.Accuracy);
        // A loss that is not finite anywhere is divergence, whose figures are neither kept nor written.
        foreach (var (what, loss) in (ReadOnlySpan<(string, double?)>)[("training", r.TrainLoss), ("validation", r.ValLoss),
            ("test", r.TestLoss)])
            if (loss is { } l && !double.IsFinite(l))
                throw new TrainingDivergedException($"training diverged in epoch {Epoch + 1}: the {what} loss is {l}; a smaller learning " +
                    "rate may help", Epoch + 1, batches);
        History.Add(r);
        KeepIfBest(r);
        return r;
    }

    /// <summary>The mean training loss of the current epoch's batches so far (for progress displays).</summary>
    public double RunningLoss { get; private set; }

    /// <summary>The optimizer's rate when the trainer was made, which a schedule changes epoch by epoch (checkpoints keep
    /// this one).</summary>
    public double BaseLearningRate { get; }

    /// <summary>The global norm of the gradients the last backward pass stored, before any clipping.</summary>
    public double LastGradientNorm { get; private set; }

    private void ClipGradients(double max)
    {
        // torch's order: each parameter's norm, then the norm of those norms.
        double squares = 0;
        foreach (var p in Net.Parameters)
        {
            double sum = 0;
            foreach (var g in p.Grad.Span) sum += double.CreateTruncating(g) * double.CreateTruncating(g);
            double n = Math.Sqrt(sum);
            squares += n * n;
        }
        double norm = LastGradientNorm = Math.Sqrt(squares);
        // torch: clip_coef = max_norm / (total_norm + 1e-6), applied where it is below 1.
        double coef = max / (norm + 1e-6);
        if (coef >= 1) return;
        var c = T.CreateTruncating(coef);
        foreach (var p in Net.Parameters) TensorPrimitives.Multiply(p.Grad.Span, c, p.Grad.Span);
    }

    /// <summary>
    /// Runs the first sample of <paramref name="data"/> through the network and its loss in inference mode (nothing the
    /// training keeps changes): a network that cannot take the data fails here, before any output or training.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The network does not fit the data's samples; the message names the data.</exception>
    /// <exception cref="InvalidInputException">No samples, or targets of the wrong kind for the loss.</exception>
    public void CheckFits(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckData(data);
        bool wasTraining = Net.Training;
        Net.Training = false;
        try
        {
            var (x, t) = new DataLoader<T>(data, 1, new Rng(0)).Gather([0]);
            Net.ComputeLoss(x, t);
        }
        catch (ShapeMismatchException e)
        {
            throw new ShapeMismatchException($"{data.Name} ({data.Dim} features per sample): {e.Message}");
        }
        finally { Net.Training = wasTraining; }
    }

    private void CheckData(Dataset data)
    {
        if (data.Count == 0) throw new InvalidInputException($"{data.Name} has no samples to train on");
        if (Classifier && data.IsRegression)
            throw new InvalidInputException($"{data.Name} has regression targets, but the network is a classifier ({Net.Loss.Kind})");
        if (!Classifier && !data.IsRegression)
            throw new InvalidInputException($"{data.Name} has class labels, but the network is a regression network ({Net.Loss.Kind}); " +
                $"give it targets");
    }

    private static long CountCorrect(Tensor<T> scores, int[] labels, ReadOnlySpan<int> idx)
    {
        int C = scores.Dim(-1);
        long correct = 0;
        for (int i = 0; i < idx.Length; i++)
            if (TensorPrimitives.IndexOfMax<T>(scores.Span.Slice(i * C, C)) == labels[idx[i]]) correct++;
        return correct;
    }

    /// <summary>
    /// The loss of <paramref name="net"/> on <paramref name="data"/> in inference mode and, for a classifier, the accuracy
    /// and confusion matrix.
    /// </summary>
    /// <exception cref="InvalidInputException">Data that does not fit the loss (class labels for a loss that does not classify, or
    /// targets for one that does).</exception>
    public static Evaluation Evaluate(Network<T> net, Dataset data, int batch = 1000)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        bool classifier = net.Loss.Classifies;
        if (data.Count == 0) throw new InvalidInputException($"{data.Name} has no samples to evaluate on");
        if (classifier == data.IsRegression)
            throw new InvalidInputException(classifier ? $"{data.Name} has regression targets, but the network is a classifier"
                : $"{data.Name} has class labels, but the network is a regression network ({net.Loss.Kind})");
        bool wasTraining = net.Training;
        net.Training = false;
        try
        {
            int[][]? confusion = null;
            double lossSum = 0;
            long correct = 0;
            Tensor<T>? xb = null, tb = null;
            int D = data.Dim, K = data.TargetDim;
            for (int lo = 0; lo < data.Count; lo += batch)
            {
                int B = Math.Min(batch, data.Count - lo);
                xb = TensorBuffer.Ensure(ref xb, [B, .. data.SampleShape]);
                for (int i = 0; i < B * D; i++) xb.Span[i] = T.CreateTruncating(data.Features[(long)lo * D + i]);
                if (classifier)
                {
                    tb = TensorBuffer.Ensure(ref tb, [B]);
                    for (int i = 0; i < B; i++) tb.Span[i] = T.CreateTruncating(data.Labels[lo + i]);
                }
                else
                {
                    tb = TensorBuffer.Ensure(ref tb, B, K);
                    for (int i = 0; i < B * K; i++) tb.Span[i] = T.CreateTruncating(data.Targets![(long)lo * K + i]);
                }
                lossSum += double.CreateTruncating(net.ComputeLoss(xb, tb)) * B;
                if (!classifier) continue;
                var p = net.Loss.Probabilities!;
                int C = p.Dim(-1);
                if (data.Classes > C) throw new ShapeMismatchException($"{data.Name} has {data.Classes} classes, but the network has {C} " +
                    $"outputs");
                confusion ??= Enumerable.Range(0, C).Select(_ => new int[C]).ToArray();
                for (int i = 0; i < B; i++)
                {
                    int pred = TensorPrimitives.IndexOfMax<T>(p.Span.Slice(i * C, C));
                    int truth = data.Labels[lo + i];
                    confusion[truth][pred]++;
                    if (pred == truth) correct++;
                }
            }
            return new Evaluation(lossSum / data.Count, classifier ? (double)correct / data.Count : null, confusion);
        }
        finally
        {
            net.Training = wasTraining;
        }
    }
}
