using Backprop.Data;
using Backprop.Gradients;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;

namespace Backprop.Cli.Playground;

/// <summary>What the page asks view 3 to build: the sizes from input to output, an activation per hidden layer, the
/// optimizer, its learning rate, the batch size and the seed.</summary>
internal sealed record NetworkSetup(int[] Sizes, string[] Activations, string Optimizer = "adam", double LearningRate = 0.01,
    int Batch = 30, ulong Seed = 0, string Dataset = "spiral");

/// <summary>
/// View 3: a fully connected network in float64 on 2-D data, stepped by the page a batch or a layer at a time, or trained
/// in the background while the page listens. The layers are the library's, run one call at a time: a layer step is one
/// layer's Forward (or Backward), the loss's, or the optimizer's update, so the page can highlight where the pass is.
/// One session serves one page; every member takes the lock, and memory stays bounded (the curves keep at most
/// <see cref="MaxHistory"/> points, halving their resolution when full).
/// </summary>
internal sealed class NetworkSession
{
    public const int MaxNeurons = 256, MaxLayers = 8, MaxHistory = 2000, RegionGrid = 48;

    private readonly object _gate = new();
    private readonly Dataset _data;
    private readonly Sequential<double> _net;
    // A copy for the regions and the accuracy: predicting with the network itself would overwrite what its layers keep
    // for a backward pass in progress.
    private readonly Sequential<double> _view;
    private readonly Optimizer<double> _optimizer;
    private readonly NetworkSetup _setup;
    private readonly Rng _rng;
    private readonly List<double> _loss = [], _accuracy = [];
    private int _historyStride = 1, _sinceRecorded;
    private int[] _order;
    private int _next;
    private long _steps;
    // The layer-by-layer pass in progress: its batch, the value after each layer, and the gradient before each.
    private Tensor<double>? _x, _t;
    private readonly List<Tensor<double>> _outputs = [];
    private readonly List<Tensor<double>?> _grads = [];
    private string _phase = "idle";
    private int _cursor = -1;
    private double _lastLoss = double.NaN;

    public NetworkSession(NetworkSetup setup, Dataset? data = null) : this(setup, data, null) { }

    /// <summary>
    /// The view on a saved network (<c>--model</c>): fully connected layers and activations from 2 inputs to the data's
    /// classes, its weights converted to float64; or null where it is not such a network.
    /// </summary>
    public static NetworkSession? FromModel(Network<float> model, Dataset? data)
    {
        if (model is not Sequential<float>) return null;   // view 3 draws a chain of fully connected layers
        var d = model.Description;
        bool mlp = d.Layers.All(l => l.Kind == "fully_connected" || Kinds.Layer(l.Kind).IsActivation)
            && d.Layers.Count > 0 && d.Layers[0].Kind == "fully_connected" && d.Layers[^1].Kind == "fully_connected"
            && Convert.ToInt32(d.Layers[0].Hyperparameters["inputs"], System.Globalization.CultureInfo.InvariantCulture) == 2
            && model.Loss.Classifies;
        if (!mlp) return null;
        var net = (Sequential<double>)(d with { Dtype = "float64" }).Build<double>(new Rng(0));
        for (int i = 0; i < net.Parameters.Count; i++)
        {
            var from = model.Parameters[i].Value.Span;
            var to = net.Parameters[i].Value.Span;
            for (int k = 0; k < from.Length; k++) to[k] = from[k];
        }
        var sizes = new List<int> { 2 };
        var activations = new List<string>();
        foreach (var l in d.Layers)
            if (l.Kind == "fully_connected")
                sizes.Add(Convert.ToInt32(l.Hyperparameters["outputs"], System.Globalization.CultureInfo.InvariantCulture));
            else activations.Add(l.Kind);
        if (activations.Count != sizes.Count - 2) return null;   // two activations in a row: not a network the page draws
        return new NetworkSession(new NetworkSetup([.. sizes], [.. activations], Dataset: data is null ? "spiral" : "data"), data, net);
    }

    private NetworkSession(NetworkSetup setup, Dataset? data, Sequential<double>? model)
    {
        _setup = Validate(setup);
        _data = data ?? (setup.Dataset == "spiral" ? Datasets.Spiral(100, 3, setup.Seed)
            : throw new InvalidInputException($"the data set must be spiral or --data's file, not '{setup.Dataset}'"));
        if (_data.Dim != 2) throw new InvalidInputException($"view 3 draws 2-D data; this data has {_data.Dim} features");
        if (setup.Sizes[0] != 2 || setup.Sizes[^1] != _data.Classes)
            throw new InvalidInputException($"the sizes must start at 2 (the features) and end at {_data.Classes} (the classes)");
        _rng = new Rng(setup.Seed);
        var layers = new List<Layer<double>>();
        for (int i = 0; model is null && i + 1 < setup.Sizes.Length; i++)
        {
            layers.Add(new FullyConnected<double>(setup.Sizes[i], setup.Sizes[i + 1], Initialization.He, _rng));
            if (i + 2 < setup.Sizes.Length) layers.Add(Kinds.Create<double>(setup.Activations[i]));
        }
        _net = model ?? new Sequential<double>(layers, new SoftmaxCrossEntropy<double>());
        _view = (Sequential<double>)_net.Description.Build<double>(new Rng(0));
        _optimizer = Optimizer<double>.Create(setup.Optimizer, _net.Parameters, setup.LearningRate);
        _order = Enumerable.Range(0, _data.Count).ToArray();
        _rng.Shuffle(_order);
    }

    private static NetworkSetup Validate(NetworkSetup s)
    {
        if (s.Sizes is null || s.Sizes.Length is < 2 || s.Sizes.Length > MaxLayers + 1)
            throw new InvalidInputException($"a network has 1 to {MaxLayers} layers: give 2 to {MaxLayers + 1} sizes");
        if (s.Sizes.Any(n => n is < 1 or > MaxNeurons))
            throw new InvalidInputException($"every size must be from 1 to {MaxNeurons} neurons, not {string.Join("-", s.Sizes)}");
        var activations = s.Activations ?? [];
        if (activations.Length != s.Sizes.Length - 2)
            throw new InvalidInputException($"give one activation per hidden layer ({s.Sizes.Length - 2}), not {activations.Length}");
        foreach (var a in activations)
            if (!Kinds.Activations.Any(k => k.Name == Kinds.Canonical(a)))
                throw new InvalidInputException($"'{a}' is not an activation; the activations are " +
                    string.Join(", ", Kinds.Activations.Select(k => k.Name)));
        if (s.Batch is < 1 or > 1000) throw new InvalidInputException($"the batch must be from 1 to 1000, not {s.Batch}");
        if (!(s.LearningRate > 0 && s.LearningRate <= 10))
            throw new InvalidInputException($"the learning rate must be in (0, 10], not {s.LearningRate}");
        OptimizerSettings.Parse(s.Optimizer);
        return s with { Activations = [.. activations.Select(Kinds.Canonical)] };
    }

    public Sequential<double> Network => _net;

    /// <summary>The updates so far.</summary>
    public long Steps { get { lock (_gate) return _steps; } }

    /// <summary>One whole batch: forward, loss, backward, update (finishing a layer-by-layer pass in progress first).</summary>
    public object StepBatch(int batches = 1)
    {
        lock (_gate)
        {
            for (int b = 0; b < batches; b++)
            {
                if (_phase == "idle") Begin();
                while (_phase != "idle") Advance();
            }
            return Snapshot();
        }
    }

    /// <summary>One layer's forward or backward pass, the loss's, or the update: the next call of the pass.</summary>
    public object StepLayer()
    {
        lock (_gate)
        {
            if (_phase == "idle") Begin();
            else Advance();
            return Snapshot();
        }
    }

    private void Begin()
    {
        int B = Math.Min(_setup.Batch, _data.Count);
        var idx = new int[B];
        for (int i = 0; i < B; i++)
        {
            if (_next == _order.Length) { _rng.Shuffle(_order); _next = 0; }
            idx[i] = _order[_next++];
        }
        _x = Tensor<double>.Zeros(B, 2);
        _t = Tensor<double>.Zeros(B);
        for (int i = 0; i < B; i++)
        {
            _x[i, 0] = _data.Features[idx[i] * 2];
            _x[i, 1] = _data.Features[idx[i] * 2 + 1];
            _t[i] = _data.Labels[idx[i]];
        }
        _outputs.Clear();
        _grads.Clear();
        _net.Training = true;
        (_phase, _cursor) = ("forward", 0);
        _outputs.Add(_net.Layers[0].Forward(_x).Clone());
    }

    private void Advance()
    {
        var layers = _net.Layers;
        switch (_phase)
        {
            case "forward" when _cursor + 1 < layers.Count:
                _cursor++;
                _outputs.Add(layers[_cursor].Forward(_outputs[^1]).Clone());
                break;
            case "forward":
                (_phase, _cursor) = ("loss", layers.Count);
                _lastLoss = _net.Loss.Forward(_outputs[^1], _t!);
                break;
            case "loss":
                (_phase, _cursor) = ("backward", layers.Count - 1);
                _grads.Clear();
                for (int i = 0; i <= layers.Count; i++) _grads.Add(null);
                _grads[layers.Count] = _net.Loss.Backward(1.0).Clone();
                _grads[_cursor] = layers[_cursor].Backward(_grads[_cursor + 1]!).Clone();
                break;
            case "backward" when _cursor > 0:
                _cursor--;
                _grads[_cursor] = layers[_cursor].Backward(_grads[_cursor + 1]!).Clone();
                break;
            case "backward":
                (_phase, _cursor) = ("update", -1);
                _optimizer.Step();
                _steps++;
                Record();
                break;
            default:
                (_phase, _cursor) = ("idle", -1);
                break;
        }
    }

    private void Record()
    {
        if (++_sinceRecorded < _historyStride) return;
        _sinceRecorded = 0;
        _loss.Add(_lastLoss);
        _accuracy.Add(Accuracy());
        if (_loss.Count < MaxHistory) return;
        // Full: every second point, and record half as often from now on.
        for (int i = 0; i < MaxHistory / 2; i++) { _loss[i] = _loss[2 * i]; _accuracy[i] = _accuracy[2 * i]; }
        _loss.RemoveRange(MaxHistory / 2, _loss.Count - MaxHistory / 2);
        _accuracy.RemoveRange(MaxHistory / 2, _accuracy.Count - MaxHistory / 2);
        _historyStride *= 2;
    }

    private double Accuracy()
    {
        var x = new Tensor<double>([.. _data.Features.Select(f => (double)f)], _data.Count, 2);
        var classes = View().Predict(x).Classes;
        int right = 0;
        for (int i = 0; i < classes.Length; i++) right += classes[i] == _data.Labels[i] ? 1 : 0;
        return (double)right / classes.Length;
    }

    /// <summary>The step and the bound of the page's check: real points are not kept clear of a kink as the suite's inputs
    /// are, so the step is small and the batch keeps the points whose every input to an activation is more than
    /// <see cref="KinkMargin"/> from 0 (a weight moved by 3 steps moves those inputs by its layer's input times that: a
    /// few 10⁻³ here).</summary>
    public const double CheckStep = 1e-3, CheckTolerance = 1e-6, KinkMargin = 1e-2;

    /// <summary>The numerical gradient check on the next batch: per parameter, the largest error and the first few elements
    /// analytic beside numeric.</summary>
    public object Check()
    {
        lock (_gate)
        {
            while (_phase != "idle") Advance();
            Begin();
            var (x, t) = ClearOfKinks(_x!, _t!);
            (_phase, _cursor) = ("idle", -1);
            _outputs.Clear();
            _net.ComputeLoss(x, t);
            _net.Backward();
            var rows = new List<object>();
            for (int i = 0; i < _net.Layers.Count; i++)
                foreach (var p in _net.Layers[i].Parameters)
                {
                    var analytic = p.Grad.Span.ToArray();
                    var numeric = GradientCheck.Numeric(p.Value, () => _net.ComputeLoss(x, t), CheckStep);
                    var r = GradientCheck.Compare($"layers[{i}]", p.Name, analytic, numeric);
                    rows.Add(new
                    {
                        layer = i,
                        parameter = p.Name,
                        maxRelativeError = r.MaxRelativeError,
                        count = r.Count,
                        analytic = analytic.Take(8),
                        numeric = numeric.Take(8),
                        ok = r.MaxRelativeError < CheckTolerance,
                    });
                }
            return new { rows, tolerance = CheckTolerance, step = CheckStep, points = x.Dim(0) };
        }
    }

    // The samples whose inputs to every activation are more than KinkMargin from 0 (ReLU's kink; harmless elsewhere).
    private (Tensor<double> X, Tensor<double> T) ClearOfKinks(Tensor<double> x, Tensor<double> t)
    {
        var keep = Enumerable.Range(0, x.Dim(0)).ToList();
        var h = x;
        foreach (var layer in _net.Layers)
        {
            if (layer is ActivationLayer<double>)
                keep.RemoveAll(i => Enumerable.Range(0, Width(h)).Any(j => Math.Abs(h[i, j]) <= KinkMargin));
            h = layer.Forward(h).Clone();
        }
        if (keep.Count == 0) keep.Add(0);
        var xs = Tensor<double>.Zeros(keep.Count, 2);
        var ts = Tensor<double>.Zeros(keep.Count);
        for (int k = 0; k < keep.Count; k++) (xs[k, 0], xs[k, 1], ts[k]) = (x[keep[k], 0], x[keep[k], 1], t[keep[k]]);
        return (xs, ts);
    }

    /// <summary>Everything the page draws: the network's layers with weights and gradients, the first sample's value and
    /// gradient at every neuron, where the layer-by-layer pass is, the curves and the decision regions.</summary>
    public object Snapshot()
    {
        lock (_gate)
        {
            var layers = new List<object>();
            for (int i = 0; i < _net.Layers.Count; i++)
            {
                var l = _net.Layers[i];
                var fc = l as FullyConnected<double>;
                layers.Add(new
                {
                    kind = l.Kind,
                    w = fc is null ? null : Round(fc.W.Span),
                    dW = fc is null ? null : Round(fc.Parameters[0].Grad.Span),
                    b = fc is null ? null : Round(fc.Parameters[1].Value.Span),
                    db = fc is null ? null : Round(fc.Parameters[1].Grad.Span),
                    inputs = fc?.Inputs,
                    outputs = fc?.Outputs,
                    value = i < _outputs.Count ? Round(_outputs[i].Span[..Width(_outputs[i])]) : null,
                    grad = i < _grads.Count && _grads[i] is { } g ? Round(g.Span[..Width(g)]) : null,
                });
            }
            return new
            {
                setup = _setup,
                steps = _steps,
                phase = _phase,
                cursor = _cursor,
                loss = double.IsFinite(_lastLoss) ? _lastLoss : (double?)null,
                input = _x is null ? null : Round(_x.Span[..2]),
                dInput = _grads.Count > 0 && _grads[0] is not null ? Round(_grads[0]!.Span[..Width(_grads[0]!)]) : null,
                lossGrad = _grads.Count > 0 && _grads[^1] is { } dl ? Round(dl.Span[..Width(dl)]) : null,
                layers,
                lossHistory = _loss.Select(Round1),
                accuracyHistory = _accuracy.Select(Round1),
                historyStride = _historyStride,
                regions = Regions(),
            };
        }
    }

    /// <summary>The points, once per page: features and labels.</summary>
    public object Points()
    {
        lock (_gate) return new { x = _data.Features.Select(f => Math.Round(f, 4)), labels = _data.Labels, classes = _data.Classes };
    }

    private Sequential<double> View()
    {
        for (int i = 0; i < _net.Parameters.Count; i++) _net.Parameters[i].Value.Span.CopyTo(_view.Parameters[i].Value.Span);
        return _view;
    }

    private static int Width(Tensor<double> t) => t.Length / t.Dim(0);

    private object Regions()
    {
        const double lo = -1.2, hi = 1.2;
        var grid = Tensor<double>.Zeros(RegionGrid * RegionGrid, 2);
        for (int r = 0; r < RegionGrid; r++)
            for (int c = 0; c < RegionGrid; c++)
            {
                grid[r * RegionGrid + c, 0] = lo + (hi - lo) * (c + 0.5) / RegionGrid;
                grid[r * RegionGrid + c, 1] = hi - (hi - lo) * (r + 0.5) / RegionGrid;
            }
        var p = View().Predict(grid);
        var confidence = new double[p.Classes.Length];
        for (int i = 0; i < confidence.Length; i++) confidence[i] = Math.Round(p.Probabilities[i, p.Classes[i]], 2);
        return new { size = RegionGrid, lo, hi, classes = p.Classes, confidence };
    }

    private static double[] Round(ReadOnlySpan<double> v)
    {
        var r = new double[v.Length];
        for (int i = 0; i < v.Length; i++) r[i] = Round1(v[i]);
        return r;
    }

    // Five significant digits: what the page shows, in a third of the bytes.
    private static double Round1(double v) => double.IsFinite(v)
        ? double.Parse(v.ToString("G5", System.Globalization.CultureInfo.InvariantCulture),
        System.Globalization.CultureInfo.InvariantCulture) : 0;
}
