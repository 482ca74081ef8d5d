using Backprop.Data;
using Backprop.Networks;
using Backprop.Training;

namespace Backprop.Cli.Support;

/// <summary>PNG plots: training curves and, for 2-D data, the learned decision regions.</summary>
internal static class Plots
{
    /// <summary>Loss (top) and accuracy (bottom) per epoch in two panels, for training, validation and test data (the test
    /// points where they were evaluated: the last epoch's, or every one with --test-each-epoch).</summary>
    public static void Curves(string path, IReadOnlyList<EpochResult> history, string title)
    {
        ScottPlot.Plot Panel(string what, Func<EpochResult, double?>[] series, string[] names, string ylabel, bool top)
        {
            var plt = new ScottPlot.Plot();
            var patterns = new[] { ScottPlot.LinePattern.Solid, ScottPlot.LinePattern.Dashed, ScottPlot.LinePattern.Dotted };
            for (int k = 0; k < series.Length; k++)
            {
                var points = history.Where(h => series[k](h) is not null).ToArray();
                if (points.Length == 0) continue;
                var sc = plt.Add.Scatter(points.Select(h => (double)h.Epoch).ToArray(), points.Select(h => series[k](h)!.Value).ToArray());
                sc.LegendText = names[k];
                sc.LinePattern = patterns[k];
                sc.MarkerSize = points.Length == 1 ? 8 : 4;
            }
            if (top) plt.Title(title);
            plt.XLabel("epoch");
            plt.YLabel(ylabel);
            plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
            plt.ShowLegend(ScottPlot.Alignment.UpperRight);
            _ = what;
            return plt;
        }
        var loss = Panel("loss", [h => h.TrainLoss, h => h.ValLoss, h => h.TestLoss], ["train loss", "validation loss", "test loss"],
            "loss (mean over the samples)", top: true);
        var accuracy = Panel("accuracy", [h => h.TrainAccuracy, h => h.ValAccuracy, h => h.TestAccuracy],
            ["train accuracy", "validation accuracy", "test accuracy"], "accuracy", top: false);
        Stack(path, 800, [(loss, 380), (accuracy, 320)]);
    }

    /// <summary>A confusion matrix as an image: counts in cells shaded by their share of the true class's samples, with the
    /// class names on both axes.</summary>
    public static void Confusion(string path, int[][] confusion, IReadOnlyList<string> names, string title)
    {
        int n = confusion.Length;
        var share = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            double row = Math.Max(1, confusion[i].Sum());
            for (int j = 0; j < n; j++) share[i, j] = confusion[i][j] / row;
        }
        var plt = new ScottPlot.Plot();
        // One square a cell, row i at the top: white for none of the true class's samples, dark blue for all of them.
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double y = n - 1 - i;
                var cell = plt.Add.Rectangle(j - 0.5, j + 0.5, y - 0.5, y + 0.5);
                byte Shade(int dark) => (byte)Math.Round(255 + (dark - 255) * share[i, j]);
                cell.FillColor = new ScottPlot.Color(Shade(8), Shade(48), Shade(107));
                cell.LineColor = ScottPlot.Colors.LightGray;
            }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                var label = plt.Add.Text(confusion[i][j].ToString(System.Globalization.CultureInfo.InvariantCulture), j, n - 1 - i);
                label.LabelAlignment = ScottPlot.Alignment.MiddleCenter;
                label.LabelFontColor = share[i, j] > 0.5 ? ScottPlot.Colors.White : ScottPlot.Colors.Black;
            }
        var ticks = Enumerable.Range(0, n).Select(k => (double)k).ToArray();
        string Name(int k) => k < names.Count ? names[k] : k.ToString(System.Globalization.CultureInfo.InvariantCulture);
        plt.Axes.Bottom.SetTicks(ticks, [.. Enumerable.Range(0, n).Select(Name)]);
        plt.Axes.Left.SetTicks(ticks, [.. Enumerable.Range(0, n).Select(k => Name(n - 1 - k))]);
        plt.Axes.Bottom.TickLabelStyle.Rotation = n > 5 ? 45 : 0;
        plt.Axes.Bottom.TickLabelStyle.Alignment = n > 5 ? ScottPlot.Alignment.MiddleLeft : ScottPlot.Alignment.UpperCenter;
        plt.Title(title + "\nshade: the share of the true class's samples");
        plt.XLabel("predicted class");
        plt.YLabel("true class");
        Save(plt, path, 700, 700);
    }

    public static void Regions<T>(string path, Network<T> net, Dataset data, string title) where T : unmanaged,
        System.Numerics.IFloatingPointIeee754<T>
    {
        const int grid = 200;
        float minX = float.MaxValue, maxX = float.MinValue, minY = float.MaxValue, maxY = float.MinValue;
        for (int i = 0; i < data.Count; i++)
        {
            minX = Math.Min(minX, data.Features[2 * i]); maxX = Math.Max(maxX, data.Features[2 * i]);
            minY = Math.Min(minY, data.Features[2 * i + 1]); maxY = Math.Max(maxY, data.Features[2 * i + 1]);
        }
        float padX = (maxX - minX) * 0.1f, padY = (maxY - minY) * 0.1f;
        minX -= padX; maxX += padX; minY -= padY; maxY += padY;
        var x = Tensor<T>.Zeros(grid * grid, 2);
        for (int r = 0; r < grid; r++)
            for (int c = 0; c < grid; c++)
            {
                x[r * grid + c, 0] = T.CreateTruncating(minX + (maxX - minX) * (c + 0.5) / grid);
                x[r * grid + c, 1] = T.CreateTruncating(maxY - (maxY - minY) * (r + 0.5) / grid);
            }
        bool was = net.Training;
        net.Training = false;
        var scores = net.Forward(x);
        net.Training = was;
        int C = scores.Dim(1);
        var cls = new double[grid, grid];
        for (int r = 0; r < grid; r++)
            for (int c = 0; c < grid; c++)
                cls[r, c] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax<T>(scores.Span.Slice((r * grid + c) * C, C));
        var plt = new ScottPlot.Plot();
        var hm = plt.Add.Heatmap(cls);
        hm.Extent = new ScottPlot.CoordinateRect(minX, maxX, minY, maxY);
        var palette = new ScottPlot.Palettes.Category10();
        hm.Colormap = new ClassColors(palette, C);   // each region in its class's colour, the colour of its points
        hm.ManualRange = new ScottPlot.Range(0, Math.Max(1, C - 1));
        hm.Opacity = 0.35;
        // The data's own predictions: the points the network gets wrong are marked.
        var px = Tensor<T>.Zeros(data.Count, 2);
        for (int i = 0; i < 2 * data.Count; i++) px.Span[i] = T.CreateTruncating(data.Features[i]);
        net.Training = false;
        var pointScores = net.Forward(px);
        net.Training = was;
        var wrongX = new List<double>();
        var wrongY = new List<double>();
        for (int i = 0; i < data.Count; i++)
            if (System.Numerics.Tensors.TensorPrimitives.IndexOfMax<T>(pointScores.Span.Slice(i * C, C)) != data.Labels[i])
            {
                wrongX.Add(data.Features[2 * i]);
                wrongY.Add(data.Features[2 * i + 1]);
            }
        for (int k = 0; k < data.Classes; k++)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (int i = 0; i < data.Count; i++)
                if (data.Labels[i] == k) { xs.Add(data.Features[2 * i]); ys.Add(data.Features[2 * i + 1]); }
            var sc = plt.Add.ScatterPoints(xs.ToArray(), ys.ToArray());
            sc.Color = palette.GetColor(k);
            sc.MarkerSize = 4;
            sc.LegendText = $"class {data.ClassNames[k]}";
        }
        if (wrongX.Count > 0)
        {
            var wrong = plt.Add.ScatterPoints(wrongX.ToArray(), wrongY.ToArray());
            wrong.MarkerShape = ScottPlot.MarkerShape.Eks;
            wrong.MarkerSize = 9;
            wrong.Color = ScottPlot.Colors.Black;
            wrong.LegendText = $"misclassified ({wrongX.Count})";
        }
        plt.Title(title + "\nshade: the predicted class; points: the data; ×: misclassified");
        plt.XLabel("feature 1");
        plt.YLabel("feature 2");
        plt.ShowLegend();
        Save(plt, path, 700, 700);
    }

    // Class k's colour at k/(C − 1) of the colormap, so that the heatmap of class indices 0..C − 1 uses the palette.
    private sealed class ClassColors(ScottPlot.IPalette palette, int classes) : ScottPlot.IColormap
    {
        public string Name => "classes";

        public ScottPlot.Color GetColor(double position) =>
            palette.GetColor((int)Math.Round(Math.Clamp(double.IsFinite(position) ? position : 0, 0, 1) * Math.Max(1, classes - 1)));
    }

    // Panels one above the other in one PNG, written as Save writes.
    private static void Stack(string path, int width, (ScottPlot.Plot Plot, int Height)[] panels)
    {
        using var surface = SkiaSharp.SKSurface.Create(new SkiaSharp.SKImageInfo(width, panels.Sum(p => p.Height)));
        surface.Canvas.Clear(SkiaSharp.SKColors.White);
        int y = 0;
        foreach (var (plot, height) in panels)
        {
            using var image = SkiaSharp.SKImage.FromEncodedData(plot.GetImage(width, height).GetImageBytes());
            surface.Canvas.DrawImage(image, 0, y);
            y += height;
        }
        using var png = surface.Snapshot().Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        WriteAtomically(path, png.ToArray());
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new InvalidInputException($"cannot write {path}: the folder {dir} does not exist");
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp.png");
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, full, overwrite: true);
    }

    // Renders to a temporary file in the same folder, then renames: a crash never leaves a half-written PNG.
    private static void Save(ScottPlot.Plot plt, string path, int w, int h)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new InvalidInputException($"cannot write {path}: the folder {dir} does not exist");
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp.png");
        plt.SavePng(tmp, w, h);
        File.Move(tmp, full, overwrite: true);
    }
}
