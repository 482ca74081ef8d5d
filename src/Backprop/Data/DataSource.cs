using System.Text.Json.Serialization;

namespace Backprop.Data;

/// <summary>
/// Where a run's data comes from and how it is split, as a checkpoint records it: the data set's name, its folder (IDX
/// data), the fraction held out for validation and the seed of that split.
/// </summary>
public sealed record DataSource
{
    /// <summary>The data set names <see cref="Load"/> knows.</summary>
    public static readonly IReadOnlyList<string> Names = ["spiral", "fashion-mnist", "mnist", "idx", "csv", "numpy", "images"];

    /// <summary>spiral (generated), fashion-mnist, mnist, idx (any MNIST-style folder), csv (<see cref="File"/>, a CSV with a
    /// header), numpy (<see cref="File"/> .npy with <see cref="Labels"/>, or .npz) or images (<see cref="File"/>, a folder
    /// of class folders).</summary>
    [JsonPropertyName("dataset")] public string Dataset { get; init; } = "spiral";

    /// <summary>The folder of IDX files; null for the spiral, and for Fashion-MNIST where Debian's package puts it.</summary>
    [JsonPropertyName("folder")] public string? Folder { get; init; }

    /// <summary>The data file (csv, numpy) or folder (images); null for the others.</summary>
    [JsonPropertyName("file")] public string? File { get; init; }

    /// <summary>numpy: the labels' .npy file (an .npz holds them itself).</summary>
    [JsonPropertyName("labels")] public string? Labels { get; init; }

    /// <summary>csv: the label column (null: the last).</summary>
    [JsonPropertyName("target")] public string? Target { get; init; }

    /// <summary>images: the height and width every image is scaled to (null: 28×28).</summary>
    [JsonPropertyName("image_size")] public int[]? ImageSize { get; init; }

    /// <summary>The first this many training samples only (null: all).</summary>
    [JsonPropertyName("limit")] public int? Limit { get; init; }

    /// <summary>csv and numpy: the target is a number to regress on, not a class.</summary>
    [JsonPropertyName("regression")] public bool Regression { get; init; }

    /// <summary>The fraction of the training data held out for validation (0: none).</summary>
    [JsonPropertyName("validation")] public double Validation { get; init; }

    /// <summary>The seed of the validation split and of the generated spiral.</summary>
    [JsonPropertyName("seed")] public ulong Seed { get; init; }

    /// <summary>Checks the fields.</summary>
    /// <exception cref="InvalidInputException">An unknown data set, a missing folder, or a fraction out of range.</exception>
    public void Validate()
    {
        if (!Names.Contains(Dataset)) throw new InvalidInputException($"the data set must be one of {string.Join(", ", Names)}, not " +
            $"'{Dataset}'");
        if (Dataset == "spiral" && Folder is not null) throw new InvalidInputException("the spiral is generated in code and has no folder");
        if (Dataset is "csv" or "numpy" or "images" && File is null) throw new InvalidInputException($"the {Dataset} data needs its file");
        if (Limit is < 1) throw new InvalidInputException($"the limit must be at least 1 sample, not {Limit}");
        if (ImageSize is { } size && (size.Length != 2 || size.Any(d => d is < 1 or > 4096)))
            throw new InvalidInputException($"the image size is a height and a width from 1 to 4096, not {string.Join(",", size)}");
        if (Dataset is "mnist" or "idx"
            && Folder is null) throw new InvalidInputException($"the {Dataset} data set needs a folder of IDX files");
        if (!(Validation >= 0
            && Validation < 1)) throw new InvalidInputException($"the validation fraction must be at least 0 and below 1, " +
            $"not {Validation}");
    }

    /// <summary>The whole training data (its first <see cref="Limit"/> samples) and the test data (null where the data set has
    /// none). An image folder needs <paramref name="decode"/>, the image library's decoder.</summary>
    public (Dataset Train, Dataset? Test) Load(string? howToGet = null, ImageDecoder? decode = null)
    {
        var (train, test) = LoadAll(howToGet, decode);
        if (Limit is { } n && n < train.Count) train = train.Subset([.. Enumerable.Range(0, n)], train.Name);
        return (train, test);
    }

    private (Dataset Train, Dataset? Test) LoadAll(string? howToGet, ImageDecoder? decode)
    {
        Validate();
        switch (Dataset)
        {
            case "csv":
                return (Datasets.FromCsv(File!, Target, Regression), null);
            case "numpy":
                return (Datasets.FromNumpy(File!, Labels, Regression), null);
            case "images":
                var size = ImageSize ?? [28, 28];
                return (Datasets.FromImageFolder(File!, decode ?? throw new InvalidInputException("an image folder needs an image " +
                    "decoder"), size[0], size[1]), null);
            case "spiral":
                return (Datasets.Spiral(300, 3, Seed), Datasets.Spiral(100, 3, Seed + 1_000_003));
            case "fashion-mnist":
            {
                var (tr, te) = Datasets.LoadIdxFolder(Folder ?? Datasets.FashionMnistDir, "Fashion-MNIST", Datasets.FashionClasses,
                    howToGet);
                return (tr, te);
            }
            default:
            {
                string name = Dataset == "mnist" ? "MNIST" : Path.GetFileName(Path.TrimEndingDirectorySeparator(Folder!));
                var (tr, te) = Datasets.LoadIdxFolder(Folder!, name, Dataset == "mnist" ? Datasets.Digits : null, howToGet);
                return (tr, te);
            }
        }
    }

    /// <summary>The training data split into what is trained on and what is held out for validation (null for none).</summary>
    public (Dataset Train, Dataset? Validation) Split(Dataset all)
    {
        ArgumentNullException.ThrowIfNull(all);
        if (Validation == 0) return (all, null);
        var (train, val) = all.Split(Validation, Seed ^ 0x5EED);
        return (train, val);
    }
}
