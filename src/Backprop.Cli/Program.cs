using System.Text;
using Backprop;
using Backprop.Cli.Commands;

namespace Backprop.Cli;

/// <summary>The <c>backprop</c> command.</summary>
public static class Program
{
    private const string Help = """
        backprop: neural networks from explicit forward and backward passes

        usage:
          backprop demo                     the textbook sample, the chain rule, the gradient check
          backprop layer KIND [FILE]        one layer's forward and backward pass (text or JSON input)
          backprop grad [FILE]              loss and every gradient of a network given as JSON
          backprop gradcheck                every backward pass against numerical gradients
          backprop bench                    fully connected and element-wise timings (median, spread, GFLOP/s)
          backprop train                    train an MLP (spiral, Fashion-MNIST, MNIST) with progress, plots, saved models
          backprop eval --model FILE        loss, accuracy and confusion matrix of a saved model
          backprop predict --model FILE     classes and probabilities for inputs x
          backprop grade FILE.py            check your own layer (the book's Python class) as the exercise platform does

        common options: --json (machine-readable output), --dtype float64|float32
        KIND: {0}
        Errors go to standard error with exit code 2.
        """;

    // Every kind of the registry with its aliases, wrapped to the help text's width.
    private static string KindList()
    {
        var names = Backprop.Models.Kinds.Layers.Select(k => k.Aliases.Count == 0 ? k.Name : $"{k.Name} ({string.Join(", ", k.Aliases)})")
            .Concat(Backprop.Models.Kinds.Losses.Select(k => k.Name)).ToList();
        var lines = new List<string>();
        string line = "";
        foreach (var n in names)
        {
            if (line.Length > 0 && line.Length + n.Length + 2 > 100) { lines.Add(line + ","); line = ""; }
            line = line.Length == 0 ? n : line + ", " + n;
        }
        lines.Add(line);
        return string.Join("\n      ", lines);
    }

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the command with the given writers (used by tests).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
            {
                stdout.Write(string.Format(System.Globalization.CultureInfo.InvariantCulture, Help, KindList()) + "\n");
                return args.Length == 0 ? 2 : 0;
            }
            string[] rest = args[1..];
            int code = 0;
            string text = args[0] switch
            {
                "layer" => LayerCommand.Run(rest),
                "grad" => GradCommand.Run(rest),
                "gradcheck" => With(GradcheckCommand.Run(rest), out code),
                "demo" => With(DemoCommand.Run(rest, stdout), out code),
                "bench" => BenchCommand.Run(rest, stdout),
                "train" => With((string.Empty, TrainCommand.Run(rest, stdout, stderr)), out code),
                "eval" => EvalCommand.Eval(rest),
                "predict" => EvalCommand.Predict(rest),
                "grade" => With(GradeCommand.Run(rest), out code),
                "--version" or "version" => $"backprop {Version()}\n",
                _ => throw new InvalidInputException($"unknown command '{args[0]}'; run 'backprop help'"),
            };
            stdout.Write(text);
            stdout.Flush();
            return code;
        }
        catch (TrainingDivergedException e)
        {
            stderr.WriteLine($"backprop: error: {e.Message}");
            return 3;
        }
        catch (BackpropException e)
        {
            stderr.WriteLine($"backprop: error: {e.Message}");
            return 2;
        }
        catch (IOException e)
        {
            stderr.WriteLine($"backprop: error: {e.Message}");
            return 2;
        }
        catch (UnauthorizedAccessException e)
        {
            stderr.WriteLine($"backprop: error: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Any other exception is a bug in Backprop, not bad input: say so, briefly, without a stack trace.
            stderr.WriteLine($"backprop: internal error ({e.GetType().Name}: {e.Message}); please report it");
            return InternalError;
        }
    }

    /// <summary>The package's version (the informational version, without build metadata).</summary>
    public static string Version() =>
        (typeof(Program).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0")
        .Split('+')[0];

    /// <summary>The exit code of an unexpected exception (EX_SOFTWARE): a bug, which the tests treat as a failure.</summary>
    public const int InternalError = 70;

    private static string With((string Text, int Code) r, out int code)
    {
        code = r.Code;
        return r.Text;
    }
}
