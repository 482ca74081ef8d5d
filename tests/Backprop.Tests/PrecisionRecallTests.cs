using System.Text.Json;
using Backprop.Cli.Commands;

namespace Backprop.Tests;

/// <summary>eval's per-class precision and recall, by scikit-learn's definitions worked by hand on a small confusion
/// matrix, in eval's JSON, and its confusion-matrix PNG.</summary>
public class PrecisionRecallTests
{
    [Fact]
    public void Precision_and_recall_follow_their_definitions()
    {
        // rows true, columns predicted: class 0 predicted 7 times (5 right), class 1 4 times (3 right), class 2 never.
        int[][] confusion = [[5, 1, 0], [2, 3, 0], [0, 0, 0]];
        var (precision, recall) = EvalCommand.PrecisionRecall(confusion);
        Assert.Equal([5.0 / 7, 3.0 / 4, null], precision);
        Assert.Equal([5.0 / 6, 3.0 / 5, null], recall);
    }

    [Fact]
    public void Evals_json_carries_them_for_every_class()
    {
        string model = Path.Combine(Path.GetTempPath(), $"bp-pr-{Environment.ProcessId}.safetensors");
        try
        {
            Assert.Equal(0, TestUtil.Cli("", "train", "--epochs", "3", "--out", model).Code);
            var (code, json, _) = TestUtil.Cli("", "eval", "--model", model, "--json");
            Assert.Equal(0, code);
            var e = JsonDocument.Parse(json).RootElement;
            var confusion = e.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32())
                .ToArray()).ToArray();
            var (precision, recall) = EvalCommand.PrecisionRecall(confusion);
            Assert.Equal(precision.Select(p => p ?? -1), e.GetProperty("precision").EnumerateArray().Select(v =>
                v.ValueKind == JsonValueKind.Null ? -1 : v.GetDouble()));
            Assert.Equal(3, e.GetProperty("recall").GetArrayLength());
            // --plot draws the same confusion matrix as a PNG.
            string png = Path.ChangeExtension(model, ".png");
            Assert.Equal(0, TestUtil.Cli("", "eval", "--model", model, "--plot", png).Code);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(png)[..4]);
            File.Delete(png);
        }
        finally
        {
            File.Delete(model);
        }
    }
}
