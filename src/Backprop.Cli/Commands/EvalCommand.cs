using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Backprop;
using Backprop.IO;
using Backprop.Training;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop eval</c> and <c>backprop predict</c>: use a saved model.</summary>
internal static class EvalCommand
{
    public const string EvalUsage = "backprop eval --model FILE [--dataset spiral|fashion-mnist|mnist] [--data DIR] [--split test|train] [--json]";
    public const string PredictUsage = "backprop predict --model FILE [INPUT] [--json]  (INPUT: 'x:' followed by a (B, D) array, or JSON {\"x\": ...})";

    public static string Eval(string[] argv)
    {
        var args = new Args(argv, new HashSet<string> { "json" }, new HashSet<string> { "model", "dataset", "data", "split", "threads" });
        if (args.Positionals.Count > 0) throw new InvalidInputException($"eval: unexpected argument '{args.Positionals[0]}'; usage: {EvalUsage}");
        string model = args.Value("model") ?? throw new InvalidInputException($"eval: --model FILE is required; usage: {EvalUsage}");
        if (args.Value("threads") is not null) Parallelism.MaxThreads = args.Int("threads", 1, 1, 256);
        var contents = ModelFile.Read(model);
        return contents.Spec.Dtype == "float64" ? Eval<double>(args, model, contents) : Eval<float>(args, model, contents);
    }

    private static string Eval<T>(Args args, string model, ModelFile.Contents contents) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (net, spec, meta) = ModelFile.Load<T>(model, contents);
        ulong seed = 0;
        if (meta.TryGetValue("training", out var tj)) seed = JsonSerializer.Deserialize<TrainSettings>(tj)?.Seed ?? 0;
        var (train, test) = DataOptions.Load(args, seed);
        string split = args.Choice("split", "test", "test", "train");
        var data = split == "train" || test is null ? train : test;
        if (data.Dim != spec.Sizes[0]) throw new InvalidInputException($"the model takes {spec.Sizes[0]} features, but {data.Name} has {data.Dim}");
        var e = Trainer<T>.Evaluate(net, data);
        if (args.Flag("json"))
            return JsonSerializer.Serialize(new { loss = e.Loss, accuracy = e.Accuracy, confusion = e.Confusion }) + "\n";
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{data.Name}: {data.Count} samples, loss {e.Loss:0.0000}, accuracy {e.Accuracy * 100:0.00}%"));
        sb.AppendLine("confusion matrix (rows: true class, columns: predicted):");
        int C = e.Confusion.Length;
        int w = Math.Max(5, e.Confusion.SelectMany(r => r).Max().ToString(CultureInfo.InvariantCulture).Length);
        int nameW = Math.Min(14, data.ClassNames.Max(n => n.Length));
        sb.Append(new string(' ', nameW + 2));
        for (int j = 0; j < C; j++) sb.Append(j.ToString(CultureInfo.InvariantCulture).PadLeft(w + 1));
        sb.AppendLine();
        for (int i = 0; i < C; i++)
        {
            string n = i < data.ClassNames.Length ? data.ClassNames[i] : i.ToString(CultureInfo.InvariantCulture);
            sb.Append($"{i} {(n.Length > nameW ? n[..nameW] : n).PadRight(nameW)}"[..(nameW + 2)]);
            foreach (int v in e.Confusion[i]) sb.Append(v.ToString(CultureInfo.InvariantCulture).PadLeft(w + 1));
            sb.AppendLine();
        }
        return sb.ToString();
    }

    public static string Predict(string[] argv)
    {
        var args = new Args(argv, new HashSet<string> { "json" }, new HashSet<string> { "model" });
        string model = args.Value("model") ?? throw new InvalidInputException($"predict: --model FILE is required; usage: {PredictUsage}");
        var contents = ModelFile.Read(model);
        string text = args.ReadInput(0);
        return contents.Spec.Dtype == "float64" ? Predict<double>(model, contents, text, args.Flag("json")) : Predict<float>(model, contents, text, args.Flag("json"));
    }

    private static string Predict<T>(string model, ModelFile.Contents contents, string text, bool json) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (net, spec, _) = ModelFile.Load<T>(model, contents);
        var inputs = new Inputs(Inputs.Read(text), "predict", ["x"]);
        var x = inputs.Tensor<T>("x");
        if (x.Rank == 1) x = x.Reshape(1, x.Length);
        if (x.Rank != 2 || x.Dim(1) != spec.Sizes[0])
            throw new ShapeMismatchException($"predict: x has shape {x.ShapeString}, but the model takes (B, {spec.Sizes[0]})");
        net.Training = false;
        var scores = net.Forward(x);
        int B = x.Dim(0), C = scores.Dim(1);
        var p = Tensor<T>.Zeros(B, C);
        var cls = Tensor<T>.Zeros(B);
        for (int i = 0; i < B; i++)
        {
            var row = scores.Span.Slice(i * C, C);
            var pr = p.Span.Slice(i * C, C);
            Backprop.Kernels.Elementwise.SoftmaxRow<T>(row, pr);
            cls.Span[i] = T.CreateTruncating(System.Numerics.Tensors.TensorPrimitives.IndexOfMax<T>(row));
        }
        var output = new Output();
        output.Add("class", cls);
        output.Add("probabilities", p);
        output.EnsureFinite("predict");
        return json ? output.ToJson() + "\n" : output.ToText();
    }
}
