using Backprop.Data;
using Backprop.Models;
using Backprop.Optimizers;
using Backprop.Training;

namespace Backprop.Tests;

/// <summary>
/// The data loader: every sample once an epoch, the last batch short, the element type converted; the crop and the flip
/// against their definitions (torchvision's RandomCrop with zero padding, RandomHorizontalFlip), on awkward sizes; and a run
/// with augmentation resumed from a checkpoint bit-identically.
/// </summary>
public sealed class DataLoaderTests
{
    [Fact]
    public void An_epoch_gives_every_sample_once_the_last_batch_short_and_converts_to_float64()
    {
        var data = new Dataset("seven", [.. Enumerable.Range(0, 14).Select(i => i + 0.5f)], [0, 1, 0, 1, 0, 1, 0], 2, 2);
        var loader = new DataLoader<double>(data, 3, new Rng(9));
        Assert.Equal(3, loader.Batches);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            loader.Shuffle();
            var seen = new List<int>();
            for (int b = 0; b < loader.Batches; b++)
            {
                var (x, t) = loader.Batch(b);
                Assert.Equal(b < 2 ? 3 : 1, x.Dim(0));
                var idx = loader.Indices(b).ToArray();
                for (int i = 0; i < idx.Length; i++)
                {
                    Assert.Equal(idx[i] * 2 + 0.5, x[i, 0]);
                    Assert.Equal(data.Labels[idx[i]], t[i]);
                }
                seen.AddRange(idx);
            }
            Assert.Equal(Enumerable.Range(0, 7), seen.Order());
        }
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(3, 5, 7, 2)]
    [InlineData(2, 17, 3, 4)]
    public void Crop_and_flip_match_their_definitions(int channels, int height, int width, int padding)
    {
        var rng = new Random(channels * 100 + height);
        var image = Enumerable.Range(0, channels * height * width).Select(_ => rng.NextDouble()).ToArray();
        double At(int c, int i, int j) => i < 0 || j < 0 || i >= height || j >= width ? 0 : image[(c * height + i) * width + j];
        for (int dy = 0; dy <= 2 * padding; dy++)
            for (int dx = 0; dx <= 2 * padding; dx++)
            {
                var cropped = (double[])image.Clone();
                Augmentation.Crop<double>(cropped, new double[cropped.Length], channels, height, width, padding, dy, dx);
                for (int c = 0; c < channels; c++)
                    for (int i = 0; i < height; i++)
                        for (int j = 0; j < width; j++)
                            Assert.Equal(At(c, i + dy - padding, j + dx - padding), cropped[(c * height + i) * width + j]);
            }
        var flipped = (double[])image.Clone();
        Augmentation.Flip<double>(flipped, channels, height, width);
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < height; i++)
                for (int j = 0; j < width; j++) Assert.Equal(At(c, i, width - 1 - j), flipped[(c * height + i) * width + j]);
    }

    [Fact]
    public void Augmented_training_resumes_bit_identically_and_augments_only_images()
    {
        var rng = new Random(3);
        var images = new Dataset("dots", [.. Enumerable.Range(0, 40 * 36).Select(_ => (float)rng.NextDouble())],
            [.. Enumerable.Range(0, 40).Select(i => i % 2)], 36, 2).WithSampleShape(1, 6, 6);
        var options = new TrainerOptions { Batch = 8, Seed = 2, Augment = new Augmentation { HorizontalFlip = true, CropPadding = 2 } };
        Trainer<float> Make() => new(new MlpSpec { Sizes = [36, 8, 2] }.Build<float>(new Rng(1)),
            new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.01 }, options);
        var straight = Make();
        for (int e = 0; e < 4; e++) straight.RunEpoch(images, null);
        var first = Make();
        for (int e = 0; e < 2; e++) first.RunEpoch(images, null);
        string path = Path.Combine(Path.GetTempPath(), $"bp-augment-{Environment.ProcessId}.safetensors");
        try
        {
            first.SaveCheckpoint(path);
            var resumed = Trainer<float>.LoadCheckpoint(path);
            Assert.Equal(options.Augment, resumed.Options.Augment);
            for (int e = 0; e < 2; e++) resumed.RunEpoch(images, null);
            for (int p = 0; p < straight.Net.Parameters.Count; p++)
                Assert.Equal(straight.Net.Parameters[p].Value.Span.ToArray(), resumed.Net.Parameters[p].Value.Span.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
        // Without augmentation the run differs (the draws did something).
        var plain = new Trainer<float>(new MlpSpec { Sizes = [36, 8, 2] }.Build<float>(new Rng(1)),
            new OptimizerSettings { Kind = OptimizerKind.Adam, LearningRate = 0.01 }, options with { Augment = null });
        for (int e = 0; e < 4; e++) plain.RunEpoch(images, null);
        Assert.NotEqual(straight.Net.Parameters[0].Value.Span.ToArray(), plain.Net.Parameters[0].Value.Span.ToArray());
        var flat = new Dataset("flat", new float[8], [0, 1, 0, 1], 2, 2);
        Assert.Throws<InvalidInputException>(() => new DataLoader<float>(flat, 2, new Rng(0), options.Augment));
    }
}
