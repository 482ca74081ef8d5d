using System.Text;
using Backprop;
using Backprop.Cli.Support;
using Backprop.Gradients;
using Backprop.IO;
using Backprop.Layers;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop demo</c>: the textbook sample, the chain rule step by step, the gradient check.</summary>
internal static class DemoCommand
{
    public const string Usage = "backprop demo [--plot demo-curves.png]";

    public const string TextbookSample = """
        W:
        [[0.1, 0.2, 0.3],
        [0.4, 0.5, 0.6]]
        b:
        [0.1, 0.2, 0.3]
        x:
        [[1, 2],
        [3, 4]]
        dout:
        [[0.1, 0.2, 0.3],
        [0.4, 0.5, 0.6]]
        """;

    public static (string Text, int ExitCode) Run(Args args, TextWriter live)
    {
        string plot = args.Value("plot") ?? "demo-curves.png";
        string regions = Path.ChangeExtension(plot, null) + "-regions.png";
        foreach (var file in new[] { plot, regions }) OutputFiles.Check("plot", file);
        if (args.Positionals.Count > 0) throw new InvalidInputException($"demo: unexpected argument '{args.Positionals[0]}'; " +
            $"usage: {Usage}");
        var sb = new StringBuilder();
        sb.AppendLine("== 1. The textbook exercise: a fully connected layer y = x·W + b ==");
        sb.AppendLine("Input (backprop layer fully_connected):");
        sb.AppendLine(TextbookSample);
        sb.AppendLine("Output: dx = dout·Wᵀ, dW = xᵀ·dout, db = Σ_batch dout");
        var output = LayerCommand.Compute<double>("fully_connected", TextInput.Parse(TextbookSample));
        sb.Append(output.ToText());
        sb.AppendLine();
        sb.AppendLine("== 2. The chain rule through three layers ==");
        ChainRule(sb);
        sb.AppendLine();
        sb.AppendLine("== 3. Gradient check: every backward pass against numerical gradients (float64) ==");
        var results = GradientCheckSuite.Run();
        sb.Append(GradcheckCommand.Table(results));
        sb.AppendLine();
        sb.AppendLine("== 4. A network that learns: the built-in 3-class spiral, 2-64-64-3 ReLU, Adam ==");
        live.Write(sb.ToString());
        sb.Clear();
        var source = new Backprop.Data.DataSource { Dataset = "spiral", Validation = 0.2, Seed = 0 };
        var (all, test) = source.Load();
        var (train, val) = source.Split(all);
        var net = new Backprop.Models.MlpSpec { Sizes = [2, 64, 64, 3] }.Build<float>(new Rng(0));
        var trainer = new Backprop.Training.Trainer<float>(net,
            new Backprop.Optimizers.OptimizerSettings { Kind = Backprop.Optimizers.OptimizerKind.Adam, LearningRate = 0.01 },
            new Backprop.Training.TrainerOptions { Batch = 30, Seed = 0 })
        { Data = source };
        live.WriteLine($"{train.Count} training, {val!.Count} validation and {test!.Count} test points; every tenth epoch:");
        live.WriteLine("  epoch  train loss  train acc  val acc  test acc");
        const int Epochs = 60;
        for (int e = 1; e <= Epochs; e++)
        {
            var r = trainer.RunEpoch(train, val, test);
            if (e == 1 || e % 10 == 0)
                live.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"  {r.Epoch,5}  {r.TrainLoss,10:0.0000}  {r.TrainAccuracy * 100,8:0.0}%  {r.ValAccuracy * 100,6:0.0}% " +
                        $" {r.TestAccuracy * 100,7:0.0}%"));
        }
        Plots.Curves(plot, trainer.History, "spiral: 2-64-64-3 relu, adam");
        Plots.Regions(regions, trainer.Net, all, $"spiral: decision regions after {Epochs} epochs");
        var last = trainer.History[^1];
        int passed = results.Count(r => r.MaxRelativeError < GradientCheckSuite.Tolerance);
        bool ok = passed == results.Count;
        sb.AppendLine();
        sb.AppendLine("== 5. Summary ==");
        sb.AppendLine("  1. the exercise's fully connected layer: y, dx = dout·Wᵀ, dW = xᵀ·dout, db = Σ_batch dout on the sample");
        sb.AppendLine("  2. the chain rule: f1 g1 f2 g2 f3 L forward, then backward, each layer on its own");
        sb.AppendLine($"  3. gradient check: {passed} of {results.Count} gradients (every layer, loss and network parameter) agree with " +
            $"numerical ones " +
            $"(below {GradientCheckSuite.Tolerance:0e0})");
        sb.AppendLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"  4. training: test accuracy {last.TestAccuracy * 100:0.0}% after {Epochs} epochs (train {last.TrainAccuracy * 100:0.0}%, " +
            $"loss {last.TrainLoss:0.000})"));
        sb.AppendLine($"  plots: {plot} (loss and accuracy per epoch), {regions} (the learned decision regions)");
        return (sb.ToString(), ok ? 0 : 1);
    }

    private static void ChainRule(StringBuilder sb)
    {
        var (net, x, t) = GradientCheckSuite.ThreeLayerNetwork(new Random(1));
        sb.AppendLine("Each layer knows only its own forward and backward; the network chains them.");
        sb.AppendLine("forward:  y_i = f_i(z_{i-1}) = z_{i-1}·W_i + b_i,  z_i = g_i(y_i),  L = loss(y_3, t)");
        var h = x;
        int fi = 0, gi = 0;
        var names = new List<(string Layer, string In, string Out)>();
        string prev = "x";
        foreach (var layer in net.Layers)
        {
            string outName = layer is FullyConnected<double> ? $"y{++fi}" : $"z{++gi}";
            string label = layer is FullyConnected<double> ? $"f{fi}" : $"g{gi}";
            var y = layer.Forward(h);
            string pars = layer is FullyConnected<double> fc ? $" · W{fi} {fc.W.ShapeString} + b{fi} {fc.b.ShapeString}" : "";
            sb.AppendLine($"  {label,-3} {Name(layer),-15} {prev} {h.ShapeString}{pars} -> {outName} {y.ShapeString}");
            names.Add((label, prev, outName));
            prev = outName;
            h = y;
        }
        double loss = net.Loss.Forward(h, t);
        sb.AppendLine($"  L   {"SoftmaxCrossEntropy",-15} {prev} {h.ShapeString}, t {t.ShapeString} -> L = {NumpyFormat.Scalar(loss)}");
        sb.AppendLine("backward: each layer turns dL/d(its output) into dL/d(its input) and its parameter gradients");
        var d = net.Loss.Backward();
        sb.AppendLine($"  L   dL/dL = 1 -> dL/d{prev} {d.ShapeString}   (softmax(y3) − t)/B");
        for (int i = net.Layers.Count - 1; i >= 0; i--)
        {
            var layer = net.Layers[i];
            var (label, inName, outName) = names[i];
            var dOut = d.Clone();
            var dIn = layer.Backward(d);
            string grads = string.Concat(layer.Parameters.Select(p => $", dL/d{p.Name}{label[1..]} {p.Grad.ShapeString}"));
            sb.AppendLine($"  {label,-3} dL/d{outName} {d.ShapeString} -> dL/d{inName} {dIn.ShapeString}{grads}");
            // The numbers of the first sample: what arrives, the layer's local derivative, and what it passes on.
            static string Row(Tensor<double> t) => "[" + string.Join(" ", t.Span[..(t.Length / t.Dim(0))].ToArray()
                .Select(v => v.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture))) + "]";
            var dInFirst = dIn.Clone();
            if (layer is FullyConnected<double> fc)
                sb.AppendLine($"        sample 0: dL/d{outName} {Row(dOut)} · W{label[1..]}ᵀ = dL/d{inName} {Row(dInFirst)}");
            else
            {
                // an activation's local derivative ∂z/∂y, element by element: its backward pass of dout = 1
                var ones = Tensor<double>.Zeros(dOut.Shape.ToArray());
                ones.Span.Fill(1);
                var local = layer.Backward(ones).Clone();
                dIn = layer.Backward(dOut);   // the chain's own dout again, so the layer holds what the network gave it
                sb.AppendLine($"        sample 0: dL/d{outName} {Row(dOut)} ⊙ d{outName}/d{inName} {Row(local)} = dL/d{inName} " +
                    $"{Row(dInFirst)}");
            }
            d = dIn;
        }
    }

    private static string Name(object o) => o.GetType().Name.Split('`')[0];
}
