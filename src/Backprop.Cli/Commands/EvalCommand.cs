using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Backprop;
using Backprop.Cli.Support;
using Backprop.Data;
using Backprop.IO;
using Backprop.Models;
using Backprop.Training;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop eval</c> and <c>backprop predict</c>: use a saved model.</summary>
internal static class EvalCommand
{
    public const string EvalUsage =
        "backprop eval --model FILE [--dataset spiral|fashion-mnist|mnist] [--data DIR] [--split test|train] [--json]";
    public const string PredictUsage =
        "backprop predict --model FILE [INPUT] [--json]  (INPUT: 'x:' followed by a (B, D) array, or JSON {\"x\": ...})";

    public static string Eval(Args args)
    {
        if (args.Positionals.Count > 0) throw new InvalidInputException($"eval: unexpected argument '{args.Positionals[0]}'; " +
            $"usage: {EvalUsage}");
        string model = args.Value("model") ?? throw new InvalidInputException($"eval: --model FILE is required; usage: {EvalUsage}");
        if (args.Value("threads") is not null) Parallelism.MaxThreads = args.Int("threads", 1, 1, 256);
        var contents = ModelFile.Read(model);
        return contents.Description.Dtype == "float64" ? Eval<double>(args, model, contents) : Eval<float>(args, model, contents);
    }

    private static string Eval<T>(Args args, string model, ModelFile.Contents contents) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var net = ModelFile.Load<T>(model, contents);
        DataSource? saved = null;
        if (contents.Metadata.TryGetValue("data", out var dj))
        {
            try { saved = JsonSerializer.Deserialize<DataSource>(dj); saved?.Validate(); }
            catch (Exception ex) when (ex is JsonException or InvalidInputException)
            {
                throw new InvalidFileException($"{model}: the " +
                $"data source in the metadata is damaged ({ex.Message})", ex);
            }
        }
        // The data the model was trained on, unless the options say otherwise (a model saved without it: the options' defaults).
        var source = DataOptions.Source(args, saved, contents.Legacy ? contents.Metadata : null);
        var (train, test) = DataOptions.Load(source);
        string split = args.Choice("split", "test", "test", "train");
        var data = split == "train" || test is null ? train : test;
        Evaluation e;
        try { e = Trainer<T>.Evaluate(net, data); }
        catch (ShapeMismatchException ex)
        {
            throw new InvalidInputException($"{data.Name} ({data.Dim} features per sample) does not fit " +
            $"the model {model}: {ex.Message}");
        }
        if (!double.IsFinite(e.Loss)) throw new NonFiniteValueException($"{model}: the loss on {data.Name} is {e.Loss}; the model's " +
            $"outputs overflow");
        if (args.Flag("json"))
            return Json.Serialize(new { loss = e.Loss, accuracy = e.Accuracy, confusion = e.Confusion }) + "\n";
        if (e.Confusion is null)
            return string.Create(CultureInfo.InvariantCulture, $"{data.Name}: {data.Count} samples, loss {e.Loss:0.0000}\n");
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{data.Name}: {data.Count} samples, loss {e.Loss:0.0000}, accuracy {e.Accuracy * 100:0.00}%"));
        sb.AppendLine("confusion matrix (rows: true class, columns: predicted):");
        int C = e.Confusion.Length;
        var names = data.ClassNames.Length > 0 ? data.ClassNames : ["0"];
        int w = Math.Max(5, e.Confusion.SelectMany(r => r).Max().ToString(CultureInfo.InvariantCulture).Length);
        int nameW = Math.Min(14, names.Max(n => n.Length));
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

    public static string Predict(Args args)
    {
        string model = args.Value("model") ?? throw new InvalidInputException($"predict: --model FILE is required; usage: {PredictUsage}");
        var contents = ModelFile.Read(model);
        string text = args.ReadInput(0);
        return contents.Description.Dtype == "float64" ? Predict<double>(model, contents, text, args.Flag("json")) : Predict<float>(model,
            contents, text, args.Flag("json"));
    }

    private static string Predict<T>(string model, ModelFile.Contents contents, string text, bool json) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        var net = ModelFile.Load<T>(model, contents);
        var inputs = new Inputs(Inputs.Read(text), "predict", ["x"]);
        var x = inputs.Tensor<T>("x");
        if (x.Rank == 1) x = x.Reshape(1, x.Length);
        if (!net.Loss.Classifies)
        {
            var y = Infer(net, x, model);
            var o = new Output();
            o.Add("y", y);
            o.EnsureFinite("predict");
            return json ? o.ToJson() + "\n" : o.ToText();
        }
        Backprop.Networks.Prediction<T> p;
        try { p = net.Predict(x); }
        catch (ShapeMismatchException e)
        {
            throw new ShapeMismatchException($"predict: x has shape {x.ShapeString}, which does not fit " +
            $"the model {model}: {e.Message}");
        }
        var output = new Output();
        output.Add("class", p.Classes);
        output.Add("probabilities", p.Probabilities);
        output.EnsureFinite("predict");
        return json ? output.ToJson() + "\n" : output.ToText();
    }

    private static Tensor<T> Infer<T>(Backprop.Networks.Sequential<T> net, Tensor<T> x, string model) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        try { return net.Infer(x); }
        catch (ShapeMismatchException e)
        {
            throw new ShapeMismatchException($"predict: x has shape {x.ShapeString}, which does not fit " +
            $"the model {model}: {e.Message}");
        }
    }
}
