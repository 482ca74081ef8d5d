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

    /// <summary>Checks the fields.</summary>
    public void Validate()
    {
        if (Batch < 1) throw new InvalidInputException($"the batch size must be at least 1, not {Batch}");
        Schedule?.Validate();
        Augment?.Validate();
        if (Patience is < 1) throw new InvalidInputException($"the patience must be at least 1 epoch, not {Patience}");
        if (ClipNorm is { } c && !(c > 0 && double.IsFinite(c)))
            throw new InvalidInputException($"the gradient clipping norm must be a positive number, not {c}");
    }
}
