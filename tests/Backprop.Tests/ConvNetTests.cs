using System.Numerics;
using Backprop.Kernels;
using Backprop.Layers;

namespace Backprop.Tests;

[Collection("Global kernel settings")]   // sets Parallelism.MaxThreads, which the allocation tests read
public class ConvNetTests
{
    [Fact]
    public void The_textbooks_networks_have_the_textbooks_shapes_and_save_and_load()
    {
        foreach (var d in new[] { Backprop.Models.Architectures.SimpleConvNet(), Backprop.Models.Architectures.DeepConvNet() })
        {
            var net = d.Build<float>(new Rng(1));
            var x = TestUtil.Random<float>(new Random(2), 2, 1, 28, 28);
            var y = net.Infer(x);
            Assert.Equal([2, 10], y.Shape.ToArray());
            string path = Path.Combine(Path.GetTempPath(), $"bp-cnn-{Guid.NewGuid():N}.safetensors");
            try
            {
                Backprop.Models.ModelFile.Save(path, net);
                var loaded = Backprop.Models.ModelFile.Load<float>(path);
                Assert.Equal(y.Span.ToArray(), loaded.Infer(x).Span.ToArray());
            }
            finally { File.Delete(path); }
        }
        Assert.Equal(6, Backprop.Models.Architectures.DeepConvNet().Layers.Count(l => l.Kind == "convolution"));
    }

    // The ReLU run inside the convolution before it (Sequential's fusion) against the two layers run apart: outputs, loss,
    // dx and every gradient bit-identical, in training and inference, in both precisions, on 1 and 2 threads, and after a
    // plain SGD step (which runs the pair apart, updating as it goes) and an Adam step.
    [Fact]
    public void A_relu_fused_into_its_convolution_gives_the_same_bits()
    {
        Same<float>();
        Same<double>();

        static void Same<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            string dtype = typeof(T) == typeof(float) ? "float32" : "float64";
            var nets = new[] { Backprop.Models.Architectures.SimpleConvNet(dtype), Backprop.Models.Architectures.DeepConvNet(dtype) };
            foreach (var d in nets)
                foreach (int threads in new[] { 1, 2 })
                    foreach (bool sgd in new[] { false, true })
                    {
                        using var _ = TestUtil.Threads(threads);
                        var x = TestUtil.Random<T>(new Random(3), 7, 1, 28, 28);
                        var t = Tensor<T>.Zeros(7);
                        for (int i = 0; i < 7; i++) t.Span[i] = T.CreateTruncating(i % 10);
                        var runs = new List<T[]>[2];
                        foreach (bool fuse in new[] { true, false })
                        {
                            var net = (Backprop.Networks.Sequential<T>)d.Build<T>(new Rng(1));
                            net.FuseRelu = fuse;
                            runs[fuse ? 0 : 1] = Trace(net, x, t, sgd);
                        }
                        Assert.Equal(runs[1].Count, runs[0].Count);
                        for (int i = 0; i < runs[0].Count; i++) Assert.Equal(runs[1][i], runs[0][i]);
                    }
        }
    }

    // What a training step of the network shows, in order: the loss, dx, every gradient, the parameters after an SGD
    // (lr 0.1) or Adam step, and the inference outputs.
    private static List<T[]> Trace<T>(Backprop.Networks.Sequential<T> net, Tensor<T> x, Tensor<T> t, bool sgd)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        List<T[]> got = [[net.ComputeLoss(x, t)], net.Backward(T.One).Span.ToArray()];
        got.AddRange(net.Parameters.Select(p => p.Grad.Span.ToArray()));
        Backprop.Optimizers.Optimizer<T> opt = sgd
            ? new Backprop.Optimizers.Sgd<T>(net.Parameters, 0.1)
            : new Backprop.Optimizers.Adam<T>(net.Parameters);
        net.ComputeLoss(x, t);
        opt.Step(net);
        got.AddRange(net.Parameters.Select(p => p.Value.Span.ToArray()));
        got.Add(net.Infer(x).Span.ToArray());
        return got;
    }

    // A pooling layer after a ReLU after a convolution, run inside the convolution chunk by chunk (Sequential's fusion),
    // against the three layers run apart and against the ReLU alone fused: loss, dx, every gradient, the parameters after
    // an Adam and a plain SGD step (which runs the layers apart, updating as it goes) and the inference outputs, bit for
    // bit. Max pooling with overlapping, padded and strided windows (whose zeros from the ReLU tie) and 2×2 pairs, average
    // pooling with padding; im2col (5×5) and shifted (3×3, pad 1) convolutions, one of them the network's first layer
    // and one with dx; both precisions, 1 and 2 threads, a batch that chunks unevenly.
    [Fact]
    public void A_pooling_layer_fused_into_its_convolution_gives_the_same_bits()
    {
        Same<float>();
        Same<double>();

        static void Same<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            var pools = new (int H, int W, int Stride, int Pad, bool Max)[] { (3, 3, 2, 1, true), (2, 2, 2, 0, true), (2, 3, 3, 0, true),
                (3, 2, 2, 1, false) };
            foreach (var (ph, pw, ps, pp, max) in pools)
                foreach (int k in new[] { 5, 3 })
                    foreach (int threads in new[] { 1, 2 })
                        foreach (bool sgd in new[] { false, true })
                        {
                            using var _ = TestUtil.Threads(threads);
                            var x = TestUtil.Random<T>(new Random(5), 9, 2, 15, 13);
                            var t = Tensor<T>.Zeros(9);
                            for (int i = 0; i < 9; i++) t.Span[i] = T.CreateTruncating(i % 3);
                            int pad = k == 3 ? 1 : 0, oh = 15 + 2 * pad - k + 1, ow = 13 + 2 * pad - k + 1;
                            int poh = (oh + 2 * pp - ph) / ps + 1, pow = (ow + 2 * pp - pw) / ps + 1;
                            var runs = new List<T[]>[3];
                            for (int mode = 0; mode < 3; mode++)
                            {
                                PoolingLayer<T> pool = max ? new MaxPooling<T>(ph, pw, ps, pp) : new AveragePooling<T>(ph, pw, ps, pp);
                                var net = new Backprop.Networks.Sequential<T>([
                                    new Convolution<T>(6, 2, k, k, pad: pad, rng: new Rng(2)), new Relu<T>(), pool,
                                    new Convolution<T>(4, 6, 3, 3, pad: 1, rng: new Rng(3)), new Relu<T>(), new MaxPooling<T>(2, 2, 2),
                                    new FullyConnected<T>(4 * (poh / 2) * (pow / 2), 3, rng: new Rng(4))],
                                    new Backprop.Losses.SoftmaxCrossEntropy<T>())
                                { FuseRelu = mode > 0, FusePool = mode > 1 };
                                runs[mode] = Trace(net, x, t, sgd);
                            }
                            if (max)
                            {
                                // Fused max pooling keeps none of the convolution's output: the ReLU's own backward pass
                                // refuses to run on it rather than read stale values.
                                var relu = new Relu<T>();
                                var net = new Backprop.Networks.Sequential<T>([new Convolution<T>(6, 2, k, k, pad: pad, rng: new Rng(2)),
                                    relu, new MaxPooling<T>(ph, pw, ps, pp)], new Backprop.Losses.MeanSquaredError<T>());
                                net.Forward(x);
                                Assert.Throws<InvalidOperationException>(() => relu.Backward(Tensor<T>.Zeros(9, 6, oh, ow)));
                            }
                            for (int mode = 1; mode < 3; mode++)
                            {
                                Assert.Equal(runs[0].Count, runs[mode].Count);
                                for (int i = 0; i < runs[0].Count; i++) Assert.Equal(runs[0][i], runs[mode][i]);
                            }
                        }
        }
    }

    // A one-channel 3×3 convolution after another, each with a ReLU (both in the direct form on AVX-512, the second one with
    // dx): the ReLU fused into each gives the same bits as apart, and the direct form agrees with the products.
    [Fact]
    public void A_backward_pass_follows_the_fusion_its_forward_pass_ran_even_if_the_setting_changed_between()
    {
        Tensor<double>[] Run(bool changeBetween)
        {
            var net = new Backprop.Networks.Sequential<double>([new Convolution<double>(3, 1, 3, 3, rng: new Rng(2)), new Relu<double>(),
                new MaxPooling<double>(2, 2), new FullyConnected<double>(3 * 3 * 3, 4, rng: new Rng(3))],
                new Backprop.Losses.SoftmaxCrossEntropy<double>());
            var x = TestUtil.Random<double>(new Random(4), 2, 1, 8, 8);
            net.ComputeLoss(x, new Tensor<double>([1.0, 3.0], 2));
            if (changeBetween) net.FuseRelu = false;
            return [net.Backward().Clone(), .. net.Parameters.Select(p => p.Grad.Clone())];
        }
        var expected = Run(changeBetween: false);
        var actual = Run(changeBetween: true);   // used to look the groups up in the new, unfused plan
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i].Span.ToArray(), actual[i].Span.ToArray());
    }

    [Fact]
    public void A_direct_convolution_inside_a_network_fuses_its_relu_and_matches_the_products()
    {
        Same<float>(1e-5);
        Same<double>(1e-12);

        static void Same<T>(double tol) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var x = TestUtil.Random<T>(new Random(7), 5, 1, 11, 17);
            var t = Tensor<T>.Zeros(5);
            for (int i = 0; i < 5; i++) t.Span[i] = T.CreateTruncating(i % 3);
            var runs = new List<List<T[]>>();
            foreach (bool? direct in new bool?[] { null, false })
                foreach (bool fuse in new[] { true, false })
                {
                    // Direct where it fits, or the products over shifted planes.
                    var form = direct is null ? ConvolutionForm.Direct : ConvolutionForm.Shifted;
                    var first = new Convolution<T>(1, 1, 3, 3, pad: 1, rng: new Rng(2)) { ForceForm = form };
                    var second = new Convolution<T>(4, 1, 3, 3, pad: 1, rng: new Rng(3)) { ForceForm = form };
                    var net = new Backprop.Networks.Sequential<T>([first, new Relu<T>(), second, new Relu<T>(),
                        new FullyConnected<T>(4 * 11 * 17, 3, rng: new Rng(4))], new Backprop.Losses.SoftmaxCrossEntropy<T>())
                    {
                        FuseRelu = fuse,
                    };
                    Assert.Equal(direct is null && DirectConvolution.Available, second.PlanFor(x).Form == ConvolutionForm.Direct);
                    List<T[]> got = [[net.ComputeLoss(x, t)], net.Backward(T.One).Span.ToArray()];
                    got.AddRange(net.Parameters.Select(q => q.Grad.Span.ToArray()));
                    runs.Add(got);
                }
            for (int i = 0; i < runs[0].Count; i++)
            {
                Assert.Equal(runs[1][i], runs[0][i]);   // fused and apart, direct form
                Assert.Equal(runs[3][i], runs[2][i]);   // fused and apart, products
                TestUtil.Close(Doubles(runs[2][i]), Doubles(runs[0][i]), tol * 10, what: $"result {i}");
            }
        }

        static double[] Doubles<T>(T[] values) where T : unmanaged, IFloatingPointIeee754<T> =>
            values.Select(v => double.CreateChecked(v)).ToArray();
    }

    [SkippableFact]
    public void A_short_simple_convnet_run_on_fashion_mnist_clears_a_floor()
    {
        Skip.IfNot(File.Exists(Path.Combine(Backprop.Data.Datasets.FashionMnistDir, "train-images-idx3-ubyte.gz")),
            $"Fashion-MNIST is not installed in {Backprop.Data.Datasets.FashionMnistDir} (apt-get install dataset-fashion-mnist)");
        var (all, test) = Backprop.Data.Datasets.LoadIdxFolder(Backprop.Data.Datasets.FashionMnistDir, "Fashion-MNIST",
            Backprop.Data.Datasets.FashionClasses);
        Assert.Equal([1, 28, 28], all.SampleShape);
        var train = all.Subset(Enumerable.Range(0, 1200).ToArray(), "train");
        var few = test.Subset(Enumerable.Range(0, 1000).ToArray(), "test");
        var net = Backprop.Models.Architectures.SimpleConvNet().Build<float>(new Rng(0));
        var trainer = new Backprop.Training.Trainer<float>(net,
            new Backprop.Optimizers.OptimizerSettings { Kind = Backprop.Optimizers.OptimizerKind.Adam, LearningRate = 0.001 },
            new Backprop.Training.TrainerOptions { Batch = 100 });
        var r = trainer.RunEpoch(train, null, few);
        Assert.True(r.TestAccuracy > 0.5, $"test accuracy after one epoch of 1200 images: {r.TestAccuracy}");
    }
}
