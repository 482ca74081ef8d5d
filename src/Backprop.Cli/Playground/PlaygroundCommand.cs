using Backprop.Cli.Support;

namespace Backprop.Cli.Playground;

/// <summary><c>backprop playground</c>: serves the page on 127.0.0.1 until Ctrl+C (exit 0).</summary>
internal static class PlaygroundCommand
{
    public static int Run(Args args, TextWriter stdout)
    {
        if (args.Positionals.Count > 0) throw new InvalidInputException($"playground: unexpected argument '{args.Positionals[0]}'");
        if (args.Flag("bench"))
        {
            stdout.Write(PlaygroundBench.Run());
            return 0;
        }
        var options = new PlaygroundOptions(args.Int("port", 8080, 0, 65535), args.Value("model"), args.Value("data"),
            GradePath: args.Value("grade"), Trust: args.Flag("trust"));
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler cancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
        Console.CancelKeyPress += cancel;
        try
        {
            var server = PlaygroundServer.StartAsync(options).GetAwaiter().GetResult();
            stdout.WriteLine($"backprop playground: {server.Url} (Ctrl+C stops it)");
            stdout.Flush();
            server.WaitAsync(stop.Token).GetAwaiter().GetResult();
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            stdout.WriteLine("backprop playground: stopped");
            return 0;
        }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException
            || e.Message.Contains("address", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidInputException($"playground: port {options.Port} cannot be listened on ({e.Message}); try --port");
        }
        finally
        {
            Console.CancelKeyPress -= cancel;
        }
    }
}
