using System.CommandLine;
using Backprop.Cli.Commands;
using Backprop.Cli.Support;
using Backprop.Data;
using Backprop.Models;
using Backprop.Optimizers;

namespace Backprop.Cli;

/// <summary>
/// The commands, their arguments and options, as System.CommandLine parses them: <c>-h/--help</c> on every command with
/// each option's meaning, default and allowed values (the kinds from the registry), <c>--version</c>, suggestions for
/// misspelt commands and options, and shell completion. A command's action receives the parsed values once, as
/// <see cref="Args"/>, and checks them in the command's own terms.
/// </summary>
internal static class CommandLine
{
    /// <summary>One option: a flag, or one that takes a value.</summary>
    internal sealed record Opt(string Name, string Description, string? Value = null)
    {
        public bool IsFlag => Value is null;
    }

    /// <summary>One command: name, summary, positionals, options, examples, and what runs it.</summary>
    internal sealed record Spec(string Name, string Summary, string[] Positionals, Opt[] Options, string[] Examples,
        Func<Args, TextWriter, TextWriter, (string Text, int Code)> Run);

    private static string Kinds_ => string.Join(", ", Kinds.Names);
    private static string Activations => string.Join(", ", Kinds.Activations.Select(k => k.Name));

    private static Opt Json(string what = "the results") => new("json", $"{what} as JSON instead of text");

    public static IReadOnlyList<Spec> Specs() =>
    [
        new("demo", "the textbook sample, the chain rule, the gradient check and a network that learns the spiral", [],
            [new("plot", "the PNG of the training curves (the decision regions go beside it as NAME-regions.png); default demo-curves.png",
                "FILE")],
            ["backprop demo", "backprop demo --plot /tmp/curves.png"],
            (a, o, e) => DemoCommand.Run(a, o)),
        new("layer", "one layer's forward and backward pass, from text (the textbook's form or numpy's) or JSON", ["KIND", "FILE"],
            [Json(), new("dtype", "the element type: float64 (default) or float32", "TYPE")],
            ["backprop layer fully_connected sample.txt", "echo '{\"x\": [[1, -2]], \"dout\": [[1, 1]]}' | backprop layer relu --json"],
            (a, o, e) => (LayerCommand.Run(a), 0)),
        new("grad", "the loss and every gradient of a network given as JSON: layers, loss, x and t", ["FILE"],
            [Json(), new("dtype", "the element type: float64 (default) or float32", "TYPE")],
            ["backprop grad net.json", "backprop grad net.json --json"],
            (a, o, e) => (GradCommand.Run(a), 0)),
        new("gradcheck", "every layer, loss and a three-layer network against numerical gradients (exit code 1 if one fails)", [],
            [new("seed", "the seed of the random inputs (default 0)", "N"), Json()],
            ["backprop gradcheck", "backprop gradcheck --seed 3 --json"],
            (a, o, e) => GradcheckCommand.Run(a)),
        new("train", "trains an MLP with progress, plots and checkpoints that resume", [],
            [
                new("dataset",
                    $"the data: {string.Join(", ", DataSource.Names.Where(n => n != "idx"))} (default spiral; --data alone: any IDX " +
                    $"folder)", "NAME"),
                new("data", "your own data: a CSV file with a header row, numpy arrays (X.npy with --labels y.npy, or an .npz " +
                    "with x and y), a folder with one sub-folder of PNG/JPEG images per class, or a folder of IDX files", "FILE|DIR"),
                new("target", "CSV: the label column (default the last)", "NAME"),
                new("labels", "numpy: the labels' .npy file", "FILE"),
                new("image-size", "images: the height and width every image is scaled to (default 28,28)", "H,W"),
                new("limit", "train on the first N training samples only", "N"),
                new("no-standardize", "CSV and numpy data: keep the raw features (by default each is standardized on the training " +
                    "split, and the model file keeps the means and deviations for eval and predict)"),
                new("model", $"a named network ({string.Join(", ", Architectures.Names)}, for 28×28 images) or a description " +
                    "file (JSON, docs/MODEL_FORMAT.md) instead of the MLP options", "NAME|FILE"),
                new("layers", "the sizes from input to output, e.g. 784,256,10 (default 784,256,10 for images, 2,64,64,3 for the spiral)",
                    "SIZES"),
                new("activation", $"after each hidden layer: {Activations} (default relu)", "KIND"),
                new("init", "how the weights are drawn: he (default), xavier or normal", "KIND"),
                new("init-std", "the standard deviation of --init normal (default 0.01)", "X"),
                new("optimizer", $"{string.Join(", ", OptimizerSettings.Names)} (default sgd for images, adam for the spiral)", "KIND"),
                new("lr", "the learning rate (default 0.1 for images, 0.01 for the spiral)", "X"),
                new("weight-decay", "L2 λ on weights (AdamW: decoupled; default 0, AdamW 0.01)", "X"),
                new("lr-schedule", "the learning rate per epoch: constant (default), step (×gamma every --lr-step epochs), " +
                    "exponential (×gamma each epoch) or cosine (to --lr-min over the run), as torch.optim.lr_scheduler's", "KIND"),
                new("lr-step", "step: the epochs between decays (default 10)", "N"),
                new("lr-gamma", "step and exponential: the factor (default 0.1 for step, 0.95 for exponential)", "G"),
                new("lr-min", "cosine: the rate it ends at (default 0)", "X"),
                new("warmup", "epochs of linear warm-up from a third of the rate (as LinearLR)", "N"),
                new("clip-norm", "scale the gradients down to this global norm where they exceed it (clip_grad_norm_)", "X"),
                new("augment", "images: random changes to each training image, flip (mirrored with probability 1/2) and crop=P " +
                    "(padded by P zeros, an image-sized window at a random offset), as torchvision's", "LIST"),
                new("test-each-epoch", "evaluate the test data after every epoch (by default only after the last, so that nobody " +
                    "tunes on it)"),
                new("patience", "early stopping: stop after N epochs without a lower validation loss; --out keeps the best epoch",
                    "N"),
                new("dropout", "the drop probability after each hidden activation, in [0, 1) (default 0: none)", "P"),
                new("batch-norm", "batch normalization before each hidden activation"),
                new("batch", "the mini-batch size (default 100 for images, 30 for the spiral)", "N"),
                new("shards", "data-parallel: cut each batch into S shards whose gradients are summed in shard order; under " +
                    "mpirun -np N the processes share the shards, and any N gives the same weights for the same S", "S"),
                new("overlap", "with --shards under mpirun: exchange the gradients on a thread of their own while the backward " +
                    "pass goes on (for machines with a core free for it; the same weights either way)"),
                new("epochs", "the number of epochs in all, saved ones included (default 5 for images, 100 for the spiral)", "N"),
                new("seed", "the one seed of every random draw (default 0)", "N"),
                new("validation", "the fraction held out for validation, 0 for none (default 1/12 for images, 0.2 for the spiral)", "F"),
                new("threads", "the cores the kernels use (default all)", "N"),
                new("dtype", "the element type: float32 (default) or float64", "TYPE"),
                new("out", "the checkpoint, rewritten atomically after every epoch", "FILE"),
                new("plot", "the PNG of loss and accuracy per epoch", "FILE"),
                new("regions", "the PNG of the decision regions, for 2-D data (default NAME-regions.png beside --plot)", "FILE"),
                new("resume", "continue the run saved in this checkpoint; it records everything else", "FILE"),
                Json("one JSON object per epoch"),
            ],
            ["backprop train --out spiral.safetensors", "backprop train --dataset fashion-mnist --epochs 20 --out fashion.safetensors",
                "backprop train --resume fashion.safetensors --epochs 30 --out fashion.safetensors"],
            (a, o, e) => (string.Empty, TrainCommand.Run(a, o, e))),
        new("eval", "loss, accuracy and confusion matrix of a saved model on the data it records (or other data)", [],
            [
                new("model", "the model or checkpoint file (required)", "FILE"),
                new("dataset", $"other data than the file records: {string.Join(", ", DataSource.Names.Where(n => n != "idx"))}", "NAME"),
                new("data", "other data: a CSV file, numpy arrays, an image folder or an IDX folder, as train takes them",
                    "FILE|DIR"),
                new("target", "CSV: the label column (default the last)", "NAME"),
                new("labels", "numpy: the labels' .npy file", "FILE"),
                new("image-size", "images: the height and width every image is scaled to (default 28,28)", "H,W"),
                new("split", "test (default) or train", "NAME"),
                new("plot", "a PNG of the confusion matrix (counts, shaded by their share of each true class)", "FILE"),
                new("threads", "the cores the kernels use (default all)", "N"),
                Json(),
            ],
            ["backprop eval --model spiral.safetensors", "backprop eval --model fashion.safetensors --split train --json"],
            (a, o, e) => (EvalCommand.Eval(a), 0)),
        new("predict", "classes and probabilities (a regression model: its outputs) for inputs x, as text or JSON", ["INPUT"],
            [new("model", "the model or checkpoint file (required)", "FILE"), Json()],
            ["echo '{\"x\": [[0.1, 0.2]]}' | backprop predict --model spiral.safetensors"],
            (a, o, e) => (EvalCommand.Predict(a), 0)),
        new("export", "writes a saved model as ONNX (input x with a symbolic batch, output logits or y), to run in ONNX Runtime",
            [],
            [
                new("model", "the model or checkpoint file (required)", "FILE"),
                new("onnx", "the ONNX file to write (required)", "FILE"),
                new("probabilities", "adds the output probabilities = Softmax(logits) beside the logits (classifiers)"),
                new("opset",
                    $"the ONNX opset, {Backprop.Models.OnnxFile.MinOpset} to " +
                    $"{Backprop.Models.OnnxFile.MaxOpset} (default 17; from 20 GELU is one Gelu node)", "N"),
            ],
            ["backprop export --model fashion.safetensors --onnx fashion.onnx --probabilities"],
            (a, o, e) => (Commands.OnnxCommand.Export(a), 0)),
        new("import", "reads an ONNX graph of the operators export writes (and torch.onnx.export writes for them) as a saved model",
            [],
            [
                new("onnx", "the ONNX file to read (required)", "FILE"),
                new("out", "the model file to write (required)", "FILE"),
            ],
            ["backprop import --onnx model.onnx --out model.safetensors"],
            (a, o, e) => (Commands.OnnxCommand.Import(a), 0)),
        new("grade", "checks your own layer (the book's Python class, or a C# Layer<T>) as the exercise platform does", ["FILE"],
            [
                new("layer", $"which layer: {string.Join(", ", Grading.GradedLayers.Classes.Keys)} (default: from the class names)",
                    "KIND"),
                new("cases", "the number of cases, the textbook sample first (default 20)", "N"),
                new("seed", "the seed of the random cases (default 0)", "N"),
                new("timeout", "seconds for the whole file (default 20)", "SECONDS"),
                new("memory", "the memory the file may take, in MiB (default 2048)", "MIB"),
                new("python", "the Python 3 with numpy to run it (default /usr/bin/python3)", "PATH"),
                new("trust", "runs the file with your own rights, without the sandbox: for your own file, where no sandbox can be had, " +
                    "and for a C# assembly, which runs in the grader's process"),
                new("bwrap", "the bubblewrap that makes the sandbox (default bwrap on the PATH)", "PATH"),
                new("type", "for a compiled assembly: the class, namespace included (a generic one as Name`1)", "NAME"),
                Json("one object per case and a summary"),
            ],
            ["backprop grade my_affine.py", "backprop grade layers.py --layer relu --cases 50 --seed 7 --json"],
            (a, o, e) => GradeCommand.Run(a)),
        new("summary", "a network's layers with each one's output shape, parameters and multiply-adds per sample, and totals",
            [],
            [
                new("model", "a model or checkpoint file, an ONNX file, a description (.json), or " +
                    string.Join(", ", Architectures.Names), "FILE|NAME"),
                new("input", "one sample's shape where the first layers do not fix it (default: a fully connected layer's inputs, " +
                    "or C,28,28 for a convolution)", "SHAPE"),
            ],
            ["backprop summary --model simple_convnet", "backprop summary --model fashion.safetensors"],
            (a, o, e) => (SummaryCommand.Run(a), 0)),
        new("playground", "a page in your browser that shows backpropagation happen, with the library's own numbers: the book's " +
            "computational graphs, the exercise's layer, a network that trains, a convolutional network's maps", [],
            [
                new("port", "the port on 127.0.0.1 (default 8080; 0: any free one)", "N"),
                new("model", "a saved model or an ONNX file to open the convolution view on (images of 28×28)", "FILE"),
                new("data", "2-D points for the network view as CSV: x1,x2,label per line (default the spiral)", "FILE"),
                new("grade", "your layer's file (as backprop grade takes it): the layer view opens on the first case it fails, your " +
                    "outputs beside the reference's", "FILE"),
                new("trust", "with --grade: run the file without the sandbox (as backprop grade --trust)"),
                new("bench", "measures a step of the network view, the update stream and the server's memory, prints them, and exits"),
            ],
            ["backprop playground", "backprop playground --port 9000 --data points.csv", "backprop playground --grade my_affine.py"],
            (a, o, e) => (string.Empty, Playground.PlaygroundCommand.Run(a, o))),
        new("bench", "fully connected, element-wise and convolutional-network timings (median, spread, GFLOP/s beside the FMA " +
            "peak), or training epochs", [],
            [
                new("ops", "fc, elementwise, convnet (every convolution and pooling layer of SimpleConvNet and DeepConvNet at batch " +
                    "100, and a whole training step of each), all (default: the three), training, or data (loading --data FILE.csv)",
                    "KIND"),
                new("dtype", "float32, float64 or both (default both; training: float32)", "TYPE"),
                new("threads", "1, 2 or both (default both)", "N"),
                new("shapes", "fully connected shapes B,N,M separated by ';' (default the issues' eight)", "LIST"),
                new("epochs", "training epochs (default 6; --quick 3)", "N"),
                new("images", "train on the first N images only", "N"),
                new("data", "the IDX folder for --ops training (default Fashion-MNIST from Debian), the CSV file for --ops data",
                    "DIR|FILE"),
                new("quick", "a smoke test of every row (a few calls each, seconds in all; not for comparisons)"),
                Json(),
            ],
            ["backprop bench --quick", "backprop bench --ops fc --dtype float32 --threads 1 --shapes \"100,784,100\""],
            (a, o, e) => (BenchCommand.Run(a, o), 0)),
    ];

    /// <summary>The root command with every command of <see cref="Specs"/>; actions write their text to <paramref
    /// name="stdout"/>.</summary>
    public static RootCommand Build(TextWriter stdout, TextWriter stderr, Action<int> exit)
    {
        var root = new RootCommand("backprop: neural networks from explicit forward and backward passes " +
            "(Deep Learning from Scratch, ch. 5 on). Errors go to standard error with exit code 2.");
        foreach (var spec in Specs())
        {
            var cmd = new Command(spec.Name, spec.Summary);
            var args = spec.Positionals.Select(p => new Argument<string>(p)
            {
                Arity = ArgumentArity.ZeroOrOne,
                Description = Describe(spec.Name, p)
            })
                .ToList();
            foreach (var a in args) cmd.Arguments.Add(a);
            var options = new List<(Opt Opt, Option Option)>();
            foreach (var o in spec.Options)
            {
                Option option = o.IsFlag
                    ? new Option<bool>("--" + o.Name) { Description = o.Description }
                    : new Option<string>("--" + o.Name) { Description = o.Description, HelpName = o.Value };
                cmd.Options.Add(option);
                options.Add((o, option));
            }
            cmd.SetAction(result =>
            {
                // The parsed values, once, for the command, which checks them in its own terms.
                var given = new Dictionary<string, string?>();
                foreach (var (o, option) in options)
                {
                    if (result.GetResult(option) is not { Implicit: false }) continue;
                    if (!o.IsFlag) given[o.Name] = result.GetValue((Option<string>)option) ?? "";
                    else if (result.GetValue((Option<bool>)option)) given[o.Name] = null;
                }
                var positionals = args.Select(a => result.GetValue(a)).Where(v => v is not null).Select(v => v!).ToList();
                if (positionals.FirstOrDefault(v => v.Length > 1 && v[0] == '-' && !char.IsDigit(v[1])) is { } stray)
                    throw new InvalidInputException(UnknownOption(spec.Name, stray, spec.Options.Select(o => "--" + o.Name)));
                var (text, code) = spec.Run(new Args(given, positionals), stdout, stderr);
                stdout.Write(text);
                stdout.Flush();
                exit(code);
                return code;
            });
            root.Subcommands.Add(cmd);
        }
        return root;
    }

    /// <summary>What a command's help adds after the parser's: examples, and for layer the kinds.</summary>
    public static string HelpFooter(string command)
    {
        var spec = Specs().FirstOrDefault(s => s.Name == command);
        if (spec is null) return "Run 'backprop COMMAND --help' for a command's options. Exit codes: 0 success, 1 a failed check " +
            "(gradcheck, grade), 2 bad input or usage, 3 a diverging training run.\n";
        return "Examples:\n  " + string.Join("\n  ", spec.Examples) + "\n"
            + (spec.Name == "layer" ? $"\nKIND: {Kinds_} (fully_connected is also fc or affine)\n" : "");
    }

    /// <summary>One line for a parse error: an unknown command or option with the nearest names, or the parser's own words.</summary>
    public static string Explain(ParseResult result)
    {
        var command = result.CommandResult.Command;
        string? token = result.UnmatchedTokens.FirstOrDefault();
        if (command is RootCommand)
        {
            var names = Specs().Select(s => s.Name).ToList();
            if (token is not null && !token.StartsWith('-'))
                return $"unknown command '{token}'{Nearest(token, names)}; the commands are {string.Join(", ", names)} (backprop --help)";
            if (token is not null) return $"unknown option {token} (backprop --help)";
            return $"a command is needed: {string.Join(", ", names)} (backprop --help)";
        }
        var spec = Specs().First(s => s.Name == command.Name);
        if (token is not null && token.StartsWith("--", StringComparison.Ordinal))
            return UnknownOption(spec.Name, token, spec.Options.Select(o => "--" + o.Name));
        if (token is not null) return $"{spec.Name}: unexpected argument '{token}' (backprop {spec.Name} --help)";
        return $"{spec.Name}: {result.Errors[0].Message} (backprop {spec.Name} --help)";
    }

    private static string UnknownOption(string command, string token, IEnumerable<string> options)
    {
        var list = options.ToList();
        return $"{command}: unknown option {token}{Nearest(token, list)}; it takes {string.Join(", ", list)} (backprop {command} --help)";
    }

    // The nearest names by edit distance (at most a third of the word's length, at least 2): "; did you mean --lr?".
    private static string Nearest(string token, IReadOnlyList<string> names)
    {
        string word = token.Split('=')[0];
        var near = names.Select(n => (Name: n, D: Distance(word, n))).Where(x => x.D <= Math.Max(2, word.Length / 3)).OrderBy(x => x.D)
            .Select(x => x.Name).Take(3).ToList();
        return near.Count == 0 ? "" : $"; did you mean {string.Join(" or ", near)}?";
    }

    private static int Distance(string a, string b)
    {
        var d = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) d[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int prev = d[0];
            d[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cur = d[j];
                d[j] = Math.Min(Math.Min(d[j] + 1, d[j - 1] + 1), prev + (a[i - 1] == b[j - 1] ? 0 : 1));
                prev = cur;
            }
        }
        return d[b.Length];
    }

    private static string Describe(string command, string positional) => (command, positional) switch
    {
        ("layer", "KIND") => "the layer or loss kind (see below)",
        ("layer" or "grad", "FILE") => "the input file (default: standard input)",
        ("predict", "INPUT") => "a file with x (default: standard input)",
        ("grade", "FILE") => "the solution: a .py file, or a .dll with --type",
        _ => positional,
    };
}
