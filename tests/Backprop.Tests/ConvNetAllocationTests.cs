namespace Backprop.Tests;

/// <summary>
/// Allocation of a convolutional network's step, apart from the other tests: while another test holds the worker pool,
/// a job's parts all run on the caller, whose per-thread packing buffers may then grow once (so one of three windows of
/// steps must be clean).
/// </summary>
[Collection("Global kernel settings")]
public class ConvNetAllocationTests
{
    [Theory]
    [InlineData("simple_convnet")]
    [InlineData("deep_convnet")]
    public void A_training_step_of_the_textbooks_convolutional_networks_allocates_nothing(string name)
    {
        foreach (int threads in new[] { 1, 2 })
        {
            using (TestUtil.Threads(threads))
            {
                var net = Backprop.Models.Architectures.Named(name)!.Build<float>(new Rng(3));
                var optimizer = new Backprop.Optimizers.Adam<float>(net.Parameters);
                var x = TestUtil.Random<float>(new Random(1), 20, 1, 28, 28);
                var t = Tensor<float>.Zeros(20);
                for (int i = 0; i < 20; i++) t[i] = i % 10;
                net.Training = true;
                for (int i = 0; i < 3; i++) { net.ComputeLoss(x, t); optimizer.Step(net); }   // buffers sized, code jitted
                // A step that allocates does so in every window; a buffer that grew once (its job ran on the caller while
                // another test held the pool) does not again. Up to three windows of five steps, one of them clean.
                var windows = new List<long>();
                for (int w = 0; w < 3 && (windows.Count == 0 || windows[^1] != 0); w++)
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    for (int i = 0; i < 5; i++) { net.ComputeLoss(x, t); optimizer.Step(net); }
                    windows.Add(GC.GetAllocatedBytesForCurrentThread() - before);
                }
                Assert.True(windows[^1] == 0, $"{name} on {threads} threads allocated {string.Join(", ", windows)} bytes in " +
                    "windows of 5 steps");
            }
        }
    }
}
