using Backprop.Data;
using Backprop.Networks;
using Backprop.Training;

namespace Backprop.Cli.Support;

/// <summary>PNG plots: training curves and, for 2-D data, the learned decision regions.</summary>
internal static class Plots
{
    public static void Curves(string path, IReadOnlyList<EpochResult> history, string title)
    {
        var plt = new ScottPlot.Plot();
        double[] epochs = history.Select(h => (double)h.Epoch).ToArray();
        var tl = plt.Add.Scatter(epochs, history.Select(h => h.TrainLoss).ToArray());
        tl.LegendText = "train loss";
        bool val = history.All(h => h.ValAccuracy is not null);
        if (val)
        {
            var vl = plt.Add.Scatter(epochs, history.Select(h => h.ValLoss!.Value).ToArray());
            vl.LegendText = "validation loss";
        }
        var ta = plt.Add.Scatter(epochs, history.Select(h => h.TrainAccuracy).ToArray());
        ta.LegendText = "train accuracy";
        ta.Axes.YAxis = plt.Axes.Right;
        ta.LinePattern = ScottPlot.LinePattern.Dashed;
        if (val)
        {
            var va = plt.Add.Scatter(epochs, history.Select(h => h.ValAccuracy!.Value).ToArray());
            va.LegendText = "validation accuracy";
            va.Axes.YAxis = plt.Axes.Right;
            va.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        if (history.All(h => h.TestAccuracy is not null))
        {
            var te = plt.Add.Scatter(epochs, history.Select(h => h.TestAccuracy!.Value).ToArray());
            te.LegendText = "test accuracy";
            te.Axes.YAxis = plt.Axes.Right;
            te.LinePattern = ScottPlot.LinePattern.Dotted;
        }
        plt.Title(title);
        plt.XLabel("epoch");
        plt.YLabel("loss (cross-entropy, mean over the samples)");
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plt.Axes.Right.Label.Text = "accuracy";
        plt.ShowLegend(ScottPlot.Alignment.MiddleRight);
        Save(plt, path, 800, 500);
    }

    public static void Regions<T>(string path, Sequential<T> net, Dataset data, string title) where T : unmanaged,
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
        plt.Title(title + "\nshaded: the class the network predicts there; points: the data");
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
