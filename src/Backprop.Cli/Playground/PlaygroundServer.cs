using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Backprop.Cli.Commands;
using Backprop.Data;
using Backprop.IO;
using Backprop.Models;
using Backprop.Networks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Backprop.Cli.Playground;

/// <summary>What <c>backprop playground</c> serves: the port (0: any free one), and the files named on the command line.</summary>
internal sealed record PlaygroundOptions(int Port = 8080, string? ModelPath = null, string? DataPath = null,
    string FashionMnistDir = Datasets.FashionMnistDir, string? GradePath = null, bool Trust = false);

/// <summary>
/// The playground's web server: Kestrel on 127.0.0.1 only, the page and its scripts from the assembly's resources (no
/// network needed), and JSON endpoints whose every number the library computes. It refuses a Host header other than the
/// loopback address it listens on (DNS rebinding), a POST that is not JSON (so another site's page cannot post to it),
/// and request bodies over 1 MiB; bad input gets a 400 with a message, never a 500.
/// </summary>
internal sealed class PlaygroundServer : IAsyncDisposable
{
    public const long MaxBody = 1 << 20;

    private readonly WebApplication _app;
    private readonly PlaygroundOptions _options;
    private readonly Dataset? _data;
    private readonly Network<float>? _convModel;
    private NetworkSession _session;
    private ConvView? _conv;
    private readonly object _gate = new();
    private volatile bool _playing;
    private int _batchesPerUpdate = 5;
    private object? _grade;

    private PlaygroundServer(WebApplication app, PlaygroundOptions options, Dataset? data, Network<float>? model)
    {
        _app = app;
        _options = options;
        _data = data;
        // A saved network of 2 inputs opens view 3 on itself; any other (images) opens view 4.
        var fromModel = model is null ? null : NetworkSession.FromModel(model, data);
        _session = fromModel ?? new NetworkSession(DefaultSetup(data), data);
        _convModel = fromModel is null ? model : null;
    }

    /// <summary>The address the page is at (http://127.0.0.1:PORT/).</summary>
    public Uri Url { get; private set; } = new("http://127.0.0.1/");

    private static NetworkSetup DefaultSetup(Dataset? data) =>
        new([2, 64, 64, data?.Classes ?? 3], ["relu", "relu"], Dataset: data is null ? "spiral" : "data");

    /// <summary>Reads the files named on the command line, then starts listening.</summary>
    public static async Task<PlaygroundServer> StartAsync(PlaygroundOptions options)
    {
        var data = options.DataPath is null ? null : PointsCsv.Read(options.DataPath);
        var model = options.ModelPath is null ? null : LoadModel(options.ModelPath);
        // The student's file is graded once, before the page opens, exactly as backprop grade grades it.
        object? grade = null;
        if (options.GradePath is { } file)
        {
            var flags = new Dictionary<string, string?>();
            if (options.Trust) flags["trust"] = null;
            grade = GradeView.Of(GradeCommand.Evaluate(new Support.Args(flags, [file])));
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port);
            k.Limits.MaxRequestBodySize = MaxBody;
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        var server = new PlaygroundServer(app, options, data, model) { _grade = grade };
        server.Map();
        await app.StartAsync();
        // The port Kestrel bound (the one asked for, or a free one for 0).
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    private static Network<float> LoadModel(string path) =>
        path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? OnnxFile.Import<float>(path) : ModelFile.Load<float>(path);

    public async ValueTask DisposeAsync()
    {
        _playing = false;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Runs until <paramref name="stop"/> is cancelled.</summary>
    public Task WaitAsync(CancellationToken stop) => Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { });

    private void Map()
    {
        _app.Use(async (context, next) =>
        {
            // Loopback by name or number, on our port: a rebinding page's Host header names its own domain.
            string host = context.Request.Host.Host;
            if (host is not ("127.0.0.1" or "localhost" or "[::1]" or "::1"))
            {
                context.Response.StatusCode = StatusCodes.Status421MisdirectedRequest;
                await context.Response.WriteAsync($"the playground answers requests to 127.0.0.1 or localhost only, not '{host}'");
                return;
            }
            if (HttpMethods.IsPost(context.Request.Method) && context.Request.ContentType?.StartsWith("application/json",
                StringComparison.OrdinalIgnoreCase) != true)
            {
                context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
                await context.Response.WriteAsync("the playground's endpoints take application/json");
                return;
            }
            try { await next(context); }
            catch (Exception e) when (e is BackpropException or JsonException or InvalidOperationException or FormatException
                or KeyNotFoundException or Microsoft.AspNetCore.Http.BadHttpRequestException)
            {
                if (context.Response.HasStarted) return;
                context.Response.StatusCode = e is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest;
                await context.Response.WriteAsJsonAsync(new { error = e.Message });
            }
        });
        foreach (var (path, type) in new[] { ("/", "text/html"), ("/app.js", "text/javascript"), ("/style.css", "text/css") })
            _app.MapGet(path, () => Results.Text(Asset(path == "/" ? "index.html" : path[1..]), type + "; charset=utf-8"));

        _app.MapGet("/api/info", () => Results.Json(new
        {
            graphs = GraphView.Examples,
            activations = Kinds.Activations.Select(k => k.Name),
            optimizers = Optimizers.OptimizerSettings.Names,
            layerKinds = Kinds.Names,
            sample = DemoCommand.TextbookSample,
            data = _data is null ? "spiral" : _options.DataPath,
            model = _options.ModelPath,
            grade = _grade is not null,
            limits = new { maxNeurons = NetworkSession.MaxNeurons, maxLayers = NetworkSession.MaxLayers },
        }));
        _app.MapGet("/api/grade", () => _grade is null ? Results.NotFound(new { error = "no file to grade: start with --grade FILE" })
            : Results.Json(_grade));
        _app.MapPost("/api/graph", async (HttpRequest r) =>
        {
            using var doc = await Body(r);
            string example = Str(doc.RootElement, "example") ?? "apple";
            var inputs = new Dictionary<string, double>();
            if (doc.RootElement.TryGetProperty("inputs", out var given) && given.ValueKind == JsonValueKind.Object)
                foreach (var p in given.EnumerateObject()) inputs[p.Name] = Number(p.Value, p.Name);
            return Results.Json(GraphView.Run(example, inputs));
        });
        _app.MapPost("/api/layer", async (HttpRequest r) =>
        {
            using var doc = await Body(r);
            string kind = Kinds.Canonical(Str(doc.RootElement, "kind") ?? "fully_connected");
            string text = Str(doc.RootElement, "input") ?? throw new InvalidInputException("the layer needs its input text");
            var values = Inputs.Read(text);
            var output = LayerCommand.Compute<double>(kind, values);
            // An activation's local derivative ∂y/∂x (ReLU's mask, sigmoid's y(1 − y)): its backward pass of dout = 1.
            if (!Kinds.IsLoss(kind) && Kinds.Layer(kind).IsActivation && values.FirstOrDefault(v => v.Name == "x") is { IsNumeric: true } x)
            {
                var layer = Kinds.Create<double>(kind);
                var xt = x.ToTensor<double>();
                layer.Forward(xt);
                var ones = Tensor<double>.Zeros(xt.Shape.ToArray());
                ones.Span.Fill(1);
                output.Add("local", layer.Backward(ones));
            }
            output.EnsureFinite(kind);
            // The inputs as the library read them, for the page to draw beside the outputs.
            var inputs = values.Where(v => v.IsNumeric).ToDictionary(v => v.Name, v => new { shape = v.Shape ?? [], data = v.Values });
            return Results.Text($"{{\"kind\": {JsonSerializer.Serialize(kind)}, \"inputs\": {JsonSerializer.Serialize(inputs)}, " +
                $"\"outputs\": {output.ToJson()}}}", "application/json");
        });
        _app.MapPost("/api/net/new", async (HttpRequest r) =>
        {
            using var doc = await Body(r);
            var e = doc.RootElement;
            var setup = new NetworkSetup(
                Ints(e, "sizes") ?? [2, 64, 64, _data?.Classes ?? 3],
                e.TryGetProperty("activations", out var a) ? [.. a.EnumerateArray().Select(v => v.GetString() ?? "")] : ["relu", "relu"],
                Str(e, "optimizer") ?? "adam",
                e.TryGetProperty("lr", out var lr) ? Number(lr, "lr") : 0.01,
                e.TryGetProperty("batch", out var b) ? (int)Number(b, "batch") : 30,
                e.TryGetProperty("seed", out var s) ? (ulong)Math.Clamp(Number(s, "seed"), 0, 1e9) : 0,
                _data is null ? "spiral" : "data");
            var session = new NetworkSession(setup, _data);
            lock (_gate) { _playing = false; _session = session; }
            return Results.Json(session.Snapshot());
        });
        _app.MapGet("/api/net/state", () => Results.Json(Session.Snapshot()));
        _app.MapGet("/api/net/points", () => Results.Json(Session.Points()));
        _app.MapPost("/api/net/step", async (HttpRequest r) =>
        {
            using var doc = await Body(r);
            string unit = Str(doc.RootElement, "unit") ?? "batch";
            return Results.Json(unit switch
            {
                "layer" => Session.StepLayer(),
                "batch" => Session.StepBatch(),
                _ => throw new InvalidInputException($"a step is of a batch or a layer, not '{unit}'"),
            });
        });
        _app.MapPost("/api/net/play", async (HttpRequest r) =>
        {
            using var doc = await Body(r);
            _playing = doc.RootElement.TryGetProperty("on", out var on) && on.ValueKind == JsonValueKind.True;
            if (doc.RootElement.TryGetProperty("batchesPerUpdate", out var k))
                _batchesPerUpdate = (int)Math.Clamp(Number(k, "batchesPerUpdate"), 1, 100);
            return Results.Json(new { playing = _playing, batchesPerUpdate = _batchesPerUpdate });
        });
        _app.MapPost("/api/net/check", () => Results.Json(Session.Check()));
        _app.MapGet("/api/net/stream", Stream);
        _app.MapGet("/api/conv", (int? image) =>
        {
            var conv = Conv();
            return Results.Json(conv.Run(image ?? 0));
        });
    }

    private NetworkSession Session { get { lock (_gate) return _session; } }

    private ConvView Conv()
    {
        lock (_gate) return _conv ??= ConvView.Create(_options.FashionMnistDir, _convModel);
    }

    // Server-sent events while the page listens: when playing, a few batches then the state, about 20 times a second.
    private async Task Stream(HttpContext context)
    {
        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-store";
        var stop = context.RequestAborted;
        var tick = TimeSpan.FromMilliseconds(50);
        long last = -1;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var started = DateTime.UtcNow;
                var session = Session;
                if (_playing) session.StepBatch(_batchesPerUpdate);
                long steps = session.Steps;
                if (steps != last)
                {
                    last = steps;
                    var snapshot = session.Snapshot();
                    string json = JsonSerializer.Serialize(snapshot, JsonSerializerOptions.Web);
                    await context.Response.WriteAsync("data: " + json + "\n\n", stop);
                    await context.Response.Body.FlushAsync(stop);
                }
                var rest = tick - (DateTime.UtcNow - started);
                if (rest > TimeSpan.Zero) await Task.Delay(rest, stop);
            }
        }
        catch (OperationCanceledException) { }
    }

    private static async Task<JsonDocument> Body(HttpRequest r)
    {
        using var ms = new MemoryStream();
        await r.Body.CopyToAsync(ms);
        if (ms.Length == 0) return JsonDocument.Parse("{}");
        var doc = JsonDocument.Parse(ms.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidInputException("the request must be a JSON object");
        return doc;
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString()
            : throw new InvalidInputException($"{name} must be text") : null;

    private static double Number(JsonElement v, string name) => v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d)
        && double.IsFinite(d) ? d : throw new InvalidInputException($"{name} must be a number, not {v.GetRawText()}");

    private static int[]? Ints(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() > 64) throw new InvalidInputException($"{name} must be a short list");
        return [.. v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out int i) ? i
            : throw new InvalidInputException($"{name} must hold whole numbers, not {x.GetRawText()}"))];
    }

    /// <summary>A file of the page, from the assembly's resources.</summary>
    public static string Asset(string name)
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("Backprop.Cli.Playground." + name)
            ?? throw new InvalidOperationException($"the playground's {name} is missing from the build");
        using var reader = new StreamReader(s, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
