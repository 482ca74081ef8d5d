using System.Text;
using Backprop;
using Backprop.Cli.Commands;
using Backprop.Cli.Support;

namespace Backprop.Cli;

/// <summary>The <c>backprop</c> command.</summary>
public static class Program
{
    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the command with the given writers (used by tests).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        bool argsWereEmpty = args.Length == 0;
        try
        {
            if (args.Length > 0 && args[0] is "--version" or "version")
            {
                stdout.Write($"backprop {Version()}\n");
                return 0;
            }
            int code = 0;
            var root = CommandLine.Build(stdout, stderr, c => code = c);
            if (args.Length == 0 || args[0] == "help") args = args.Length > 1 ? [args[1], "--help"] : ["--help"];
            var result = root.Parse(args);
            var config = new System.CommandLine.InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false
            };
            if (result.Errors.Count > 0)
            {
                stderr.WriteLine($"backprop: error: {CommandLine.Explain(result)}");
                return 2;
            }
            int rc = result.Invoke(config);
            if (result.Action is System.CommandLine.Help.HelpAction)
                stdout.Write(CommandLine.HelpFooter(result.CommandResult.Command.Name));
            return args is ["--help"] && argsWereEmpty ? 2 : rc == 0 ? code : rc;
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
