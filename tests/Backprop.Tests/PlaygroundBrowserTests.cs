using Backprop.Cli.Playground;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Backprop.Tests;

/// <summary>
/// The playground in a real headless Chromium (Debian's, driven by Playwright with ExecutablePath; no browser download):
/// each view loads and shows the library's numbers, the step controls move the pass, training lowers the loss, bad input
/// gets a message on the page, and a screenshot of each view goes into the test output (playground-screenshots/). Skipped,
/// saying why, where chromium is not installed. Nothing waits on a fixed time: every wait is for what the page shows.
/// </summary>
public sealed class PlaygroundBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string? Chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
    // ms; generous for a loaded machine, never reached on a working page (PLAYGROUND_TEST_PATIENCE shortens it to debug)
    private static readonly float Patience = float.Parse(Environment.GetEnvironmentVariable("PLAYGROUND_TEST_PATIENCE") ?? "120000",
        System.Globalization.CultureInfo.InvariantCulture);

    private PlaygroundServer? _server;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public static string ScreenshotDir => Path.Combine(AppContext.BaseDirectory, "playground-screenshots");

    public async Task InitializeAsync()
    {
        if (Chromium is null) return;
        _server = await PlaygroundServer.StartAsync(new PlaygroundOptions(Port: 0));
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
        if (_server is not null) await _server.DisposeAsync();
    }

    private async Task<IPage> Open(PlaygroundServer? server = null)
    {
        var page = await _browser!.NewPageAsync(new BrowserNewPageOptions
        {
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        });
        page.SetDefaultTimeout(Patience);
        page.Console += (_, m) => output.WriteLine($"console {m.Type}: {m.Text}");
        page.PageError += (_, e) => output.WriteLine($"page error: {e}");
        await page.GotoAsync((server ?? _server)!.Url.ToString());
        await page.WaitForSelectorAsync("body[data-ready=true]");
        return page;
    }

    private static async Task Shot(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDir, name + ".png") });
    }

    [SkippableFact]
    public async Task The_graph_view_shows_the_books_gradients_and_steps_a_node_at_a_time()
    {
        Skip.If(Chromium is null, "chromium is not installed (apt-get install chromium)");
        var page = await Open();
        Assert.Equal("2.2", await page.TextContentAsync("#graph-svg text.grad[data-edge=apple]"));
        Assert.Equal("110", await page.TextContentAsync("#graph-svg text.grad[data-edge=apple_num]"));
        Assert.Equal("200", await page.TextContentAsync("#graph-svg text.grad[data-edge=tax]"));
        Assert.Equal("220", await page.TextContentAsync("#graph-svg text.value[data-edge=price]"));
        await Shot(page, "1-graph");
        await page.ClickAsync("#graph-step");
        Assert.StartsWith("forward mul_apple", await page.TextContentAsync("#graph-rule"));
        Assert.Equal("", await page.TextContentAsync("#graph-svg text.grad[data-edge=apple]"));   // the backward pass has not run
        for (int i = 0; i < 3; i++) await page.ClickAsync("#graph-step");
        Assert.StartsWith("backward mul_apple: multiply swaps its inputs", await page.TextContentAsync("#graph-rule"));
        Assert.Equal("2.2", await page.TextContentAsync("#graph-svg text.grad[data-edge=apple]"));
        // An edited input updates both passes: 3 apples, d(tax) = 300.
        await page.FillAsync("#graph-inputs input[data-name=apple_num]", "3");
        await page.PressAsync("#graph-inputs input[data-name=apple_num]", "Tab");
        await page.WaitForFunctionAsync("document.querySelector('#graph-svg text.grad[data-edge=tax]').textContent === '300'");
        await page.SelectOptionAsync("#graph-example", "apple_orange");
        await page.WaitForFunctionAsync("document.querySelector('#graph-svg text.grad[data-edge=orange]')?.textContent === '3.3'");
        Assert.Equal("650", await page.TextContentAsync("#graph-svg text.grad[data-edge=tax]"));
        await Shot(page, "1-graph-apple-orange");
    }

    [SkippableFact]
    public async Task The_layer_view_shows_the_samples_gradients_highlights_operands_and_reports_bad_input()
    {
        Skip.If(Chromium is null, "chromium is not installed (apt-get install chromium)");
        var page = await Open();
        await page.ClickAsync("#tab-layer");
        await page.WaitForSelectorAsync("#out-dx");
        var dx = await page.Locator("#out-dx td").AllTextContentsAsync();
        Assert.Equal(["0.14", "0.32", "0.32", "0.77"], dx);
        Assert.Equal(["0.5", "0.7", "0.9"], await page.Locator("#out-db td").AllTextContentsAsync());
        // y[0, 1] = x[0, :]·W[:, 1] + b[1]: row 0 of x, column 1 of W and b[1] light up.
        await page.HoverAsync("#out-y td[data-r='0'][data-c='1']");
        Assert.Equal(["1", "2"], await page.Locator("#in-x td.hl").AllTextContentsAsync());
        Assert.Equal(["0.2", "0.5"], await page.Locator("#in-W td.hl").AllTextContentsAsync());
        await Shot(page, "2-layer");
        await page.FillAsync("#layer-input", "x:\n[[1, 2],\n [3]]");
        await page.ClickAsync("#layer-run");
        await page.WaitForSelectorAsync("#error:not([hidden])");
        Assert.Contains("ragged", await page.TextContentAsync("#error"));
        await page.SelectOptionAsync("#layer-kind", "relu");
        await page.WaitForFunctionAsync("document.querySelector('#layer-formulas').textContent.includes('[x > 0]')");
        Assert.Equal(["0.1", "0", "0", "0.4"], await page.Locator("#out-dx td").AllTextContentsAsync());   // the mask of x > 0
    }

    [SkippableFact]
    public async Task The_network_view_steps_a_layer_at_a_time_and_training_lowers_the_loss()
    {
        Skip.If(Chromium is null, "chromium is not installed (apt-get install chromium)");
        var page = await Open();
        await page.ClickAsync("#tab-net");
        await page.WaitForFunctionAsync("document.querySelector('#net-status').textContent.includes('updates 0')");
        await page.ClickAsync("#net-step-layer");
        await page.WaitForSelectorAsync("#net-status[data-phase=forward][data-cursor='0']");
        await page.ClickAsync("#net-step-layer");
        await page.WaitForSelectorAsync("#net-status[data-phase=forward][data-cursor='1']");
        Assert.Contains("forward: layers[1] relu", await page.TextContentAsync("#net-status"));
        await page.ClickAsync("#net-step-batch");
        await page.WaitForFunctionAsync("document.querySelector('#net-status').textContent.includes('updates 1 ')");
        double first = await page.EvaluateAsync<double>("() => netState.loss");
        double stepMs = await page.EvaluateAsync<double>("() => window.playground.lastStepMs");
        output.WriteLine($"a step of 2-64-64-3 (request, snapshot, redraw): {stepMs:0.0} ms");
        await page.EvaluateAsync("() => { window.playground.updates = 0; window.playStarted = performance.now(); }");
        await page.ClickAsync("#net-play");
        await page.WaitForFunctionAsync("netState.steps >= 400");
        await page.ClickAsync("#net-play");
        // Measured, not asserted: docs/BENCHMARKS.md records these lines.
        double rate = await page.EvaluateAsync<double>("() => window.playground.updates * 1000 / (performance.now() - window.playStarted)");
        output.WriteLine($"while training: {rate:0.0} " +
            "updates reached the page per second");
        double late = await page.EvaluateAsync<double>("() => netState.lossHistory.slice(-20).reduce((a, b) => a + b, 0) / 20");
        Assert.True(late < first * 0.8, $"the loss went from {first} to {late}");
        await page.HoverAsync("#net-canvas", new PageHoverOptions { Position = new Position { X = 40, Y = 129 } });
        await Shot(page, "3-network");
        await page.ClickAsync("#net-check");
        await page.WaitForSelectorAsync("#net-check-result table");
        Assert.DoesNotContain("FAIL", await page.TextContentAsync("#net-check-result"));
        await page.FillAsync("#net-sizes", "100000");
        await page.ClickAsync("#net-build");
        await page.WaitForSelectorAsync("#error:not([hidden])");
        Assert.Contains("neurons", await page.TextContentAsync("#error"));
    }

    [SkippableFact]
    public async Task The_convolution_view_shows_every_layers_maps_and_the_probabilities()
    {
        Skip.If(Chromium is null, "chromium is not installed (apt-get install chromium)");
        Skip.IfNot(File.Exists(Path.Combine(Data.Datasets.FashionMnistDir, "t10k-images-idx3-ubyte.gz")),
            "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        var page = await Open();
        await page.ClickAsync("#tab-conv");
        await page.WaitForSelectorAsync("#conv-body .conv-layer canvas");
        int layers = await page.Locator("#conv-body .conv-layer").CountAsync();
        Assert.Equal(1 + 6, layers);   // the input, then SimpleConvNet's six layers
        Assert.Equal(10, await page.Locator("table.probs tr").CountAsync());
        await Shot(page, "4-convolution");
        await page.CheckAsync("#conv-grads");
        await page.WaitForFunctionAsync("document.querySelector('#conv-body').textContent.includes('dout')");
        await page.ClickAsync("#conv-next");
        await page.WaitForFunctionAsync("document.querySelector('#conv-body h3').textContent.includes('test image 1')");
    }

    [SkippableFact]
    public async Task The_convolution_view_draws_a_residual_network_node_by_node()
    {
        Skip.If(Chromium is null, "chromium is not installed (apt-get install chromium)");
        Skip.IfNot(File.Exists(Path.Combine(Data.Datasets.FashionMnistDir, "t10k-images-idx3-ubyte.gz")),
            "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        string model = Path.Combine(Path.GetTempPath(), $"bp-playground-resnet-{Environment.ProcessId}.safetensors");
        try
        {
            var net = Models.Architectures.ResNetSmall().Build<float>(new Rng(3));
            Models.ModelFile.Save(model, net);
            await using var server = await PlaygroundServer.StartAsync(new PlaygroundOptions(Port: 0, ModelPath: model));
            var page = await Open(server);
            await page.ClickAsync("#tab-conv");
            await page.WaitForSelectorAsync("#conv-body .conv-layer canvas");
            Assert.Equal(1 + net.Nodes.Count, await page.Locator("#conv-body .conv-layer").CountAsync());
            string text = (await page.TextContentAsync("#conv-body"))!;
            Assert.Contains("s2b1_add = add(s2b1_bn2, s2b1_short_bn) → (1, 32, 14, 14)", text);
            await page.CheckAsync("#conv-grads");
            await page.WaitForFunctionAsync("document.querySelector('#conv-body').textContent.includes('dout')");
            await Shot(page, "4-convolution-resnet");
        }
        finally { File.Delete(model); }
    }

    [SkippableFact]
    public async Task A_students_failing_layer_opens_beside_the_reference_with_its_wrong_elements_marked()
    {
        Skip.If(Chromium is null, "chromium is not installed (apt-get install chromium)");
        GradeTests.RequirePython();
        // db as the batch's mean instead of its sum: the grader's diagnosis names it, and every element of db differs.
        string file = Path.Combine(AppContext.BaseDirectory, "Data", "grade", "affine_db_mean.py");
        await using var server = await PlaygroundServer.StartAsync(new PlaygroundOptions(Port: 0, GradePath: file,
            Trust: Backprop.Cli.Grading.Sandbox.Unavailable(Backprop.Cli.Grading.Sandbox.Find(null)) is not null));
        var page = await Open(server);
        Assert.Equal("true", await page.GetAttributeAsync("#tab-layer", "aria-selected"));
        await page.WaitForSelectorAsync("#grade table");
        string text = (await page.TextContentAsync("#grade"))!;
        Assert.Contains("fails", text);
        Assert.Contains("case 1", text);   // the exercise's sample, the first case
        Assert.Contains("diagnosis", text);
        Assert.Equal(3, await page.Locator("#grade-act-db td.diff").CountAsync());
        Assert.Equal(0, await page.Locator("#grade-act-dx td.diff").CountAsync());
        Assert.Equal(["0.25", "0.35", "0.45"], await page.Locator("#grade-act-db td").AllTextContentsAsync());
        await Shot(page, "2-layer-grade");
    }
}
