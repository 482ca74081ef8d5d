using Backprop.IO;

namespace Backprop.Data;

/// <summary>Decodes one image file to <paramref name="height"/>×<paramref name="width"/> pixels in [0, 1], channels first:
/// one channel for a grey image, three (RGB) otherwise. Throws <see cref="InvalidFileException"/> for a file that does not
/// decode.</summary>
public delegate (float[] Pixels, int Channels) ImageDecoder(string path, int height, int width);

public static partial class Datasets
{
    /// <summary>The most images one folder data set may hold.</summary>
    public const int MaxImages = 1 << 20;

    /// <summary>The extensions an image folder's files are taken by.</summary>
    public static readonly IReadOnlyList<string> ImageExtensions = [".png", ".jpg", ".jpeg"];

    /// <summary>
    /// numpy arrays: features from an <c>.npy</c> file (N, D), (N, H, W) (one channel) or (N, C, H, W), and labels from
    /// another (N,): whole numbers from 0 are classes, anything else (or <paramref name="regression"/>) targets, (N, K)
    /// targets too. An <c>.npz</c> file holds both, as x (or X, features, data) and y (or Y, labels, targets);
    /// <paramref name="labels"/> is then not needed.
    /// </summary>
    public static Dataset FromNumpy(string features, string? labels = null, bool regression = false)
    {
        Npy.Array x, y;
        if (features.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
        {
            var arrays = Npy.ReadZip(features);
            x = Pick(arrays, features, "features", "x", "X", "features", "data");
            y = labels is not null ? Npy.Read(labels) : Pick(arrays, features, "labels", "y", "Y", "labels", "targets");
        }
        else
        {
            x = Npy.Read(features);
            y = labels is not null ? Npy.Read(labels)
                : throw new InvalidInputException(
                    $"{features}: an .npy file holds the features only; give the labels' file too (--labels)");
        }
        if (x.Shape.Length is < 1 or > 4 || x.Shape.Any(d => d < 1))
            throw new InvalidFileException($"{features}: features of shape ({string.Join(", ", x.Shape)}); expected (N, D), (N, H, W) " +
                "or (N, C, H, W)");
        int n = x.Shape[0];
        int[] sample = x.Shape.Length switch { 1 => [1], 2 => [x.Shape[1]], 3 => [1, x.Shape[1], x.Shape[2]], _ => x.Shape[1..] };
        int dim = sample.Aggregate(1, (a, d) => a * d);
        if (y.Shape.Length is < 1 or > 2 || y.Shape[0] != n)
            throw new InvalidFileException($"{labels ?? features}: labels of shape ({string.Join(", ", y.Shape)}) for {n} samples");
        var f = new float[x.Values.Length];
        for (int i = 0; i < f.Length; i++) f[i] = (float)x.Values[i];
        string name = Path.GetFileNameWithoutExtension(features);
        bool classes = !regression && y.Shape.Length == 1 && y.Values.All(v => v >= 0 && v == Math.Floor(v) && v < 1 << 20);
        if (!classes)
        {
            int k = y.Shape.Length == 2 ? y.Shape[1] : 1;
            return new Dataset(name, f, dim, [.. y.Values.Select(v => (float)v)], k).WithSampleShape(sample);
        }
        var l = y.Values.Select(v => (int)v).ToArray();
        return new Dataset(name, f, l, dim, l.Length == 0 ? 1 : l.Max() + 1).WithSampleShape(sample);
    }

    private static Npy.Array Pick(Dictionary<string, Npy.Array> arrays, string path, string what, params string[] names) =>
        names.Where(arrays.ContainsKey).Select(n => arrays[n]).FirstOrDefault()
        ?? throw new InvalidFileException($"{path}: no {what} array (named {string.Join(", ", names[..^0])}); it holds " +
            string.Join(", ", arrays.Keys));

    /// <summary>
    /// A folder with one sub-folder per class of PNG or JPEG images (PyTorch's ImageFolder convention; classes in the
    /// folders' alphabetical order), each decoded by <paramref name="decode"/> to <paramref name="height"/>×<paramref
    /// name="width"/>, on the kernels' threads. Grey images stay one channel unless any image has colour, when all are RGB.
    /// </summary>
    /// <exception cref="InvalidFileException">No class folders, a class folder without images, an image that does not decode
    /// (its path), or more than <see cref="MaxImages"/>.</exception>
    public static Dataset FromImageFolder(string dir, ImageDecoder decode, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(decode);
        if (!Directory.Exists(dir)) throw new InvalidFileException($"{dir}: no such folder");
        if (height is < 1 or > 4096 || width is < 1 or > 4096)
            throw new InvalidInputException($"the image size must be from 1 to 4096 each way, not {height}×{width}");
        var classes = Directory.GetDirectories(dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw new InvalidFileException($"{dir}: no class folders (one sub-folder of images per class)");
        var files = new List<(string Path, int Label)>();
        for (int c = 0; c < classes.Length; c++)
        {
            var images = Directory.GetFiles(Path.Combine(dir, classes[c]))
                .Where(p => ImageExtensions.Contains(Path.GetExtension(p).ToLowerInvariant())).Order(StringComparer.Ordinal).ToArray();
            if (images.Length == 0) throw new InvalidFileException($"{Path.Combine(dir, classes[c])}: a class folder with no PNG or JPEG " +
                "images");
            files.AddRange(images.Select(p => (p, c)));
            if (files.Count > MaxImages) throw new InvalidFileException($"{dir}: more than {MaxImages} images");
        }
        if ((long)files.Count * 3 * height * width > Array.MaxLength)
            throw new InvalidFileException($"{dir}: {files.Count} images of {height}×{width} exceed one array");
        var decoded = new (float[] Pixels, int Channels)[files.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Parallelism.MaxThreads) };
        try
        {
            Parallel.For(0, files.Count, options, i =>
            {
                var d = decode(files[i].Path, height, width);
                if (d.Channels is not (1 or 3) || d.Pixels.Length != d.Channels * height * width)
                    throw new InvalidFileException($"{files[i].Path}: the decoder gave {d.Pixels.Length} values for {d.Channels} channels");
                decoded[i] = d;
            });
        }
        catch (AggregateException e)
        {
            // The first failing image, in file order among those that failed, as one error.
            var first = e.Flatten().InnerExceptions.OfType<BackpropException>().FirstOrDefault();
            if (first is not null) throw first;
            throw;
        }
        int channels = decoded.Any(d => d.Channels == 3) ? 3 : 1;
        int dim = channels * height * width, plane = height * width;
        var features = new float[(long)files.Count * dim];
        for (int i = 0; i < files.Count; i++)
        {
            var (p, ch) = decoded[i];
            for (int c = 0; c < channels; c++)
                Array.Copy(p, ch == 1 ? 0 : c * plane, features, (long)i * dim + c * plane, plane);
        }
        return new Dataset(Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)), features, [.. files.Select(f => f.Label)], dim,
            classes.Length, classes).WithSampleShape(channels, height, width);
    }
}
