using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using Backprop.Data;

namespace Backprop.Training;

/// <summary>
/// Random changes to each training image, as torchvision's transforms make them: <c>RandomCrop(size, padding=P)</c> (the
/// image padded by P zeros on every side, then an H×W window at a random offset taken) and <c>RandomHorizontalFlip()</c>
/// (mirrored left to right with probability ½). For images (C, H, W) only; recorded in checkpoints, and drawn from the
/// trainer's generator, so a resumed run draws the same.
/// </summary>
public sealed record Augmentation
{
    /// <summary>Mirror each image left to right with probability ½.</summary>
    [JsonPropertyName("flip")] public bool HorizontalFlip { get; init; }

    /// <summary>Pad by this many zeros and crop back at a random offset (0: no crop).</summary>
    [JsonPropertyName("crop_padding")] public int CropPadding { get; init; }

    /// <summary>Checks the fields.</summary>
    public void Validate()
    {
        if (CropPadding is < 0 or > 1024) throw new InvalidInputException($"the crop padding must be from 0 to 1024, not {CropPadding}");
    }

    /// <summary>out[c, i, j] = in[c, i, W − 1 − j]: one image (C, H, W) mirrored, in place.</summary>
    public static void Flip<T>(Span<T> image, int channels, int height, int width)
    {
        for (int r = 0; r < channels * height; r++) image.Slice(r * width, width).Reverse();
    }

    /// <summary>out[c, i, j] = in[c, i + dy − P, j + dx − P], 0 outside the image: the window at (dy, dx) of the image padded by
    /// P zeros; <paramref name="scratch"/> holds a copy of the image.</summary>
    public static void Crop<T>(Span<T> image, Span<T> scratch, int channels, int height, int width, int padding, int dy, int dx)
        where T : unmanaged, INumberBase<T>
    {
        image.CopyTo(scratch);
        image.Clear();
        int oy = dy - padding, ox = dx - padding;
        for (int c = 0; c < channels; c++)
            for (int i = Math.Max(0, -oy); i < height && i + oy < height; i++)
            {
                int j0 = Math.Max(0, -ox), j1 = Math.Min(width, width - ox);
                if (j1 <= j0) continue;
                scratch.Slice((c * height + i + oy) * width + j0 + ox, j1 - j0).CopyTo(image.Slice((c * height + i) * width + j0, j1 - j0));
            }
    }
}

/// <summary>
/// Batches of a dataset for a training loop: an epoch's order shuffled by the given generator, batches of the given size
/// (the last one short), the features converted into the network's element type in buffers reused from batch to batch
/// (no copy per step beyond filling them), and the images augmented where asked. A batch's tensors are valid until the
/// next one is taken.
/// </summary>
public sealed class DataLoader<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Rng _rng;
    private int[] _order = [];
    private Tensor<T>? _x, _t;
    private T[] _scratch = [];

    /// <summary>A loader over <paramref name="data"/> drawing from <paramref name="rng"/>.</summary>
    public DataLoader(Dataset data, int batch, Rng rng, Augmentation? augment = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batch < 1) throw new InvalidInputException($"the batch size must be at least 1, not {batch}");
        augment?.Validate();
        if (augment is { HorizontalFlip: true } or { CropPadding: > 0 } && data.SampleShape.Length != 3)
            throw new InvalidInputException($"{data.Name}: augmentation is for images (C, H, W), not samples of shape " +
                $"({string.Join(", ", data.SampleShape)})");
        Data = data;
        BatchSize = batch;
        _rng = rng ?? throw new ArgumentNullException(nameof(rng));
        Augment = augment;
    }

    /// <summary>The dataset.</summary>
    public Dataset Data { get; }

    /// <summary>The batch size (the last batch of an epoch may be shorter).</summary>
    public int BatchSize { get; }

    /// <summary>The augmentation, or null.</summary>
    public Augmentation? Augment { get; }

    /// <summary>The batches of one epoch (a batch above the count is one batch of all).</summary>
    public int Batches => (int)(((long)Data.Count + BatchSize - 1) / BatchSize);

    /// <summary>The sample indices of the current epoch, in their shuffled order.</summary>
    public ReadOnlySpan<int> Order => _order;

    /// <summary>Shuffles the order for a new epoch.</summary>
    public void Shuffle()
    {
        if (_order.Length != Data.Count) _order = Enumerable.Range(0, Data.Count).ToArray();
        else for (int i = 0; i < _order.Length; i++) _order[i] = i;
        _rng.Shuffle(_order);
    }

    /// <summary>The indices of batch <paramref name="index"/> of the current epoch.</summary>
    public ReadOnlySpan<int> Indices(int index)
    {
        int lo = (int)((long)index * BatchSize);
        return _order.AsSpan(lo, Math.Min(BatchSize, Data.Count - lo));
    }

    /// <summary>Batch <paramref name="index"/> of the current epoch, augmented: inputs (B, …sample shape) and targets.</summary>
    public (Tensor<T> X, Tensor<T> T) Batch(int index) => Gather(Indices(index), augment: true);

    /// <summary>The samples at <paramref name="idx"/> as one batch, as they are (no augmentation).</summary>
    public (Tensor<T> X, Tensor<T> T) Gather(ReadOnlySpan<int> idx) => Gather(idx, augment: false);

    private (Tensor<T> X, Tensor<T> T) Gather(ReadOnlySpan<int> idx, bool augment)
    {
        var data = Data;
        int B = idx.Length, D = data.Dim;
        Span<int> shape = stackalloc int[1 + data.SampleShape.Length];   // (B, …sample shape), without allocating
        shape[0] = B;
        data.SampleShape.CopyTo(shape[1..]);
        var x = TensorBuffer.Ensure(ref _x, shape);
        Tensor<T> t = data.IsRegression ? TensorBuffer.Ensure(ref _t, B, data.TargetDim) : TensorBuffer.Ensure(ref _t, [B]);
        var xs = x.Span;
        var ts = t.Span;
        for (int i = 0; i < B; i++)
        {
            Copy(data.Features.AsSpan(idx[i] * D, D), xs.Slice(i * D, D));
            if (data.IsRegression) Copy(data.Targets.AsSpan(idx[i] * data.TargetDim, data.TargetDim), ts.Slice(i * data.TargetDim,
                data.TargetDim));
            else ts[i] = T.CreateTruncating(data.Labels[idx[i]]);
        }
        if (augment && Augment is { } a && (a.HorizontalFlip || a.CropPadding > 0))
        {
            int c = data.SampleShape[0], h = data.SampleShape[1], w = data.SampleShape[2];
            if (_scratch.Length < D) _scratch = new T[D];
            for (int i = 0; i < B; i++)
            {
                var image = xs.Slice(i * D, D);
                // Per sample, in this order: the crop's offset (two draws), then the flip (one).
                if (a.CropPadding > 0)
                    Augmentation.Crop(image, _scratch.AsSpan(0, D), c, h, w, a.CropPadding, _rng.Next(2 * a.CropPadding + 1),
                        _rng.Next(2 * a.CropPadding + 1));
                if (a.HorizontalFlip && _rng.NextDouble() < 0.5) Augmentation.Flip(image, c, h, w);
            }
        }
        return (x, t);
    }

    private static void Copy(ReadOnlySpan<float> src, Span<T> dst)
    {
        if (typeof(T) == typeof(float)) src.CopyTo(MemoryMarshal.Cast<T, float>(dst));
        else for (int j = 0; j < src.Length; j++) dst[j] = T.CreateTruncating(src[j]);
    }
}
