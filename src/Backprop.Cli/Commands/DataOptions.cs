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
        string? given = args.Value("data");
        // --dataset names a built-in set (its --data is an IDX folder); --data alone says by itself what it is.
        string? kind = given is null ? null : args.Value("dataset") is not null ? "idx" : Kind(given);
        string dataset = args.Value("dataset") is not null
            ? args.Choice("dataset", "spiral", "spiral", "fashion-mnist", "mnist")
            : saved?.Dataset ?? kind ?? "spiral";
        string? folder = (kind is null or "idx" ? given : null) ?? (args.Value("dataset") is null ? saved?.Folder : null);
        string? file = kind is "csv" or "numpy" or "images" ? given : saved?.File;
        foreach (var (option, needs) in new[] { ("target", "csv"), ("labels", "numpy"), ("image-size", "images") })
            if (args.Value(option) is not null && dataset != needs)
                throw new InvalidInputException($"--{option} is for {needs} data (--data FILE), not {dataset}");
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
        bool images = dataset is "fashion-mnist" or "mnist" or "idx" or "images";
        var source = new DataSource
        {
            Dataset = dataset,
            Folder = folder,
            File = file,
            Target = args.Value("target") ?? saved?.Target,
            Labels = args.Value("labels") ?? saved?.Labels,
            ImageSize = args.Value("image-size") is { } size ? Size(size) : saved?.ImageSize,
            Limit = args.Value("limit") is not null ? args.Int("limit", 0, 1) : saved?.Limit,
            Validation = args.Value("validation") is not null ? args.Double("validation", 0) : saved?.Validation ?? legacyValidation
                ?? (images ? 1.0 / 12 : 0.2),
            Seed = args.Value("seed") is not null ? (ulong)args.Int("seed", 0, 0) : saved?.Seed ?? legacySeed ?? 0,
        };
        try { source.Validate(); }
        catch (InvalidInputException e) { throw new InvalidInputException(e.Message.Replace("the validation fraction", "--validation")); }
        return source;
    }

    /// <summary>What --data names: a CSV file, numpy arrays (.npy, .npz), a folder of IDX files, or a folder of class folders of
    /// images.</summary>
    public static string Kind(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext == ".csv") return "csv";
        if (ext is ".npy" or ".npz") return "numpy";
        if (File.Exists(path))
            throw new InvalidInputException($"--data {path}: a .csv, .npy or .npz file, or a folder (IDX files, or one " +
            "sub-folder of images per class)");
        if (!Directory.Exists(path)) throw new InvalidInputException($"--data {path}: no such file or folder");
        bool idx = Directory.GetFiles(path).Any(f => Path.GetFileName(f).StartsWith("train-images-idx3-ubyte", StringComparison.Ordinal));
        return idx ? "idx" : "images";
    }

    private static int[] Size(string text)
    {
        var parts = text.Split(',', 'x', '×');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int h) || !int.TryParse(parts[1], out int w) || h is < 1 or > 4096
            || w is < 1 or > 4096)
            throw new InvalidInputException($"--image-size must be a height and a width from 1 to 4096, as 28,28, not '{text}'");
        return [h, w];
    }

    /// <summary>The training data and the test data (null where there is none), images decoded with SkiaSharp.</summary>
    public static (Dataset Train, Dataset? Test) Load(DataSource source) =>
        source.Load(source.Dataset == "fashion-mnist" ? FashionHowTo : MnistHowTo, ImageFiles.Decode);

    /// <summary>Fashion-MNIST from <paramref name="dir"/>, or from where Debian's package puts it.</summary>
    public static (Dataset Train, Dataset Test) LoadFashionMnist(string? dir) =>
        Datasets.LoadIdxFolder(dir ?? Datasets.FashionMnistDir, "Fashion-MNIST", Datasets.FashionClasses, FashionHowTo);
}
