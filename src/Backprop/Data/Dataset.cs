namespace Backprop.Data;

/// <summary>
/// A dataset: features (N, D) in float32 with either class labels (N) for classification, or targets (N, K) for
/// regression.
/// </summary>
public sealed class Dataset
{
    /// <summary>Creates a dataset; <paramref name="features"/> is row-major N×D.</summary>
    public Dataset(string name, float[] features, int[] labels, int dim, int classes, string[]? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (dim < 1) throw new InvalidInputException($"{name}: the features per sample must be at least 1, not {dim}");
        if (classes < 1) throw new InvalidInputException($"{name}: the number of classes must be at least 1, not {classes}");
        if (features.Length != (long)labels.Length * dim)
            throw new InvalidInputException($"{name}: {features.Length} feature values for {labels.Length} samples of {dim} features");
        foreach (int l in labels)
            if ((uint)l >= (uint)classes) throw new InvalidInputException($"{name}: label {l} is outside 0..{classes - 1}");
        Name = name;
        Features = features;
        Labels = labels;
        Dim = dim;
        SampleShape = [dim];
        Classes = classes;
        ClassNames = classNames ?? Enumerable.Range(0, classes).Select(i => i.ToString()).ToArray();
    }

    /// <summary>Creates a regression dataset: <paramref name="features"/> row-major N×D, <paramref name="targets"/> row-major
    /// N×K.</summary>
    public Dataset(string name, float[] features, int dim, float[] targets, int targetDim)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        if (dim < 1
            || targetDim < 1) throw new InvalidInputException($"{name}: the feature and target sizes must be at least 1, not {dim} " +
            $"and {targetDim}");
        if (features.Length % dim != 0 || targets.Length != features.Length / dim * (long)targetDim)
            throw new InvalidInputException($"{name}: {features.Length} feature values of {dim} per sample and {targets.Length} target " +
                $"values of {targetDim} per sample do not give one count of samples");
        Name = name;
        Features = features;
        Labels = new int[features.Length / dim];
        Dim = dim;
        SampleShape = [dim];
        Targets = targets;
        TargetDim = targetDim;
        ClassNames = [];
    }

    /// <summary>
    /// The shape of one sample, its elements multiplying to <see cref="Dim"/>: (D) for feature vectors, (1, rows, columns)
    /// for IDX images, so that a batch is (B, 1, rows, columns) for a convolution (and a fully connected layer flattens it).
    /// </summary>
    public int[] SampleShape { get; private init; } = [];

    /// <summary>The same samples with another sample shape of <see cref="Dim"/> elements.</summary>
    public Dataset WithSampleShape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length == 0 || shape.Any(d => d < 1) || shape.Aggregate(1L, (a, d) => a * d) != Dim)
            throw new InvalidInputException($"{Name}: a sample shape of ({string.Join(", ", shape)}) does not hold {Dim} features");
        return new Dataset(this, shape);
    }

    private Dataset(Dataset d, int[] shape)
    {
        Name = d.Name;
        Features = d.Features;
        Labels = d.Labels;
        Dim = d.Dim;
        Classes = d.Classes;
        ClassNames = d.ClassNames;
        Targets = d.Targets;
        TargetDim = d.TargetDim;
        SampleShape = shape.ToArray();
    }

    /// <summary>Regression targets, row-major N×<see cref="TargetDim"/>; null for a classification dataset.</summary>
    public float[]? Targets { get; }

    /// <summary>Targets per sample (0 for classification).</summary>
    public int TargetDim { get; }

    /// <summary>True for a regression dataset (targets instead of class labels).</summary>
    public bool IsRegression => Targets is not null;

    /// <summary>The dataset's name.</summary>
    public string Name { get; }
    /// <summary>Features, row-major N×D.</summary>
    public float[] Features { get; }
    /// <summary>Class labels.</summary>
    public int[] Labels { get; }
    /// <summary>Features per sample.</summary>
    public int Dim { get; }
    /// <summary>Number of classes.</summary>
    public int Classes { get; }
    /// <summary>Class names for tables.</summary>
    public string[] ClassNames { get; }
    /// <summary>Number of samples.</summary>
    public int Count => Labels.Length;

    /// <summary>The samples at <paramref name="indices"/> as a new dataset.</summary>
    public Dataset Subset(ReadOnlySpan<int> indices, string name)
    {
        var f = new float[(long)indices.Length * Dim];
        var l = new int[indices.Length];
        var t = Targets is null ? null : new float[(long)indices.Length * TargetDim];
        for (int i = 0; i < indices.Length; i++)
        {
            Array.Copy(Features, (long)indices[i] * Dim, f, (long)i * Dim, Dim);
            l[i] = Labels[indices[i]];
            if (t is not null) Array.Copy(Targets!, (long)indices[i] * TargetDim, t, (long)i * TargetDim, TargetDim);
        }
        var sub = t is null ? new Dataset(name, f, l, Dim, Classes, ClassNames) : new Dataset(name, f, Dim, t, TargetDim);
        return new Dataset(sub, SampleShape);
    }

    /// <summary>Splits off a seeded random <paramref name="fraction"/> as validation data.</summary>
    public (Dataset Train, Dataset Validation) Split(double fraction, ulong seed)
    {
        if (!(fraction > 0
            && fraction < 1)) throw new InvalidInputException($"validation fraction must be between 0 and 1, not {fraction}");
        var idx = Enumerable.Range(0, Count).ToArray();
        new Rng(seed).Shuffle(idx);
        int nVal = Math.Max(1, (int)Math.Round(Count * fraction));
        var val = idx[..nVal];
        var train = idx[nVal..];
        Array.Sort(val);
        Array.Sort(train);
        return (Subset(train, Name + " (train)"), Subset(val, Name + " (validation)"));
    }
}

/// <summary>The built-in and on-disk datasets.</summary>
public static partial class Datasets
{
    /// <summary>Where Debian's dataset-fashion-mnist package puts the files.</summary>
    public const string FashionMnistDir = "/usr/share/datasets/fashion-mnist";

    /// <summary>MNIST's ten classes, the digits.</summary>
    public static readonly string[] Digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>Fashion-MNIST's ten classes.</summary>
    public static readonly string[] FashionClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
        "Bag", "Ankle boot"];

    /// <summary>
    /// The classic 2-D spiral: <paramref name="classes"/> arms of <paramref name="perClass"/> points each, radius growing
    /// from 0 to 1 while the angle turns, with Gaussian noise on the angle.
    /// </summary>
    public static Dataset Spiral(int perClass = 300, int classes = 3, ulong seed = 0, double noise = 0.2)
    {
        var rng = new Rng(seed);
        var f = new float[perClass * classes * 2];
        var l = new int[perClass * classes];
        for (int c = 0; c < classes; c++)
            for (int i = 0; i < perClass; i++)
            {
                int k = c * perClass + i;
                double r = (double)i / perClass;
                double theta = c * 4.0 + 4.0 * r + rng.NextGaussian() * noise;
                f[2 * k] = (float)(r * Math.Sin(theta));
                f[2 * k + 1] = (float)(r * Math.Cos(theta));
                l[k] = c;
            }
        return new Dataset("spiral", f, l, 2, classes);
    }

    /// <summary>
    /// Reads an MNIST-style folder: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
    /// t10k-labels-idx1-ubyte, each raw or with .gz. Pixels are scaled to [0, 1].
    /// </summary>
    public static (Dataset Train, Dataset Test) LoadIdxFolder(string dir, string name, string[]? classNames = null, string? howToGet = null)
    {
        string Find(string stem)
        {
            foreach (var candidate in new[] { stem + ".gz", stem, stem.Replace("-idx", ".idx") + ".gz", stem.Replace("-idx", ".idx") })
            {
                var p = Path.Combine(dir, candidate);
                if (File.Exists(p)) return p;
            }
            throw new InvalidInputException($"{name}: {Path.Combine(dir, stem)}[.gz] not found"
                + (howToGet is null ? "" : $"; {howToGet}"));
        }
        if (!Directory.Exists(dir))
            throw new InvalidInputException($"{name}: the folder {dir} does not exist" + (howToGet is null ? "" : $"; {howToGet}"));
        var train = Load(Find("train-images-idx3-ubyte"), Find("train-labels-idx1-ubyte"), name + " train", classNames);
        var test = Load(Find("t10k-images-idx3-ubyte"), Find("t10k-labels-idx1-ubyte"), name + " test", classNames);
        if (train.Dim != test.Dim) throw new InvalidFileException($"{name}: training images have {train.Dim} pixels but test " +
            $"images {test.Dim}");
        // Every label is checked as the files are read: a test label the training data does not have would fail only when
        // the test loss is computed, after an epoch.
        if (test.Classes > train.Classes)
            throw new InvalidFileException($"{Find("t10k-labels-idx1-ubyte")}: label {test.Labels.Max()} is outside the training " +
                $"data's classes 0..{train.Classes - 1}");
        return (train, test);
    }

    /// <summary>One images + labels pair.</summary>
    public static Dataset Load(string imagesPath, string labelsPath, string name, string[]? classNames = null)
    {
        var images = Idx.Read(imagesPath);
        var labels = Idx.Read(labelsPath);
        if (images.Shape.Length != 3) throw new InvalidFileException($"{imagesPath}: images must have 3 dimensions (count, rows, " +
            $"columns), not {images.Shape.Length}");
        if (labels.Shape.Length != 1) throw new InvalidFileException($"{labelsPath}: labels must have 1 dimension, " +
            $"not {labels.Shape.Length}");
        if (images.Shape[0] != labels.Shape[0])
            throw new InvalidFileException($"{name}: {images.Shape[0]} images but {labels.Shape[0]} labels");
        int n = images.Shape[0], dim = images.Shape[1] * images.Shape[2];
        var f = new float[(long)n * dim];
        for (long i = 0; i < f.Length; i++) f[i] = images.Data[i] / 255f;
        var l = new int[n];
        int classes = 0;
        for (int i = 0; i < n; i++)
        {
            l[i] = labels.Data[i];
            classes = Math.Max(classes, l[i] + 1);
        }
        classes = Math.Max(classes, classNames?.Length ?? 10);
        if (classNames is not null && classes > classNames.Length)
            throw new InvalidFileException($"{labelsPath}: label {classes - 1} is outside the {classNames.Length} classes");
        return new Dataset(name, f, l, dim, classes, classNames).WithSampleShape(1, images.Shape[1], images.Shape[2]);
    }
}
