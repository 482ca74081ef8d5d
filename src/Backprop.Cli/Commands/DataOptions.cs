using Backprop;
using Backprop.Data;

namespace Backprop.Cli.Commands;

/// <summary>The --dataset and --data options shared by train and eval.</summary>
internal static class DataOptions
{
    public const string FashionHowTo = "install Debian's package with 'apt-get install dataset-fashion-mnist' (it puts the four IDX files in " +
        Datasets.FashionMnistDir + "), or pass --data DIR with train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz";

    public const string MnistHowTo = "MNIST needs --data DIR, a folder with train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (raw files without .gz work too)";

    /// <summary>The dataset name, defaulting to an IDX folder when only --data is given.</summary>
    public static string Name(Args args) =>
        args.Value("dataset") is not null
            ? args.Choice("dataset", "spiral", "spiral", "fashion-mnist", "mnist")
            : args.Value("data") is not null ? "idx" : "spiral";

    /// <summary>Fashion-MNIST from <paramref name="dir"/>, or from where Debian's package puts it.</summary>
    public static (Dataset Train, Dataset Test) LoadFashionMnist(string? dir) =>
        Datasets.LoadIdxFolder(dir ?? Datasets.FashionMnistDir, "Fashion-MNIST", Datasets.FashionClasses, FashionHowTo);

    /// <summary>The training data and the test data (null for none).</summary>
    public static (Dataset Train, Dataset? Test) Load(Args args, ulong seed)
    {
        string name = Name(args);
        string? dir = args.Value("data");
        switch (name)
        {
            case "spiral":
                if (dir is not null) throw new InvalidInputException("--data is for IDX datasets; the spiral is generated in code");
                return (Datasets.Spiral(300, 3, seed), Datasets.Spiral(100, 3, seed + 1_000_003));
            case "fashion-mnist":
            {
                var (tr, te) = LoadFashionMnist(dir);
                return (tr, te);
            }
            case "mnist":
            {
                if (dir is null) throw new InvalidInputException(MnistHowTo);
                var (tr, te) = Datasets.LoadIdxFolder(dir, "MNIST", null, MnistHowTo);
                return (tr, te);
            }
            default:
            {
                var (tr, te) = Datasets.LoadIdxFolder(dir!, Path.GetFileName(Path.TrimEndingDirectorySeparator(dir!)), null, MnistHowTo);
                return (tr, te);
            }
        }
    }
}
