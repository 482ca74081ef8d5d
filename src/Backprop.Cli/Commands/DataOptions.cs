using Backprop;
using Backprop.Cli.Support;
using Backprop.Data;

namespace Backprop.Cli.Commands;

/// <summary>The --dataset and --data options shared by train and eval.</summary>
internal static class DataOptions
{
    public const string FashionHowTo =
        "install Debian's package with 'apt-get install dataset-fashion-mnist' (it puts the four IDX files in " +
        Datasets.FashionMnistDir
            + "), or pass --data DIR with train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and " +
            "t10k-labels-idx1-ubyte.gz";

    public const string MnistHowTo =
        "MNIST needs --data DIR, a folder with train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and " +
        "t10k-labels-idx1-ubyte.gz (raw files without .gz work too)";

    /// <summary>
    /// The data source the options say: --dataset (spiral unless --data alone names an IDX folder), --data, --validation
    /// and --seed, each falling back to <paramref name="saved"/> (a checkpoint's) and then to the data set's default. A
    /// checkpoint of the earlier format gives its validation fraction and seed in <paramref name="legacy"/>'s training entry.
    /// </summary>
    public static DataSource Source(Args args, DataSource? saved, IReadOnlyDictionary<string, string>? legacy)
    {
        string dataset = args.Value("dataset") is not null
            ? args.Choice("dataset", "spiral", "spiral", "fashion-mnist", "mnist")
            : saved?.Dataset ?? (args.Value("data") is not null ? "idx" : "spiral");
        string? folder = args.Value("data") ?? (args.Value("dataset") is null ? saved?.Folder : null);
        if (dataset == "spiral"
            && folder is not null) throw new InvalidInputException("--data is for IDX datasets; the spiral is generated in code");
        if (dataset == "mnist" && folder is null) throw new InvalidInputException(MnistHowTo);
        double? legacyValidation = null;
        ulong? legacySeed = null;
        if (legacy is not null && legacy.TryGetValue("training", out var tj))
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(tj);
                if (doc.RootElement.TryGetProperty("validation", out var v) && v.TryGetDouble(out double vd)) legacyValidation = vd;
                if (doc.RootElement.TryGetProperty("seed", out var sd) && sd.TryGetUInt64(out ulong su)) legacySeed = su;
            }
            catch (System.Text.Json.JsonException) { }
        }
        bool images = dataset != "spiral";
        var source = new DataSource
        {
            Dataset = dataset,
            Folder = folder,
            Validation = args.Value("validation") is not null ? args.Double("validation", 0) : saved?.Validation ?? legacyValidation
                ?? (images ? 1.0 / 12 : 0.2),
            Seed = args.Value("seed") is not null ? (ulong)args.Int("seed", 0, 0) : saved?.Seed ?? legacySeed ?? 0,
        };
        try { source.Validate(); }
        catch (InvalidInputException e) { throw new InvalidInputException(e.Message.Replace("the validation fraction", "--validation")); }
        return source;
    }

    /// <summary>Fashion-MNIST from <paramref name="dir"/>, or from where Debian's package puts it.</summary>
    public static (Dataset Train, Dataset Test) LoadFashionMnist(string? dir) =>
        Datasets.LoadIdxFolder(dir ?? Datasets.FashionMnistDir, "Fashion-MNIST", Datasets.FashionClasses, FashionHowTo);
}
