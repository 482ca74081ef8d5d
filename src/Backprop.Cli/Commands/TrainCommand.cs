using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Backprop;
using Backprop.Cli.Support;
using Backprop.Data;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;
using Backprop.Training;
using Spectre.Console;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop train</c>: trains an MLP with progress, a table per epoch, plots and saved models.</summary>
internal static class TrainCommand
{
    public const string Usage =
        "backprop train [--dataset spiral|fashion-mnist|mnist] [--data DIR] [--layers 784,256,10] [--activation relu] " +
        "[--init he|xavier|normal] [--init-std 0.01] [--optimizer sgd|momentum|nesterov|adagrad|rmsprop|adam|adamw] [--lr X] " +
            "[--weight-decay X] " +
        "[--dropout P] [--batch-norm] [--batch N] [--epochs N] [--seed N] [--threads N] [--dtype float32|float64] [--validation F] " +
        "[--out model.safetensors] [--plot curves.png] [--regions regions.png] [--resume checkpoint.safetensors] [--json]";

    public static int Run(Args args, TextWriter stdout, TextWriter? stderr = null)
    {
        if (args.Positionals.Count > 0) throw new InvalidInputException($"train: unexpected argument '{args.Positionals[0]}'; " +
            $"usage: {Usage}");
        if (args.Value("threads") is not null) Parallelism.MaxThreads = args.Int("threads", 1, 1, 256);
        stderr ??= TextWriter.Null;
        // Under mpirun every process runs this command; they train one model, each computing its share of the shards.
        using var group = MpiProcessGroup.Launched ? MpiProcessGroup.Start() : null;
        try
        {
            var resumed = args.Value("resume") is { } r ? ModelFile.Read(r) : null;
            string dtype = resumed?.Description.Dtype ?? args.Choice("dtype", "float32", "float32", "float64");
            return dtype == "float64" ? Train<double>(args, stdout, stderr, resumed, group)
                : Train<float>(args, stdout, stderr, resumed, group);
        }
        catch (Exception e) when (group is { Size: > 1 })
        {
            // One process's error ends them all (MPI_Abort) with its exit code, rather than leaving them waiting for it.
            int code = e is TrainingDivergedException ? 3 : e is BackpropException or IOException or UnauthorizedAccessException ? 2
                : Program.InternalError;
            stderr.WriteLine($"backprop: error on process {group.Rank} of {group.Size}: {e.Message}");
            stderr.Flush();
            group.Abort(code);
            throw;
        }
    }

    private static int Train<T>(Args args, TextWriter stdout, TextWriter stderr, ModelFile.Contents? resumed, ProcessGroup? group)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Process 0 alone prints and writes files; the others train in silence.
        bool lead = group is null || group.Rank == 0;
        if (!lead) stdout = TextWriter.Null;
        Trainer<T> trainer;
        (Dataset Train, Dataset? Test)? loaded = null;
        if (args.Value("resume") is { } resume)
        {
            trainer = Trainer<T>.LoadCheckpoint(resume, resumed!);
            CheckResumeOptions(args, resume, resumed!, trainer);
            // A checkpoint of the earlier format does not record its data: the options (or their defaults) say it.
            trainer.Data ??= DataOptions.Source(args, null, resumed!.Metadata);
        }
        else
        {
            var data = DataOptions.Source(args, null, null);
            bool images = data.Dataset != "spiral";
            // Your own data: the MLP's default sizes are the data's features, 128 hidden, and its classes.
            bool fileData = data.Dataset is "csv" or "numpy" or "images";
            if (fileData && args.Value("layers") is null && args.Value("model") is null) loaded = Loading(args, stdout, data);
            var spec = new MlpSpec
            {
                Sizes = args.Value("layers") is { } l ? ParseSizes(l) : loaded is { } d ? [d.Train.Dim, 128, Math.Max(2, d.Train.Classes)]
                    : images ? [784, 256, 10] : [2, 64, 64, 3],
                Activation = Activation(args.Value("activation") ?? "relu"),
                Init = MlpSpec.ParseInit(args.Choice("init", "he", "he", "xavier", "normal")),
                InitStd = args.Double("init-std", 0.01),
                Dropout = args.Double("dropout", 0),
                BatchNorm = args.Flag("batch-norm"),
                Dtype = ModelDescription.DtypeOf<T>(),
            };
            ulong seed = data.Seed;
            CheckNewRunOptions(args);
            var optimizer = new OptimizerSettings
            {
                Kind = OptimizerSettings.Parse(args.Value("optimizer") ?? (images && !fileData ? "sgd" : "adam")),
                LearningRate = args.Value("lr") is null ? (fileData ? 0.001 : images ? 0.1 : 0.01) : args.Double("lr", 0.1),
                WeightDecay = args.Value("weight-decay") is null ? null : args.Double("weight-decay", 0),
            };
            Backprop.Networks.Network<T> net;
            if (args.Value("model") is { } model)
            {
                foreach (var o in new[] { "layers", "activation", "init", "init-std", "dropout", "batch-norm" })
                    if (args.Value(o) is not null || args.Flag(o))
                        throw new InvalidInputException($"--{o} describes an MLP; --model {model} gives the whole network");
                // --model names the model everywhere: here a named network, a description, or a saved model or ONNX file to
                // start from (its weights; the optimizer starts afresh), as eval and predict take a file.
                if (Architectures.Named(model.ToLowerInvariant(), ModelDescription.DtypeOf<T>()) is { } named)
                    net = named.Build<T>(new Rng(seed));
                else if (!File.Exists(model))
                    throw new InvalidInputException($"--model must be one of {string.Join(", ", Architectures.Names)}, a description " +
                        $"file (.json), or a model file to start from, not '{model}'");
                else if (model.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                    net = (ModelDescription.FromJson(Backprop.IO.BoundedFile.ReadAllText(model, 16 << 20), model) with
                    {
                        Dtype = ModelDescription.DtypeOf<T>(),
                    }).Build<T>(new Rng(seed));
                else if (model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) net = OnnxFile.Import<T>(model);
                else net = ModelFile.Load<T>(model);
            }
            else net = spec.Build<T>(new Rng(seed));
            trainer = new Trainer<T>(net, optimizer, new TrainerOptions
            {
                Batch = args.Int("batch", images ? 100 : 30, 1),
                Seed = seed,
                Schedule = Schedule(args),
                ClipNorm = args.Value("clip-norm") is null ? null : args.Double("clip-norm", 1, double.Epsilon),
                Patience = args.Value("patience") is null ? null : args.Int("patience", 1, 1),
                Augment = args.Value("augment") is { } augment ? Augmentation(augment) : null,
                Shards = args.Value("shards") is null ? null : args.Int("shards", 1, 1, 65536),
            })
            // A network whose loss does not classify (mse) regresses on a table's or array's target values.
            { Data = !net.Loss.Classifies && data.Dataset is "csv" or "numpy" ? data with { Regression = true } : data };
        }
        if (group is not null) trainer.Group = group;
        trainer.OverlapExchange = args.Flag("overlap");
        if (trainer.OverlapExchange && trainer.Options.Shards is null)
            throw new InvalidInputException("--overlap overlaps the shards' exchange with the backward pass; it needs --shards S");
        var source = trainer.Data!;
        bool imageData = source.Dataset != "spiral";
        int epochs = args.Value("epochs") is null ? trainer.Epoch + (imageData ? 5 : 100) : args.Int("epochs", 1, 1, 100_000);
        if (trainer.Epoch >= epochs)
            throw new InvalidInputException($"the checkpoint already has {trainer.Epoch} epochs; ask for more with --epochs (more " +
                $"than {trainer.Epoch})");

        var (all, test) = loaded ?? Loading(args, stdout, source);
        if (MlpSpec.From(ModelDescription.Of(trainer.Net)) is { } mlp)
        {
            if (all.Dim != mlp.Sizes[0])
                throw new InvalidInputException($"--layers starts with {mlp.Sizes[0]}, but {all.Name} has {all.Dim} features per sample");
            if (all.Classes > mlp.Sizes[^1])
                throw new InvalidInputException($"--layers ends with {mlp.Sizes[^1]}, but {all.Name} has {all.Classes} classes");
        }
        var (train, val) = source.Split(all);
        // Your own tables and arrays are standardized on the training split, and the model file keeps it (eval and predict
        // scale raw inputs alike); a resumed run keeps its checkpoint's.
        if (args.Value("resume") is null && source.Dataset is "csv" or "numpy" && !args.Flag("no-standardize"))
            trainer.Standardization = Standardization.Fit(train);
        if (trainer.Standardization is { } scale)
        {
            (all, train) = (scale.Apply(all), scale.Apply(train));
            if (val is not null) val = scale.Apply(val);
            if (test is not null) test = scale.Apply(test);
        }
        if (train.Count == 0)
            throw new InvalidInputException($"--validation {source.Validation} holds out all {all.Count} samples of {all.Name}: no " +
                $"samples " +
                $"to train on are left");

        if (trainer.Options.Patience is not null && val is null)
            throw new InvalidInputException("--patience stops on the validation loss: it needs --validation above 0");
        string? outPath = args.Value("out"), plot = args.Value("plot");
        string? regions = args.Value("regions") ?? (plot is not null && all.Dim == 2 ? Path.ChangeExtension(plot, null)
            + "-regions.png" : null);
        if (regions is not null && all.Dim != 2) throw new InvalidInputException("--regions needs a 2-D dataset such as the spiral");
        if (!lead) outPath = plot = regions = null;
        foreach (var (opt, file) in new[] { ("out", outPath), ("plot", plot), ("regions", regions) })
            if (file is not null) OutputFiles.Check(opt, file);
        // The network must take the data's samples, and the first checkpoint must fit on the disk: bad input fails here,
        // with one line on standard error and nothing on standard output.
        trainer.CheckFits(train);
        if (outPath is not null) OutputFiles.Probe("out", outPath, trainer.SaveCheckpoint);
        bool json = args.Flag("json");
        if (trainer.Options.Batch > train.Count)
            stderr.WriteLine($"backprop: note: the batch size {trainer.Options.Batch} is above the {train.Count} training samples: " +
                "each epoch is one batch of all of them");
        bool live = !json && !Console.IsOutputRedirected && ReferenceEquals(stdout, Console.Out);

        if (!json)
            stdout.WriteLine(
                FormattableString.Invariant($"{all.Name}: {train.Count} training, {val?.Count ?? 0} validation") +
                FormattableString.Invariant($"{(test is null ? "" : $", {test.Count} test")} samples; model {ModelName(trainer.Net)}; ") +
                FormattableString.Invariant($"{OptimizerSettings.Name(trainer.Optimizer.Kind)} lr {trainer.Optimizer.LearningRate} ") +
                FormattableString.Invariant($"batch {trainer.Options.Batch}; threads {Parallelism.MaxThreads}"));
        // Test figures at the end only (nobody tunes on them), unless --test-each-epoch; each epoch is one row, printed once.
        bool testEach = args.Flag("test-each-epoch");
        // The network's layers as model.summary() lists them, before the first epoch of a run.
        if (!json && trainer.Epoch == 0 && NetworkSummary.DefaultSampleShape(trainer.Net) is { } sample)
            stdout.Write(NetworkSummary.Table(NetworkSummary.Of(trainer.Net, train.SampleShape.Length > 0 ? train.SampleShape : sample),
                train.SampleShape));
        if (!json) stdout.Write(Header(val is not null, testEach && test is not null));
        int runStartEpoch = trainer.Epoch;
        var runClock = System.Diagnostics.Stopwatch.StartNew();
        while (trainer.Epoch < epochs)
        {
            var epochTest = testEach || trainer.Epoch + 1 == epochs ? test : null;
            EpochResult result;
            if (live)
            {
                // One bar per epoch, its line the running loss and the time left for the whole run (from the pace so far).
                EpochResult? r = null;
                int firstEpoch = runStartEpoch;
                AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask($"epoch {trainer.Epoch + 1}/{epochs}");
                        r = trainer.RunEpoch(train, val, epochTest, (i, n) =>
                        {
                            task.MaxValue = n;
                            task.Value = i;
                            double done = (trainer.Epoch - firstEpoch) * (double)n + i, left = (epochs - trainer.Epoch) * (double)n - i;
                            var eta = TimeSpan.FromSeconds(runClock.Elapsed.TotalSeconds / Math.Max(done, 1) * left);
                            task.Description = FormattableString.Invariant(
                                $"epoch {trainer.Epoch + 1}/{epochs}  loss {trainer.RunningLoss:0.0000}  run ends in {eta:hh\\:mm\\:ss}");
                        });
                    });
                result = r!;
            }
            else result = trainer.RunEpoch(train, val, epochTest);
            // With early stopping the file keeps the best epoch: it is written only when an epoch improves on the others.
            if (outPath is not null && (trainer.Options.Patience is null || trainer.LastEpochIsBest)) trainer.SaveCheckpoint(outPath);
            stdout.WriteLine(json ? Json.Serialize(result) : Row(result, epochs, val is not null, testEach && test is not null));
            stdout.Flush();
            if (trainer.ShouldStop) break;
        }
        string? stopped = null;
        if (trainer.Options.Patience is { } patience && trainer.BestEpoch > 0)
        {
            int best = trainer.BestEpoch;
            trainer.RestoreBest();
            stopped = FormattableString.Invariant(
                $"early stopping: epoch {best} had the lowest validation loss ({trainer.History[best - 1].ValLoss:0.0000})") +
                (trainer.Epoch < epochs ? $"; none lower in the {patience} epochs after it, so training stopped after epoch {trainer.Epoch}"
                    : "") + (outPath is not null ? $"; {outPath} holds epoch {best}" : "");
            if (json) stderr.WriteLine($"backprop: {stopped}");
        }
        if (plot is not null) Plots.Curves(plot, trainer.History,
            $"{all.Name}: {ModelName(trainer.Net)}, {OptimizerSettings.Name(trainer.Optimizer.Kind)}");
        if (regions is not null) Plots.Regions(regions, trainer.Net, all, $"{all.Name}: decision regions after {trainer.Epoch} epochs");
        if (!json)
        {
            if (stopped is not null) stdout.WriteLine(stopped);
            if (test is not null)
            {
                // The final weights' test figures (the best epoch's, after early stopping).
                var e = Trainer<T>.Evaluate(trainer.Net, test);
                stdout.WriteLine(FormattableString.Invariant($"test: {test.Count} samples, loss {e.Loss:0.0000}") +
                    (e.Accuracy is { } a ? FormattableString.Invariant($", accuracy {a * 100:0.00}%") : ""));
            }
            if (trainer.Options.Shards is { } shards)
                stdout.WriteLine(FormattableString.Invariant($"shards: {shards} per batch over {trainer.Group.Size} process") +
                    (trainer.Group.Size == 1 ? "" : "es") + FormattableString.Invariant(
                    $"; the last epoch's exchange took {trainer.CommunicationSeconds:0.000} s of {trainer.History[^1].Seconds:0.000} s, ") +
                    FormattableString.Invariant($"{trainer.CommunicationBytes:N0} bytes from each process per step in {trainer.Buckets} ") +
                    (trainer.Buckets == 1 ? "bucket" : "buckets"));
            if (outPath is not null) stdout.WriteLine($"model and training state saved to {outPath}");
            if (plot is not null) stdout.WriteLine($"curves plotted to {plot}");
            if (regions is not null) stdout.WriteLine($"decision regions plotted to {regions}");
        }
        return 0;
    }

    private static string ModelName<T>(Backprop.Networks.Network<T> net) where T : unmanaged, IFloatingPointIeee754<T> =>
        MlpSpec.From(ModelDescription.Of(net)) is { } m ? $"{string.Join("-", m.Sizes)} {m.Activation} {m.Dtype}"
            : ModelDescription.Of(net).ToString();

    // The library checks the same values in its own terms; these messages name the options.
    private static void CheckNewRunOptions(Args args)
    {
        if (args.Value("lr") is not null && !(args.Double("lr",
            0) > 0)) throw new InvalidInputException($"--lr must be a positive number, not {args.Value("lr")}");
        if (args.Value("weight-decay") is not null && !(args.Double("weight-decay",
            0) >= 0)) throw new InvalidInputException($"--weight-decay must be 0 or more, not {args.Value("weight-decay")}");
        if (args.Value("dropout") is { } d && !(args.Double("dropout",
            0) is >= 0 and < 1)) throw new InvalidInputException($"--dropout must be in [0, 1), not {d}");
        if (args.Value("init-std") is { } s && !(args.Double("init-std",
            0) > 0)) throw new InvalidInputException($"--init-std must be a positive number, not {s}");
        if (args.Value("optimizer") is { } o && !OptimizerSettings.Names.Contains(o.ToLowerInvariant()))
            throw new InvalidInputException($"--optimizer must be one of {string.Join(", ", OptimizerSettings.Names)}, not '{o}'");
    }

    private static string Activation(string name)
    {
        var kinds = Kinds.Activations;
        string canonical;
        try { canonical = Kinds.Canonical(name); }
        catch (InvalidInputException) { canonical = ""; }
        if (!kinds.Any(k => k.Name == canonical))
            throw new InvalidInputException($"--activation must be one of {string.Join(", ", kinds.Select(k => k.Name))}, not '{name}'");
        return canonical;
    }

    // On --resume the checkpoint fixes the model and the training settings: an option may repeat them, not change them.
    private static void CheckResumeOptions<T>(Args args, string path, ModelFile.Contents contents, Trainer<T> trainer) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        void Same(string option, string given, string saved)
        {
            if (given != saved) throw new InvalidInputException($"--{option} {given} contradicts the checkpoint {path}, which " +
                $"has {saved}; leave it out to continue the saved run");
        }
        string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        if (args.Value("dtype") is { } dt) Same("dtype", dt, contents.Description.Dtype);
        var mlp = MlpSpec.From(contents.Description);
        if (args.Value("model") is { } m)
            throw new InvalidInputException($"--model {m} cannot be given with --resume: the checkpoint {path} holds the network " +
                $"({contents.Description})");
        foreach (var o in new[] { "init", "init-std" })
            if (args.Value(o) is not null)
                throw new InvalidInputException($"--{o} says how a new model's weights are drawn; the checkpoint {path} has trained " +
                    $"weights, so leave it out with --resume");
        foreach (var o in new[] { "layers", "activation", "dropout", "batch-norm" })
        {
            if (args.Value(o) is null && !args.Flag(o)) continue;
            if (mlp is null) throw new InvalidInputException($"--{o} cannot be given on --resume: the checkpoint {path} holds the " +
                $"network {contents.Description}");
            switch (o)
            {
                case "layers": Same(o, string.Join(",", ParseSizes(args.Value(o)!)), string.Join(",", mlp.Sizes)); break;
                case "activation": Same(o, Activation(args.Value(o)!), mlp.Activation); break;
                case "dropout": Same(o, Num(args.Double(o, 0)), Num(mlp.Dropout)); break;
                default:
                    if (!mlp.BatchNorm) throw new InvalidInputException($"--batch-norm contradicts the checkpoint {path}, which has " +
                    $"no batch normalization");
                    break;
            }
        }
        var opt = trainer.Optimizer.Settings;
        if (args.Value("optimizer") is { } k) Same("optimizer", OptimizerSettings.Name(OptimizerSettings.Parse(k)),
            OptimizerSettings.Name(opt.Kind));
        if (args.Value("lr") is not null) Same("lr", Num(args.Double("lr", 0)), Num(opt.LearningRate!.Value));
        if (args.Value("weight-decay") is not null) Same("weight-decay", Num(args.Double("weight-decay", 0)), Num(opt.WeightDecay!.Value));
        if (args.Value("batch") is not null) Same("batch", args.Int("batch", 1, 1).ToString(CultureInfo.InvariantCulture),
            trainer.Options.Batch.ToString(CultureInfo.InvariantCulture));
        if (args.Value("seed") is not null) Same("seed", args.Value("seed")!, trainer.Options.Seed.ToString(CultureInfo.InvariantCulture));
        if (args.Value("shards") is not null) Same("shards", args.Int("shards", 1, 1, 65536).ToString(CultureInfo.InvariantCulture),
            trainer.Options.Shards?.ToString(CultureInfo.InvariantCulture) ?? "none");
        foreach (var o in new[] { "lr-schedule", "lr-step", "lr-gamma", "lr-min", "warmup", "clip-norm", "patience", "augment" })
            if (args.Value(o) is not null)
                throw new InvalidInputException($"--{o} is recorded in the checkpoint {path} with the rest of the run; leave it out " +
                    "to continue the saved run");
        if (trainer.Data is { } data)
        {
            var given = DataOptions.Source(args, data, null);
            if (args.Value("dataset") is not null) Same("dataset", given.Dataset, data.Dataset);
            if (args.Value("data") is not null) Same("data", given.Folder ?? given.File ?? "", data.Folder ?? data.File ?? "");
            if (args.Value("validation") is not null) Same("validation", Num(given.Validation), Num(data.Validation));
        }
    }

    // --augment flip,crop=P: torchvision's RandomHorizontalFlip and RandomCrop(padding=P).
    private static Augmentation Augmentation(string text)
    {
        var a = new Augmentation();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "flip") a = a with { HorizontalFlip = true };
            else if (part.StartsWith("crop=", StringComparison.Ordinal) && int.TryParse(part[5..], NumberStyles.None,
                CultureInfo.InvariantCulture, out int p) && p is >= 1 and <= 1024) a = a with { CropPadding = p };
            else throw new InvalidInputException($"--augment takes flip and crop=P (P from 1 to 1024) separated by commas, not '{part}'");
        }
        return a;
    }

    // --lr-schedule and its settings; cosine's T_max is the run's epochs.
    private static LearningRateSchedule? Schedule(Args args)
    {
        string kind = args.Choice("lr-schedule", "constant", [.. LearningRateSchedule.Kinds]);
        bool any = args.Value("lr-schedule") is not null || args.Value("warmup") is not null;
        foreach (var (o, needs) in new[] { ("lr-step", "step"), ("lr-gamma", "step or exponential"), ("lr-min", "cosine") })
            if (args.Value(o) is not null && !needs.Contains(kind))
                throw new InvalidInputException($"--{o} is for --lr-schedule {needs}, not {kind}");
        if (!any) return null;
        var schedule = new LearningRateSchedule
        {
            Kind = kind,
            StepSize = args.Int("lr-step", 10, 1),
            Gamma = args.Double("lr-gamma", kind == "exponential" ? 0.95 : 0.1, double.Epsilon, 1),
            TMax = args.Int("epochs", 100, 1, 100_000),
            EtaMin = args.Double("lr-min", 0, 0),
            Warmup = args.Int("warmup", 0, 0, 100_000),
        };
        schedule.Validate();
        return schedule;
    }

    private static int[] ParseSizes(string v)
    {
        var parts = v.Split(',', StringSplitOptions.TrimEntries);
        var sizes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1)
                throw new InvalidInputException($"--layers takes positive sizes separated by commas, e.g. 784,256,10, not '{v}'");
        return sizes;
    }

    // Data that takes more than a moment says so first, where a person watches (not into a pipe or with --json).
    private static (Dataset Train, Dataset? Test) Loading(Args args, TextWriter stdout, DataSource source)
    {
        if (source.Dataset != "spiral" && !args.Flag("json") && !Console.IsOutputRedirected && ReferenceEquals(stdout, Console.Out))
            stdout.WriteLine($"loading {source.File ?? source.Folder ?? source.Dataset} …");
        return DataOptions.Load(source);
    }

    private static string Header(bool val, bool test) =>
        "| epoch | seconds | train loss | train acc |" + (val ? " val loss | val acc |" : "") + (test ? " test loss | test acc |" : "") +
        "\n|------:|--------:|-----------:|----------:|" + (val ? "---------:|--------:|" : "") + (test ? "----------:|---------:|" : "")
        + "\n";

    // One epoch's row; accuracy as a percentage (a regression network's as "-").
    private static string Row(EpochResult r, int epochs, bool val, bool test)
    {
        static string Pct(double? a, int w) => (a is { } v ? FormattableString.Invariant($"{v * 100:0.00}%") : "-").PadLeft(w);
        return FormattableString.Invariant($"| {$"{r.Epoch}/{epochs}",5} | {r.Seconds,7:0.000} | {r.TrainLoss,10:0.0000} | ") +
            FormattableString.Invariant($"{Pct(r.TrainAccuracy, 9)} |") +
            (val ? FormattableString.Invariant($" {r.ValLoss,8:0.0000} | {Pct(r.ValAccuracy, 7)} |") : "") +
            (test ? FormattableString.Invariant($" {r.TestLoss,9:0.0000} | {Pct(r.TestAccuracy, 8)} |") : "");
    }
}
