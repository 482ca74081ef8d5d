using System.Text.Json;
using Backprop;
using Backprop.Cli.Support;
using Backprop.Data;
using Backprop.IO;
using Backprop.Models;

namespace Backprop.Cli.Commands;

/// <summary>What <c>predict</c> takes as x: an image file (scaled to the model's input, grey or colour as the model takes
/// it), a CSV file of rows (a header row; the training data's label column dropped where present), or x as text or JSON.</summary>
internal static class PredictInput
{
    public static Tensor<double> Text(string text) => new Inputs(Inputs.Read(text), "predict", ["x"]).Tensor<double>("x");

    public static Tensor<double> Image(string path, string model, ModelFile.Contents contents)
    {
        var first = contents.Description.Layers.FirstOrDefault(l => l.Kind is "convolution" or "fully_connected");
        var source = Source(contents);
        int[] size = source?.ImageSize ?? [28, 28];
        int channels = first?.Kind == "convolution" ? Convert.ToInt32(first.Hyperparameters["channels"], System.Globalization.CultureInfo
            .InvariantCulture) : first is not null ? Convert.ToInt32(first.Hyperparameters["inputs"],
                System.Globalization.CultureInfo.InvariantCulture) / (size[0] * size[1]) : 1;
        if (channels is not (1 or 3))
            throw new InvalidInputException($"predict: the model {model} does not take {size[0]}×{size[1]} images of 1 or 3 channels");
        var (pixels, have) = ImageFiles.Decode(path, size[0], size[1]);
        int plane = size[0] * size[1];
        var x = Tensor<double>.Zeros(1, channels, size[0], size[1]);
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++)
                x.Span[c * plane + i] = have == channels ? pixels[c * plane + i]
                    : have == 1 ? pixels[i] : (pixels[i] + pixels[plane + i] + pixels[2 * plane + i]) / 3.0;
        return x;
    }

    public static Tensor<double> CsvRows(string path, string model, ModelFile.Contents contents)
    {
        var first = contents.Description.Layers.FirstOrDefault(l => l.Kind == "fully_connected")
            ?? throw new InvalidInputException($"predict: the model {model} does not take rows of features (no fully connected layer)");
        int inputs = Convert.ToInt32(first.Hyperparameters["inputs"], System.Globalization.CultureInfo.InvariantCulture);
        string? target = Source(contents)?.Target;
        using var stream = BoundedFile.OpenRead(path, Datasets.MaxCsvBytes);
        var reader = new CsvLines(stream, path);
        var header = reader.Header();
        var cells = new List<(int Start, int Length)>();
        // The label column, where the rows carry it: the training data's, or the last one past the model's inputs.
        int skip = header.Length == inputs + 1 ? (target is not null && Array.IndexOf(header, target) is >= 0 and var at ? at : inputs)
            : header.Length == inputs ? -1
            : throw new InvalidInputException($"predict: {path} has {header.Length} columns; the model {model} takes {inputs} features " +
                "(and the label column may be there too)");
        var values = new List<double>();
        while (reader.Next(out var line))
        {
            CsvLines.Cells(line, path, reader.LineNumber, cells);
            if (cells.Count != header.Length)
                throw new InvalidFileException(
                    $"{path}: line {reader.LineNumber} has {cells.Count} fields, the header has {header.Length}");
            for (int c = 0; c < cells.Count; c++)
            {
                if (c == skip) continue;
                string v = CsvLines.Text(line, cells[c]);
                values.Add(double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture,
                    out double d) && double.IsFinite(d) ? d
                    : throw new InvalidFileException($"{path}: line {reader.LineNumber}, column '{header[c]}': '{v}' is not a number"));
            }
        }
        if (values.Count == 0) throw new InvalidInputException($"predict: {path} has a header and no rows");
        return new Tensor<double>([.. values], values.Count / inputs, inputs);
    }

    private static DataSource? Source(ModelFile.Contents contents)
    {
        if (!contents.Metadata.TryGetValue("data", out var json)) return null;
        try { return JsonSerializer.Deserialize<DataSource>(json); }
        catch (JsonException) { return null; }
    }
}
