using System.Globalization;
using Backprop.Data;
using Backprop.IO;

namespace Backprop.Cli.Playground;

/// <summary>
/// <c>--data FILE</c> for view 3: 2-D points as CSV, one per line, <c>x1,x2,label</c> (a header line allowed, labels 0 to
/// 99 in any number of classes). Read within bounds: 16 MiB, 100 000 points.
/// </summary>
internal static class PointsCsv
{
    public const int MaxPoints = 100_000;

    public static Dataset Read(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException($"--data: the file '{path}' does not exist");
        var lines = BoundedFile.ReadAllText(path, 16L << 20).Split('\n');
        var features = new List<float>();
        var labels = new List<int>();
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0) continue;
            var cells = line.Split(',');
            if (cells.Length != 3)
                throw new InvalidFileException($"{path}:{i + 1}: a line has x1,x2,label (three cells), not {cells.Length}");
            bool ok = float.TryParse(cells[0], NumberStyles.Float, CultureInfo.InvariantCulture, out float a)
                & float.TryParse(cells[1], NumberStyles.Float, CultureInfo.InvariantCulture, out float b)
                & int.TryParse(cells[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int label);
            if (!ok)
            {
                if (features.Count == 0 && labels.Count == 0 && i == 0) continue;   // the header
                throw new InvalidFileException($"{path}:{i + 1}: '{line}' is not two numbers and a class");
            }
            if (!float.IsFinite(a) || !float.IsFinite(b) || label is < 0 or > 99)
                throw new InvalidFileException($"{path}:{i + 1}: finite coordinates and a class from 0 to 99, not '{line}'");
            if (labels.Count == MaxPoints) throw new InvalidFileException($"{path}: more than {MaxPoints} points");
            features.Add(a);
            features.Add(b);
            labels.Add(label);
        }
        if (labels.Count < 2) throw new InvalidFileException($"{path}: fewer than two points");
        int classes = labels.Max() + 1;
        if (classes < 2) throw new InvalidFileException($"{path}: the points are all of one class");
        return new Dataset(Path.GetFileName(path), [.. features], [.. labels], 2, classes);
    }
}
