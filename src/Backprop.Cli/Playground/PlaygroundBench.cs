using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Backprop.Cli.Commands;
using Backprop.Kernels;

namespace Backprop.Cli.Playground;

/// <summary>
/// <c>backprop playground --bench</c>: what the page's liveness rests on, measured on the server side and printed as a
/// table (median and spread; the browser's own round trip, request to redraw, the browser tests print): one step of view 3
/// (2-64-64-3, batch 30) with its snapshot serialized, the snapshot's size, the updates per second the stream delivers while
/// training, and the server's memory after many updates against after few (the curves are bounded).
/// </summary>
internal static class PlaygroundBench
{
    public static string Run()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"processor: {Processor.Describe()}");
        var session = new NetworkSession(new NetworkSetup([2, 64, 64, 3], ["relu", "relu"]));
        string json = "";
        var step = BenchCommand.Time(() =>
        {
            session.StepBatch();
            json = JsonSerializer.Serialize(session.Snapshot(), JsonSerializerOptions.Web);
        }, quick: false);
        var layer = BenchCommand.Time(() => json = JsonSerializer.Serialize(session.StepLayer(), JsonSerializerOptions.Web), quick: false);
        sb.AppendLine("| what | median | min | max |");
        sb.AppendLine("|---|---:|---:|---:|");
        sb.AppendLine(Row("a batch step of 2-64-64-3 (batch 30) + its snapshot as JSON", step));
        sb.AppendLine(Row("a layer step + its snapshot as JSON", layer));
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"snapshot: {json.Length / 1024.0:0.0} KiB of JSON"));
        // The stream, through a real server: events received in three seconds of training.
        var server = PlaygroundServer.StartAsync(new PlaygroundOptions(Port: 0)).GetAwaiter().GetResult();
        try
        {
            using var http = new HttpClient { BaseAddress = server.Url };
            using var on = new StringContent("{\"on\": true}", Encoding.UTF8, "application/json");
            http.PostAsync("/api/net/play", on).GetAwaiter().GetResult().EnsureSuccessStatusCode();
            using var stream = http.GetStreamAsync("/api/net/stream").GetAwaiter().GetResult();
            using var reader = new StreamReader(stream);
            int events = 0;
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed.TotalSeconds < 3)
                if (reader.ReadLine() is { } line && line.StartsWith("data: ", StringComparison.Ordinal)) events++;
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"stream while training: {events / sw.Elapsed.TotalSeconds:0.0} updates per second (5 batches each)"));
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        // Memory: the same session after 2 000 and after 20 000 more updates.
        var long_ = new NetworkSession(new NetworkSetup([2, 64, 64, 3], ["relu", "relu"]));
        long_.StepBatch(2000);
        long before = Settled();
        long_.StepBatch(20000);
        long after = Settled();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"server memory (managed heap) after 2 000 updates {before / 1048576.0:0.0} MiB, after 22 000 {after / 1048576.0:0.0} MiB"));
        return sb.ToString();
    }

    private static long Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(true);
    }

    private static string Row(string what, (double Median, double Min, double Max) t) =>
        string.Create(CultureInfo.InvariantCulture,
            $"| {what} | {t.Median * 1e3:0.00} ms | {t.Min * 1e3:0.00} ms | {t.Max * 1e3:0.00} ms |");
}
