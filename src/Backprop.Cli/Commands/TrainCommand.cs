using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Backprop;
using Backprop.Data;
using Backprop.Training;
using Spectre.Console;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop train</c>: trains an MLP with progress, a table per epoch, plots and saved models.</summary>
internal static class TrainCommand
{
    public const string Usage = "backprop train [--dataset spiral|fashion-mnist|mnist] [--data DIR] [--layers 784,256,10] [--activation relu] " +
        "[--init he|xavier|normal] [--init-std 0.01] [--optimizer sgd|momentum|nesterov|adagrad|rmsprop|adam|adamw] [--lr X] [--weight-decay X] " +
        "[--dropout P] [--batch-norm] [--batch N] [--epochs N] [--seed N] [--threads N] [--dtype float32|float64] [--validation F] " +
        "[--out model.safetensors] [--plot curves.png] [--regions regions.png] [--resume checkpoint.safetensors] [--json]";

    private static readonly HashSet<string> Flags = ["batch-norm", "json"];
    private static readonly HashSet<string> Valued = ["dataset", "data", "layers", "activation", "init", "init-std", "optimizer", "lr", "weight-decay",
        "dropout", "batch", "epochs", "seed", "threads", "dtype", "out", "plot", "regions", "resume", "validation"];

    public static int Run(string[] argv, TextWriter stdout)
    {
        var args = new Args(argv, Flags, Valued);
        if (args.Positionals.Count > 0) throw new InvalidInputException($"train: unexpected argument '{args.Positionals[0]}'; usage: {Usage}");
        if (args.Value("threads") is not null) Parallelism.MaxThreads = args.Int("threads", 1, 1, 256);
        var resumed = args.Value("resume") is { } r ? ModelFile.Read(r) : null;
        string dtype = resumed?.Spec.Dtype ?? args.Choice("dtype", "float32", "float32", "float64");
        return dtype == "float64" ? Train<double>(args, stdout, resumed) : Train<float>(args, stdout, resumed);
    }

    private static int Train<T>(Args args, TextWriter stdout, ModelFile.Contents? resumed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        string dataset = DataOptions.Name(args);
        bool images = dataset != "spiral";
        Trainer<T> trainer;
        if (args.Value("resume") is { } resume)
        {
            foreach (var o in new[] { "layers", "activation", "init", "init-std", "optimizer", "lr", "weight-decay", "dropout", "batch-norm", "batch", "seed", "dtype", "validation" })
                if (args.Value(o) is not null || args.Flag(o))
                    throw new InvalidInputException($"--{o} cannot change on --resume: the checkpoint fixes the model and training settings (only --epochs, --out, --plot, --threads may be given)");
            trainer = Trainer<T>.LoadCheckpoint(resume, resumed!);
        }
        else
        {
            var spec = new ModelSpec
            {
                Sizes = args.Value("layers") is { } l ? ParseSizes(l) : images ? [784, 256, 10] : [2, 64, 64, 3],
                Activation = Backprop.IO.Kinds.Canonical(args.Value("activation") ?? "relu"),
                Init = (args.Value("init") ?? "he").ToLowerInvariant(),
                InitStd = args.Double("init-std", 0.01),
                Dropout = args.Double("dropout", 0),
                BatchNorm = args.Flag("batch-norm"),
                Dtype = typeof(T) == typeof(float) ? "float32" : "float64",
            };
            var settings = new TrainSettings
            {
                Optimizer = (args.Value("optimizer") ?? (images ? "sgd" : "adam")).ToLowerInvariant(),
                LearningRate = args.Value("lr") is null ? (images ? 0.1 : 0.01) : args.Double("lr", 0.1),
                WeightDecay = args.Double("weight-decay", 0),
                Batch = args.Int("batch", images ? 100 : 30, 1),
                Seed = (ulong)args.Int("seed", 0, 0),
                ValidationFraction = args.Double("validation", images ? 1.0 / 12 : 0.2),
            };
            spec.Validate();
            trainer = new Trainer<T>(spec, settings);
        }
        int epochs = args.Int("epochs", images ? 5 : 100, 1, 100_000);
        if (trainer.Epoch >= epochs)
            throw new InvalidInputException($"the checkpoint already has {trainer.Epoch} epochs; ask for more with --epochs (more than {trainer.Epoch})");

        var (all, test) = DataOptions.Load(args, trainer.Settings.Seed);
        if (all.Dim != trainer.Spec.Sizes[0])
            throw new InvalidInputException($"--layers starts with {trainer.Spec.Sizes[0]}, but {all.Name} has {all.Dim} features per sample");
        if (all.Classes > trainer.Spec.Sizes[^1])
            throw new InvalidInputException($"--layers ends with {trainer.Spec.Sizes[^1]}, but {all.Name} has {all.Classes} classes");
        var (train, val) = trainer.Settings.ValidationFraction == 0
            ? (all, (Dataset?)null)
            : all.Split(trainer.Settings.ValidationFraction, trainer.Settings.Seed ^ 0x5EED);

        string? outPath = args.Value("out"), plot = args.Value("plot");
        string? regions = args.Value("regions") ?? (plot is not null && all.Dim == 2 ? Path.ChangeExtension(plot, null) + "-regions.png" : null);
        if (regions is not null && all.Dim != 2) throw new InvalidInputException("--regions needs a 2-D dataset such as the spiral");
        foreach (var (opt, file) in new[] { ("out", outPath), ("plot", plot), ("regions", regions) })
        {
            if (file is null) continue;
            string folder = Path.GetDirectoryName(Path.GetFullPath(file))!;
            if (!Directory.Exists(folder)) throw new InvalidInputException($"--{opt} {file}: the folder {folder} does not exist");
        }
        bool json = args.Flag("json");
        bool live = !json && !Console.IsOutputRedirected && ReferenceEquals(stdout, Console.Out);

        if (!json)
            stdout.WriteLine(FormattableString.Invariant(
                $"{all.Name}: {train.Count} training, {val?.Count ?? 0} validation{(test is null ? "" : $", {test.Count} test")} samples; model {string.Join("-", trainer.Spec.Sizes)} {trainer.Spec.Activation} {trainer.Spec.Dtype}; {trainer.Settings.Optimizer} lr {trainer.Optimizer.LearningRate} batch {trainer.Settings.Batch}; threads {Parallelism.MaxThreads}"));
        while (trainer.Epoch < epochs)
        {
            EpochResult result;
            if (live)
            {
                EpochResult? r = null;
                AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask($"epoch {trainer.Epoch + 1}/{epochs}");
                        r = trainer.RunEpoch(train, val, test, (i, n) => { task.MaxValue = n; task.Value = i; });
                    });
                result = r!;
            }
            else result = trainer.RunEpoch(train, val, test);
            if (outPath is not null) trainer.SaveCheckpoint(outPath);
            stdout.WriteLine(json ? JsonSerializer.Serialize(result, JsonOptions) : Line(result, epochs));
            stdout.Flush();
        }
        if (plot is not null) Plots.Curves(plot, trainer.History, $"{all.Name}: {string.Join("-", trainer.Spec.Sizes)} {trainer.Spec.Activation}, {trainer.Settings.Optimizer}");
        if (regions is not null) Plots.Regions(regions, trainer.Net, all, $"{all.Name}: decision regions after {trainer.Epoch} epochs");
        if (!json)
        {
            stdout.Write(Table(trainer.History));
            if (outPath is not null) stdout.WriteLine($"model and training state saved to {outPath}");
            if (plot is not null) stdout.WriteLine($"curves plotted to {plot}");
            if (regions is not null) stdout.WriteLine($"decision regions plotted to {regions}");
        }
        return 0;
    }

    internal static readonly JsonSerializerOptions JsonOptions = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    private static int[] ParseSizes(string v)
    {
        var parts = v.Split(',', StringSplitOptions.TrimEntries);
        var sizes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1)
                throw new InvalidInputException($"--layers takes positive sizes separated by commas, e.g. 784,256,10, not '{v}'");
        return sizes;
    }

    private static string Line(EpochResult r, int epochs) =>
        FormattableString.Invariant($"epoch {r.Epoch}/{epochs}: train_loss {r.TrainLoss:0.0000} train_accuracy {r.TrainAccuracy:0.0000}") +
        (r.ValAccuracy is null ? "" : FormattableString.Invariant($" val_loss {r.ValLoss:0.0000} val_accuracy {r.ValAccuracy:0.0000}")) +
        (r.TestAccuracy is null ? "" : FormattableString.Invariant($" test_loss {r.TestLoss:0.0000} test_accuracy {r.TestAccuracy:0.0000}")) + FormattableString.Invariant($" seconds {r.Seconds:0.000}");

    internal static string Table(IReadOnlyList<EpochResult> history)
    {
        var sb = new StringBuilder();
        bool test = history.All(h => h.TestAccuracy is not null), val = history.All(h => h.ValAccuracy is not null);
        sb.AppendLine();
        sb.AppendLine("| epoch | seconds | train loss | train acc |" + (val ? " val loss | val acc |" : "") + (test ? " test loss | test acc |" : ""));
        sb.AppendLine("|------:|--------:|-----------:|----------:|" + (val ? "---------:|--------:|" : "") + (test ? "----------:|---------:|" : ""));
        foreach (var r in history)
            sb.AppendLine(FormattableString.Invariant($"| {r.Epoch,5} | {r.Seconds,7:0.000} | {r.TrainLoss,10:0.0000} | {r.TrainAccuracy * 100,8:0.00}% |") +
                (val ? FormattableString.Invariant($" {r.ValLoss,8:0.0000} | {r.ValAccuracy * 100,6:0.00}% |") : "") +
                (test ? FormattableString.Invariant($" {r.TestLoss,9:0.0000} | {r.TestAccuracy * 100,7:0.00}% |") : ""));
        return sb.ToString();
    }
}
