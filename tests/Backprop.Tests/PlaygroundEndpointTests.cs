using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Backprop.Cli.Playground;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Networks;
using Backprop.Optimizers;

namespace Backprop.Tests;

/// <summary>
/// The playground's endpoints, through a real server on a free loopback port: the book's numbers for its computational
/// graphs (§5.4, buy_apple.py and buy_apple_orange.py), the exercise's sample through the layer, a network step equal to
/// the same step through the library directly, and bad input answered with a 4xx and a message.
/// </summary>
public sealed class PlaygroundEndpointTests : IAsyncLifetime
{
    private PlaygroundServer? _server;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _server = await PlaygroundServer.StartAsync(new PlaygroundOptions(Port: 0));
        _http.BaseAddress = _server.Url;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_server is not null) await _server.DisposeAsync();
    }

    private async Task<(HttpStatusCode Code, JsonElement Json)> Post(string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var r = await _http.PostAsync(path, content);
        var text = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task The_apple_graphs_give_the_books_numbers()
    {
        var (code, g) = await Post("/api/graph", """{"example": "apple"}""");
        Assert.Equal(HttpStatusCode.OK, code);
        // buy_apple.py prints price 220, dApple 2.2, dApple_num 110, dTax 200.
        Assert.Equal(220, g.GetProperty("values").GetProperty("price").GetDouble(), 9);
        Assert.Equal(2.2, g.GetProperty("gradients").GetProperty("apple").GetDouble(), 12);
        Assert.Equal(110, g.GetProperty("gradients").GetProperty("apple_num").GetDouble(), 9);
        Assert.Equal(200, g.GetProperty("gradients").GetProperty("tax").GetDouble(), 9);
        Assert.Equal(4, g.GetProperty("steps").GetArrayLength());   // two nodes forward, two backward
        // buy_apple_orange.py prints 715, 110, 2.2, 3.3, 165, 650.
        (code, g) = await Post("/api/graph", """{"example": "apple_orange"}""");
        Assert.Equal(HttpStatusCode.OK, code);
        var d = g.GetProperty("gradients");
        Assert.Equal(715, g.GetProperty("values").GetProperty("price").GetDouble(), 9);
        Assert.Equal(110, d.GetProperty("apple_num").GetDouble(), 9);
        Assert.Equal(2.2, d.GetProperty("apple").GetDouble(), 12);
        Assert.Equal(3.3, d.GetProperty("orange").GetDouble(), 12);
        Assert.Equal(165, d.GetProperty("orange_num").GetDouble(), 9);
        Assert.Equal(650, d.GetProperty("tax").GetDouble(), 9);
        // Edited inputs: 3 apples at 50, tax 2: price 300, d(tax) = 150.
        (code, g) = await Post("/api/graph", """{"example": "apple", "inputs": {"apple": 50, "apple_num": 3, "tax": 2}}""");
        Assert.Equal(300, g.GetProperty("values").GetProperty("price").GetDouble(), 9);
        Assert.Equal(150, g.GetProperty("gradients").GetProperty("tax").GetDouble(), 9);
    }

    [Fact]
    public async Task The_exercises_sample_gives_its_dx_dW_and_db()
    {
        var body = JsonSerializer.Serialize(new { kind = "fully_connected", input = Backprop.Cli.Commands.DemoCommand.TextbookSample });
        var (code, r) = await Post("/api/layer", body);
        Assert.Equal(HttpStatusCode.OK, code);
        var o = r.GetProperty("outputs");
        // dx = dout·Wᵀ, dW = xᵀ·dout, db = Σ dout, worked by hand from the sample.
        double[] Flat(string name) => [.. o.GetProperty(name).EnumerateArray().SelectMany(row => row.ValueKind == JsonValueKind.Array
            ? row.EnumerateArray().Select(v => v.GetDouble()) : [row.GetDouble()])];
        TestUtil.Close([0.14, 0.32, 0.32, 0.77], Flat("dx"), 1e-12, null, "dx");
        TestUtil.Close([1.3, 1.7, 2.1, 1.8, 2.4, 3.0], Flat("dW"), 1e-12, null, "dW");
        TestUtil.Close([0.5, 0.7, 0.9], Flat("db"), 1e-12, null, "db");
        TestUtil.Close([1.0, 1.4, 1.8, 2.0, 2.8, 3.6], Flat("y"), 1e-12, null, "y");
        Assert.Equal([2, 2], r.GetProperty("inputs").GetProperty("x").GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()));
    }

    [Fact]
    public void A_network_step_is_the_same_step_through_the_library()
    {
        var setup = new NetworkSetup([2, 16, 8, 3], ["relu", "tanh"], "adam", 0.01, 30, 5);
        var session = new NetworkSession(setup);
        session.StepBatch(2);
        // The same by hand: He-initialized layers from the seed's generator, which then shuffles the points.
        var rng = new Rng(5);
        var net = new Sequential<double>([new FullyConnected<double>(2, 16, Initialization.He, rng), new Relu<double>(),
            new FullyConnected<double>(16, 8, Initialization.He, rng), new Tanh<double>(),
            new FullyConnected<double>(8, 3, Initialization.He, rng)], new SoftmaxCrossEntropy<double>());
        var optimizer = Optimizer<double>.Create("adam", net.Parameters, 0.01);
        var data = Data.Datasets.Spiral(100, 3, 5);
        var order = Enumerable.Range(0, data.Count).ToArray();
        rng.Shuffle(order);
        for (int step = 0; step < 2; step++)
        {
            var x = Tensor<double>.Zeros(30, 2);
            var t = Tensor<double>.Zeros(30);
            for (int i = 0; i < 30; i++)
            {
                int k = order[step * 30 + i];
                (x[i, 0], x[i, 1], t[i]) = (data.Features[2 * k], data.Features[2 * k + 1], data.Labels[k]);
            }
            net.ComputeLoss(x, t);
            net.Backward();
            optimizer.Step();
        }
        for (int p = 0; p < net.Parameters.Count; p++)
            Assert.Equal(net.Parameters[p].Value.Span.ToArray(), session.Network.Parameters[p].Value.Span.ToArray());
    }

    [Fact]
    public void Stepping_a_layer_at_a_time_ends_where_a_batch_step_does()
    {
        var setup = new NetworkSetup([2, 8, 3], ["sigmoid"], "sgd", 0.1, 10, 3);
        var byLayer = new NetworkSession(setup);
        var byBatch = new NetworkSession(setup);
        var phases = new List<string>();
        // layers[0] forward, [1], [2], the loss, backward [2], [1], [0], the update: eight calls, then the next batch
        for (int i = 0; i < 8; i++)
        {
            var s = JsonSerializer.SerializeToElement(byLayer.StepLayer(), JsonSerializerOptions.Web);
            phases.Add($"{s.GetProperty("phase").GetString()} {s.GetProperty("cursor").GetInt32()}");
        }
        Assert.Equal(["forward 0", "forward 1", "forward 2", "loss 3", "backward 2", "backward 1", "backward 0", "update -1"], phases);
        byBatch.StepBatch();
        for (int p = 0; p < byBatch.Network.Parameters.Count; p++)
            Assert.Equal(byBatch.Network.Parameters[p].Value.Span.ToArray(), byLayer.Network.Parameters[p].Value.Span.ToArray());
    }

    [Theory]
    [InlineData("/api/layer", """{"kind": "fully_connected", "input": "x:\n[[1, 2], [3]]"}""", "ragged")]
    [InlineData("/api/layer", """{"kind": "fully_connected", "input": "x:\n[[1, a]]"}""", "")]
    [InlineData("/api/layer", """{"kind": "no_such_layer", "input": "x: [1]"}""", "unknown kind")]
    [InlineData("/api/net/new", """{"sizes": [2, 1000000, 3], "activations": ["relu"]}""", "neurons")]
    [InlineData("/api/net/new", """{"sizes": [2, 8, 3], "activations": ["softmax_cross_entropy"]}""", "not an activation")]
    [InlineData("/api/net/new", """{"sizes": [2, 8, 3], "activations": ["relu"], "lr": -1}""", "learning rate")]
    [InlineData("/api/graph", """{"example": "banana"}""", "must be one of")]
    [InlineData("/api/graph", """{"example": "apple", "inputs": {"apple": "many"}}""", "must be a number")]
    [InlineData("/api/net/step", """{"unit": "epoch"}""", "batch or a layer")]
    [InlineData("/api/graph", """[1, 2""", "")]
    public async Task Bad_input_gets_a_4xx_and_a_message(string path, string body, string message)
    {
        var (code, r) = await Post(path, body);
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains(message, r.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_foreign_host_a_non_json_post_and_a_huge_body_are_refused()
    {
        using var foreign = new HttpRequestMessage(HttpMethod.Get, "/");
        foreign.Headers.Host = "attacker.example";
        using (var r = await _http.SendAsync(foreign)) Assert.Equal(HttpStatusCode.MisdirectedRequest, r.StatusCode);
        using (var r = await _http.PostAsync("/api/graph", new StringContent("{}", Encoding.UTF8, "text/plain")))
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        var huge = "{\"input\": \"" + new string('1', (int)PlaygroundServer.MaxBody + 10) + "\"}";
        // The client asks before sending the body (Expect: 100-continue) and waits for the answer however long it takes: the
        // server refuses on the length alone, and a body already on its way would race the server's closing of the connection.
        using (var patient = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromMinutes(10) })
        { BaseAddress = _server!.Url })
        using (var post = new HttpRequestMessage(HttpMethod.Post, "/api/layer")
        { Content = new StringContent(huge, Encoding.UTF8, "application/json") })
        {
            post.Headers.ExpectContinue = true;
            using var r = await patient.SendAsync(post);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        }
        using (var r = await _http.GetAsync("/"))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Contains("Backprop playground", await r.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task The_stream_sends_the_training_state_while_playing()
    {
        var (code, _) = await Post("/api/net/play", """{"on": true, "batchesPerUpdate": 2}""");
        Assert.Equal(HttpStatusCode.OK, code);
        using var stream = await _http.GetStreamAsync("/api/net/stream");
        using var reader = new StreamReader(stream);
        var steps = new List<long>();
        while (steps.Count < 3)
        {
            string? line = await reader.ReadLineAsync();
            Assert.NotNull(line);
            if (line.StartsWith("data: ", StringComparison.Ordinal))
                steps.Add(JsonDocument.Parse(line[6..]).RootElement.GetProperty("steps").GetInt64());
        }
        Assert.True(steps[1] > steps[0] && steps[2] > steps[1], string.Join(", ", steps));
        await Post("/api/net/play", """{"on": false}""");
    }

    [Fact]
    public async Task A_saved_network_of_two_inputs_opens_the_network_view_on_its_own_weights()
    {
        var model = new Models.MlpSpec { Sizes = [2, 16, 3], Activation = "tanh" }.Build<float>(new Rng(9));
        string path = Path.Combine(Path.GetTempPath(), $"bp-playground-model-{Environment.ProcessId}.safetensors");
        try
        {
            Models.ModelFile.Save(path, model);
            await using var server = await PlaygroundServer.StartAsync(new PlaygroundOptions(Port: 0, ModelPath: path));
            using var http = new HttpClient { BaseAddress = server.Url };
            var state = JsonDocument.Parse(await http.GetStringAsync("/api/net/state")).RootElement;
            Assert.Equal([2, 16, 3], state.GetProperty("setup").GetProperty("sizes").EnumerateArray().Select(v => v.GetInt32()));
            Assert.Equal(["tanh"], state.GetProperty("setup").GetProperty("activations").EnumerateArray().Select(v => v.GetString()));
            var w = state.GetProperty("layers")[0].GetProperty("w").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            var expected = model.Parameters[0].Value.Span.ToArray();
            Assert.Equal(expected.Length, w.Length);
            for (int i = 0; i < w.Length; i++) Assert.Equal(expected[i], w[i], 4);   // the page's five significant digits
        }
        finally
        {
            File.Delete(path);
        }
    }
}
