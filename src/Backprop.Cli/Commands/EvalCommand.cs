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
        if (Trainer<T>.StandardizationOf(contents, model) is { } scale) data = scale.Apply(data);
        Evaluation e;
        try { e = Trainer<T>.Evaluate(net, data); }
        catch (ShapeMismatchException ex)
        {
            throw new InvalidInputException($"{data.Name} ({data.Dim} features per sample) does not fit " +
            $"the model {model}: {ex.Message}");
        }
        if (!double.IsFinite(e.Loss)) throw new NonFiniteValueException($"{model}: the loss on {data.Name} is {e.Loss}; the model's " +
            $"outputs overflow");
        if (args.Value("plot") is { } plotPath)
        {
            if (e.Confusion is null)
                throw new InvalidInputException("eval --plot draws a classifier's confusion matrix; this model regresses");
            Plots.Confusion(plotPath, e.Confusion, data.ClassNames,
                string.Create(CultureInfo.InvariantCulture, $"{data.Name}: {data.Count} samples, accuracy {e.Accuracy * 100:0.0}%"));
        }
        var (precision, recall) = e.Confusion is null ? (null, null) : PrecisionRecall(e.Confusion);
        if (args.Flag("json"))
            return Json.Serialize(new { loss = e.Loss, accuracy = e.Accuracy, confusion = e.Confusion, precision, recall }) + "\n";
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
        sb.AppendLine("  precision  recall");
        for (int i = 0; i < C; i++)
        {
            string n = i < data.ClassNames.Length ? data.ClassNames[i] : i.ToString(CultureInfo.InvariantCulture);
            sb.Append($"{i} {(n.Length > nameW ? n[..nameW] : n).PadRight(nameW)}"[..(nameW + 2)]);
            foreach (int v in e.Confusion[i]) sb.Append(v.ToString(CultureInfo.InvariantCulture).PadLeft(w + 1));
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"  {Percent(precision![i]),9}  {Percent(recall![i]),6}"));
        }
        return sb.ToString();
    }

    private static string Percent(double? v) => v is { } p ? string.Create(CultureInfo.InvariantCulture, $"{p * 100:0.0}%") : "-";

    /// <summary>
    /// Per class c, precision = C[c][c] / Σᵢ C[i][c] (of the samples predicted c, the share that are c) and recall =
    /// C[c][c] / Σⱼ C[c][j] (of the samples of class c, the share predicted c), as scikit-learn defines them; null where
    /// the denominator is 0.
    /// </summary>
    internal static (double?[] Precision, double?[] Recall) PrecisionRecall(int[][] confusion)
    {
        int n = confusion.Length;
        var precision = new double?[n];
        var recall = new double?[n];
        for (int c = 0; c < n; c++)
        {
            long predicted = 0, actual = 0;
            for (int i = 0; i < n; i++) predicted += confusion[i][c];
            for (int j = 0; j < n; j++) actual += confusion[c][j];
            precision[c] = predicted == 0 ? null : (double)confusion[c][c] / predicted;
            recall[c] = actual == 0 ? null : (double)confusion[c][c] / actual;
        }
        return (precision, recall);
    }

    public static string Predict(Args args)
    {
        string model = args.Value("model") ?? throw new InvalidInputException($"predict: --model FILE is required; usage: {PredictUsage}");
        var contents = ModelFile.Read(model);
        string? file = args.Positionals.Count > 0 ? args.Positionals[0] : null;
        string ext = file is null ? "" : Path.GetExtension(file).ToLowerInvariant();
        // An image file, a CSV file of rows, or x as text or JSON (a file or standard input).
        var x = Datasets.ImageExtensions.Contains(ext) ? PredictInput.Image(file!, model, contents)
            : ext == ".csv" ? PredictInput.CsvRows(file!, model, contents)
            : PredictInput.Text(args.ReadInput(0));
        return contents.Description.Dtype == "float64" ? Predict<double>(model, contents, x, args.Flag("json")) : Predict<float>(model,
            contents, x, args.Flag("json"));
    }

    private static string Predict<T>(string model, ModelFile.Contents contents, Tensor<double> given, bool json) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        var net = ModelFile.Load<T>(model, contents);
        var x = Tensor<T>.Zeros(given.Shape.ToArray());
        for (int i = 0; i < x.Length; i++) x.Span[i] = T.CreateTruncating(given.Span[i]);
        if (x.Rank == 1) x = x.Reshape(1, x.Length);
        // Raw inputs, scaled as the model's training data was.
        if (Trainer<T>.StandardizationOf(contents, model) is { } scale)
        {
            var values = new float[x.Length];
            for (int i = 0; i < values.Length; i++) values[i] = float.CreateTruncating(x.Span[i]);
            scale.Apply(values);
            for (int i = 0; i < values.Length; i++) x.Span[i] = T.CreateTruncating(values[i]);
        }
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

    private static Tensor<T> Infer<T>(Backprop.Networks.Network<T> net, Tensor<T> x, string model) where T : unmanaged,
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
