using Backprop.Data;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;
using Backprop.Optimizers;

namespace Backprop.Cli.Playground;

/// <summary>
/// View 4: a convolutional network (SimpleConvNet, trained briefly on the first Fashion-MNIST training images when the view
/// first opens, or the user's <c>--model</c>) on one test image the page picks: every layer's output maps and the
/// gradients that reach them (the dout maps) for the image's true class, each convolution's filters and their gradients,
/// and the class probabilities. Run one library layer at a time, so every map is the layer's own output.
/// </summary>
internal sealed class ConvView
{
    public const int TrainImages = 3000, MaxMapsPerLayer = 32;

    private readonly object _gate = new();
    private readonly Network<float> _net;
    private readonly Dataset _test;
    private readonly string _source;

    private ConvView(Network<float> net, Dataset test, string source) => (_net, _test, _source) = (net, test, source);

    /// <summary>The view on Fashion-MNIST from <paramref name="dir"/>: the given network, or SimpleConvNet trained for one
    /// pass over the first <see cref="TrainImages"/> training images (seconds).</summary>
    public static ConvView Create(string dir, Network<float>? model)
    {
        var (train, test) = Datasets.LoadIdxFolder(dir, "fashion-mnist", Datasets.FashionClasses,
            "apt-get install dataset-fashion-mnist");
        if (model is not null) return new ConvView(model, test, "--model");
        var net = Architectures.Named("simple_convnet")!.Build<float>(new Rng(1));
        var optimizer = Optimizer<float>.Create("adam", net.Parameters, 0.001);
        int B = 100;
        var x = Tensor<float>.Zeros(B, 1, 28, 28);
        var t = Tensor<float>.Zeros(B);
        net.Training = true;
        for (int start = 0; start + B <= Math.Min(TrainImages, train.Count); start += B)
        {
            train.Features.AsSpan(start * 784, B * 784).CopyTo(x.Span);
            for (int i = 0; i < B; i++) t[i] = train.Labels[start + i];
            net.ComputeLoss(x, t);
            net.Backward(1f, inputGradient: false);
            optimizer.Step();
        }
        return new ConvView(net, test, $"simple_convnet, one pass over {TrainImages} training images");
    }

    public int Images => _test.Count;

    /// <summary>Every layer's maps and dout maps for test image <paramref name="index"/>.</summary>
    public object Run(int index)
    {
        if (index < 0 || index >= _test.Count)
            throw new InvalidInputException($"the image must be from 0 to {_test.Count - 1}, not {index}");
        lock (_gate)
        {
            var x = Tensor<float>.Zeros(1, 1, 28, 28);
            _test.Features.AsSpan(index * 784, 784).CopyTo(x.Span);
            var t = new Tensor<float>([_test.Labels[index]], 1);
            _net.Training = false;
            // Each node's value and ∂L/∂value, each layer on its own forward and back (a graph's joins too).
            var (_, values, grads) = _net.TraceBackward(x, t);
            var probabilities = _net.Loss.Probabilities!.Span.ToArray();
            bool graph = _net is GraphNetwork<float>;
            var layers = new List<object>();
            foreach (var n in _net.Nodes)
            {
                var y = values[n.Name];
                var conv = n.Layer as Convolution<float>;
                layers.Add(new
                {
                    kind = n.Layer?.Kind ?? n.Op,
                    node = graph ? n.Name : null,
                    from = graph ? n.Inputs : null,
                    shape = y.Shape.ToArray(),
                    maps = Maps(y),
                    douts = Maps(grads.TryGetValue(n.Name, out var g) ? g : Tensor<float>.Zeros(y.Shape.ToArray())),
                    filters = conv is null ? null : Maps(conv.W, filters: true),
                    filterGrads = conv is null ? null : Maps(conv.Parameters[0].Grad, filters: true),
                });
            }
            return new
            {
                source = _source,
                index,
                label = _test.Labels[index],
                classNames = _test.ClassNames,
                image = Round(x.Span),
                probabilities = probabilities.Select(p => Math.Round(p, 4)),
                layers,
            };
        }
    }

    // The first maps of a (1, C, H, W) value as rows of H·W numbers, or a (1, F) value as one row; filters (FN, C, FH, FW)
    // as their first channel each.
    private static object Maps(Tensor<float> t, bool filters = false)
    {
        if (t.Rank == 4)
        {
            int c = filters ? t.Dim(0) : t.Dim(1), h = t.Dim(2), w = t.Dim(3), stride = filters ? t.Dim(1) * h * w : h * w;
            return new
            {
                h,
                w,
                count = c,
                data = Enumerable.Range(0, Math.Min(c, MaxMapsPerLayer)).Select(m => Round(t.Span.Slice(m * stride, h * w))).ToArray(),
            };
        }
        return new { h = 1, w = t.Length, count = 1, data = new[] { Round(t.Span) } };
    }

    private static float[] Round(ReadOnlySpan<float> v)
    {
        var r = new float[v.Length];
        for (int i = 0; i < v.Length; i++) r[i] = float.IsFinite(v[i]) ? MathF.Round(v[i], 5) : 0;
        return r;
    }
}
