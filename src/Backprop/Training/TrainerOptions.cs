using System.Text.Json.Serialization;

namespace Backprop.Training;

/// <summary>How a trainer goes through the data.</summary>
public sealed record TrainerOptions
{
    /// <summary>Mini-batch size.</summary>
    [JsonPropertyName("batch")] public int Batch { get; init; } = 100;

    /// <summary>The seed of the shuffling (the network's initialization has its own generator, given when it is built).</summary>
    [JsonPropertyName("seed")] public ulong Seed { get; init; }

    /// <summary>The learning rate per epoch (null: the optimizer's rate throughout).</summary>
    [JsonPropertyName("schedule")] public LearningRateSchedule? Schedule { get; init; }

    /// <summary>
    /// The largest global norm of the gradients, √(Σ over every parameter of Σ g²): above it every gradient is scaled by
    /// max_norm / norm before the update, as <c>torch.nn.utils.clip_grad_norm_</c> does (null: no clipping).
    /// </summary>
    [JsonPropertyName("clip_norm")] public double? ClipNorm { get; init; }

    /// <summary>Early stopping: the epochs without a lower validation loss after which training stops (null: never).</summary>
    [JsonPropertyName("patience")] public int? Patience { get; init; }

    /// <summary>Random crops and flips of training images (null: none).</summary>
    [JsonPropertyName("augment")] public Augmentation? Augment { get; init; }

    /// <summary>
    /// Data-parallel shards: each batch is cut into this many parts of consecutive rows, each part's gradients computed on
    /// its own (on one process, or spread over a <see cref="ProcessGroup"/>) and summed in part order, so that any number
    /// of processes gives the same weights for the same number of shards. Batch normalization's statistics and dropout's
    /// draws are per shard (each replica's in DistributedDataParallel). Null: the batch in one pass, as ever.
    /// </summary>
    [JsonPropertyName("shards")] public int? Shards { get; init; }

    /// <summary>Checks the fields.</summary>
    public void Validate()
    {
        if (Batch < 1) throw new InvalidInputException($"the batch size must be at least 1, not {Batch}");
        Schedule?.Validate();
        Augment?.Validate();
        if (Shards is < 1 or > 65536) throw new InvalidInputException($"the shards per batch must be from 1 to 65536, not {Shards}");
        if (Patience is < 1) throw new InvalidInputException($"the patience must be at least 1 epoch, not {Patience}");
        if (ClipNorm is { } c && !(c > 0 && double.IsFinite(c)))
            throw new InvalidInputException($"the gradient clipping norm must be a positive number, not {c}");
    }
}
