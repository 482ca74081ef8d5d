using System.Globalization;
using System.Numerics;
using System.Text;
using Backprop.Layers;

namespace Backprop.Networks;

/// <summary>One row of a network's summary: the layer, its output shape per sample, its parameters and the multiply-adds of
/// its products per sample (a fully connected layer's N·M, a convolution's FN·C·FH·FW·OH·OW; 0 for the others).</summary>
public sealed record LayerSummary(int Index, string Kind, int[] OutputShape, long Parameters, long MultiplyAdds);

/// <summary>A network's layers as Keras' <c>model.summary()</c> lists them, with totals.</summary>
public static class NetworkSummary
{
    /// <summary>
    /// The rows for samples of <paramref name="sampleShape"/> (one sample runs through the network in inference mode to
    /// find each layer's output; nothing the network keeps for training changes).
    /// </summary>
    public static IReadOnlyList<LayerSummary> Of<T>(Sequential<T> net, int[] sampleShape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(sampleShape);
        bool was = net.Training;
        net.Training = false;
        try
        {
            var rows = new List<LayerSummary>();
            var x = Tensor<T>.Zeros([1, .. sampleShape]);
            for (int i = 0; i < net.Layers.Count; i++)
            {
                var layer = net.Layers[i];
                var y = layer.Forward(x);
                long parameters = layer.Parameters.Sum(p => (long)p.Value.Length);
                long macs = layer switch
                {
                    FullyConnected<T> fc => (long)fc.Inputs * fc.Outputs,
                    Convolution<T> conv => (long)conv.W.Length * (y.Length / y.Dim(1)),
                    _ => 0,
                };
                rows.Add(new LayerSummary(i, layer.Kind, y.Shape.ToArray()[1..], parameters, macs));
                x = y;
            }
            return rows;
        }
        finally { net.Training = was; }
    }

    /// <summary>The input shape of one sample where the first shaped layer fixes it: a fully connected layer's (N), a
    /// convolution's (C, 28, 28) (the book's images); null where nothing does.</summary>
    public static int[]? DefaultSampleShape<T>(Sequential<T> net) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (var layer in net.Layers)
        {
            if (layer is FullyConnected<T> fc) return [fc.Inputs];
            if (layer is Convolution<T> conv) return [conv.W.Dim(1), 28, 28];
        }
        return null;
    }

    /// <summary>The rows as a table with totals.</summary>
    public static string Table(IReadOnlyList<LayerSummary> rows, int[] sampleShape)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var sb = new StringBuilder();
        static string Shape(int[] s) => "(" + string.Join(", ", s) + ")";
        sb.AppendLine(CultureInfo.InvariantCulture, $"input {Shape(sampleShape)} per sample");
        sb.AppendLine("| layer | kind | output per sample | parameters | multiply-adds per sample |");
        sb.AppendLine("|---:|---|---|---:|---:|");
        foreach (var r in rows)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Index} | {r.Kind} | {Shape(r.OutputShape)} | {r.Parameters:N0} | {r.MultiplyAdds:N0} |");
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"| | total | | {rows.Sum(r => r.Parameters):N0} | {rows.Sum(r => r.MultiplyAdds):N0} |");
        return sb.ToString();
    }
}
