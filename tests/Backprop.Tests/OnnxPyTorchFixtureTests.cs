using System.Numerics;
using Backprop.Models;

namespace Backprop.Tests;

/// <summary>
/// Models exported by PyTorch (tests/Backprop.Tests/Data/onnx, written by make_fixtures.py with Debian's python3-torch):
/// imported here, they give PyTorch's logits, and their backward passes give PyTorch autograd's gradients of the mean
/// softmax cross-entropy for x and every parameter; a residual network and branches joined along the channels import as
/// graph networks, with PyTorch's logits and dx.
/// </summary>
public class OnnxPyTorchFixtureTests
{
    private static string Dir => Path.Combine(AppContext.BaseDirectory, "Data", "onnx");

    [Theory]
    [InlineData("mlp-float32")]
    [InlineData("mlp-float64")]
    [InlineData("cnn-float32")]
    [InlineData("cnn-float64")]
    [InlineData("resblock-float32")]
    [InlineData("resblock-float64")]
    [InlineData("branches-float32")]
    [InlineData("branches-float64")]
    public void Imported_pytorch_models_give_pytorchs_outputs_and_gradients(string name)
    {
        if (name.EndsWith("float32", StringComparison.Ordinal)) Check<float>(name, 1e-5);
        else Check<double>(name, 1e-12);
    }

    private static void Check<T>(string name, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, name + ".json")));
        var root = doc.RootElement;
        double[] Array(System.Text.Json.JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var shape = root.GetProperty("x_shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var x = new Tensor<T>(Array(root.GetProperty("x")).Select(T.CreateTruncating).ToArray(), shape);
        var t = new Tensor<T>(Array(root.GetProperty("t")).Select(T.CreateTruncating).ToArray(), shape[0]);
        var net = OnnxFile.Import<T>(Path.Combine(Dir, name + ".onnx"));
        net.Training = false;
        Close(Array(root.GetProperty("logits")), net.Forward(x), tol, "logits");
        double loss = double.CreateTruncating(net.ComputeLoss(x, t));
        Assert.True(Math.Abs(loss - root.GetProperty("loss").GetDouble()) <= tol * Math.Max(1, Math.Abs(loss)), $"loss {loss}");
        var dx = net.Backward();
        Close(Array(root.GetProperty("dx")), dx, tol, "dx");
        var grads = root.GetProperty("grads");
        int checkedCount = 0;
        if (grads.TryGetProperty("last.W", out _))
        {
            // A graph: torch's export folds each batch norm into the convolution before it, so the affine layer at the end is
            // the one whose parameters are torch's own.
            Assert.IsType<Backprop.Networks.GraphNetwork<T>>(net);
            var last = net.Layers.Last(l => l.Kind == "fully_connected");
            foreach (var p in last.Parameters) Close(Array(grads.GetProperty($"last.{p.Name}")), p.Grad, tol, $"last.{p.Name}");
            return;
        }
        Assert.IsType<Backprop.Networks.Sequential<T>>(net);
        for (int i = 0; i < net.Layers.Count; i++)
            foreach (var p in net.Layers[i].Parameters)
            {
                Close(Array(grads.GetProperty($"layers.{i}.{p.Name}")), p.Grad, tol, $"layers.{i}.{p.Name}");
                checkedCount++;
            }
        Assert.Equal(grads.EnumerateObject().Count(), checkedCount);
    }

    private static void Close<T>(double[] expected, Tensor<T> actual, double tol, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1e-3, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
        {
            double a = double.CreateTruncating(actual.Span[i]);
            Assert.True(Math.Abs(a - expected[i]) <= tol * Math.Max(scale, Math.Abs(expected[i])),
                $"{what}[{i}]: PyTorch {expected[i]}, Backprop {a}");
        }
    }
}
