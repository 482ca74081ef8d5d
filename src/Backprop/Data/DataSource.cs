using System.Text.Json.Serialization;

namespace Backprop.Data;

/// <summary>
/// Where a run's data comes from and how it is split, as a checkpoint records it: the data set's name, its folder (IDX
/// data), the fraction held out for validation and the seed of that split.
/// </summary>
public sealed record DataSource
{
    /// <summary>The data set names <see cref="Load"/> knows.</summary>
    public static readonly IReadOnlyList<string> Names = ["spiral", "fashion-mnist", "mnist", "idx"];

    /// <summary>spiral (generated), fashion-mnist, mnist, or idx (any MNIST-style folder).</summary>
    [JsonPropertyName("dataset")] public string Dataset { get; init; } = "spiral";

    /// <summary>The folder of IDX files; null for the spiral, and for Fashion-MNIST where Debian's package puts it.</summary>
    [JsonPropertyName("folder")] public string? Folder { get; init; }

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
        if (Dataset is "mnist" or "idx"
            && Folder is null) throw new InvalidInputException($"the {Dataset} data set needs a folder of IDX files");
        if (!(Validation >= 0
            && Validation < 1)) throw new InvalidInputException($"the validation fraction must be at least 0 and below 1, " +
            $"not {Validation}");
    }

    /// <summary>The whole training data and the test data (null where the data set has none).</summary>
    public (Dataset Train, Dataset? Test) Load(string? howToGet = null)
    {
        Validate();
        switch (Dataset)
        {
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
