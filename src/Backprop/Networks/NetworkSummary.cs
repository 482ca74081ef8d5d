using System.Globalization;
using System.Numerics;
using System.Text;
using Backprop.Layers;

namespace Backprop.Networks;

/// <summary>One row of a network's summary: the layer, its output shape per sample, its parameters and the multiply-adds of
/// its products per sample (a fully connected layer's N·M, a convolution's FN·C·FH·FW·OH·OW; 0 for the others). A graph's
/// rows also name the node and what it reads.</summary>
public sealed record LayerSummary(int Index, string Kind, int[] OutputShape, long Parameters, long MultiplyAdds, string? Node = null,
    IReadOnlyList<string>? From = null);

/// <summary>A network's layers as Keras' <c>model.summary()</c> lists them, with totals.</summary>
public static class NetworkSummary
{
    /// <summary>
    /// The rows for samples of <paramref name="sampleShape"/> (one sample runs through the network in inference mode to
    /// find each layer's output; nothing the network keeps for training changes).
    /// </summary>
    public static IReadOnlyList<LayerSummary> Of<T>(Network<T> net, int[] sampleShape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(sampleShape);
        bool was = net.Training;
        net.Training = false;
        try
        {
            // Each node on its own, in the order they run, from its inputs' values.
            var values = net.Trace(Tensor<T>.Zeros([1, .. sampleShape]));
            bool graph = net is GraphNetwork<T>;
            return [.. net.Nodes.Select((n, i) => Row(i, n.Layer, n.Op, values[n.Name]) is var r && graph
                ? r with { Node = n.Name, From = n.Inputs } : r)];
        }
        finally { net.Training = was; }
    }

    private static LayerSummary Row<T>(int index, Layer<T>? layer, string kind, Tensor<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long parameters = layer?.Parameters.Sum(p => (long)p.Value.Length) ?? 0;
        long macs = layer switch
        {
            FullyConnected<T> fc => (long)fc.Inputs * fc.Outputs,
            Convolution<T> conv => (long)conv.W.Length * (y.Length / y.Dim(1)),
            _ => 0,
        };
        return new LayerSummary(index, layer?.Kind ?? kind, y.Shape.ToArray()[1..], parameters, macs);
    }

    /// <summary>The input shape of one sample where the first shaped layer fixes it: a fully connected layer's (N), a
    /// convolution's (C, 28, 28) (the book's images); null where nothing does.</summary>
    public static int[]? DefaultSampleShape<T>(Network<T> net) where T : unmanaged, IFloatingPointIeee754<T>
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
        bool graph = rows.Any(r => r.Node is not null);
        sb.AppendLine(graph ? "| node | kind | from | output per sample | parameters | multiply-adds per sample |"
            : "| layer | kind | output per sample | parameters | multiply-adds per sample |");
        sb.AppendLine(graph ? "|---|---|---|---|---:|---:|" : "|---:|---|---|---:|---:|");
        foreach (var r in rows)
        {
            string lead = graph ? $"| {r.Node} | {r.Kind} | {string.Join(", ", r.From ?? [])} |" : $"| {r.Index} | {r.Kind} |";
            sb.AppendLine(CultureInfo.InvariantCulture, $"{lead} {Shape(r.OutputShape)} | {r.Parameters:N0} | {r.MultiplyAdds:N0} |");
        }
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"| | total | {(graph ? "| " : "")}| {rows.Sum(r => r.Parameters):N0} | {rows.Sum(r => r.MultiplyAdds):N0} |");
        return sb.ToString();
    }
}
