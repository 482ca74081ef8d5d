namespace Backprop.Tests;

/// <summary>
/// The public surface is what a user needs: kernels, readers and writers of formats, and the ONNX protobuf model stay
/// internal (the CLI, the tests and the benchmarks see them as friends). Only the GEMM's printable plan vocabulary
/// (<see cref="GemmPath"/>, <see cref="Kernels.GemmMethod"/>) and the thread setting (<see cref="Parallelism"/>) are public there.
/// </summary>
public class PublicSurfaceTests
{
    [Fact]
    public void No_kernel_or_io_plumbing_is_public()
    {
        var allowed = new[] { typeof(GemmPath), typeof(Kernels.GemmMethod), typeof(Parallelism), typeof(IO.SafeTensors) };
        string[] named = ["Gemm", "GemmPlan", "Im2Col", "FmaPeak", "Processor", "SpecialFunctions", "Elementwise", "WorkerPool",
            "AtomicFile", "BoundedFile", "TextInput", "JsonInput", "InputValue", "NumpyFormat", "Idx", "OnnxModel", "OnnxNode",
            "OnnxTensor", "OnnxAttribute", "OnnxValueInfo", "OnnxLimits"];
        // SafeTensors is the model file format's public reader; everything else in IO and Kernels is plumbing.
        var plumbing = typeof(Tensor<>).Assembly.GetExportedTypes()
            .Where(t => !allowed.Contains(t) && t.DeclaringType != typeof(IO.SafeTensors)
                && (t.Namespace is "Backprop.Kernels" or "Backprop.IO" || named.Contains(t.Name)))
            .Select(t => t.FullName).ToList();
        Assert.True(plumbing.Count == 0, "public plumbing: " + string.Join(", ", plumbing));
        var pooling = typeof(Layers.PoolingLayer<>);
        Assert.DoesNotContain(pooling.GetMethods(), m => m.Name is "Pool" or "Unpool" && (m.IsPublic || m.IsFamily));
    }
}
