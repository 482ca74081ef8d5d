using System.Text.Json.Serialization;

namespace Backprop.Training;

/// <summary>
/// How the learning rate changes from epoch to epoch, a pure function of the epoch (so a resumed run continues on the same
/// rates), each the formula of the <c>torch.optim.lr_scheduler</c> class named, stepped once per epoch:
/// <list type="bullet">
/// <item><c>constant</c>: η_e = η.</item>
/// <item><c>step</c> (StepLR): η_e = η·γ^⌊e / step_size⌋.</item>
/// <item><c>exponential</c> (ExponentialLR): η_e = η·γ^e.</item>
/// <item><c>cosine</c> (CosineAnnealingLR's closed form): η_e = η_min + (η − η_min)·(1 + cos(π·e / T_max))/2.</item>
/// </list>
/// With <see cref="Warmup"/> W &gt; 0 the rate is also multiplied, as ChainedScheduler multiplies LinearLR's factor in,
/// by LinearLR(start_factor = <see cref="WarmupStart"/>, end_factor = 1, total_iters = W): f_e = s + (1 − s)·min(e, W)/W.
/// e counts epochs from 0.
/// </summary>
public sealed record LearningRateSchedule
{
    /// <summary>The kinds: constant, step, exponential, cosine.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["constant", "step", "exponential", "cosine"];

    /// <summary>constant, step, exponential or cosine.</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = "constant";

    /// <summary>step: the epochs between decays.</summary>
    [JsonPropertyName("step_size")] public int StepSize { get; init; } = 10;

    /// <summary>step and exponential: the factor per decay.</summary>
    [JsonPropertyName("gamma")] public double Gamma { get; init; } = 0.1;

    /// <summary>cosine: the epochs of the half cosine (T_max).</summary>
    [JsonPropertyName("t_max")] public int TMax { get; init; } = 100;

    /// <summary>cosine: the rate it ends at (η_min).</summary>
    [JsonPropertyName("eta_min")] public double EtaMin { get; init; }

    /// <summary>Epochs of linear warm-up (0: none).</summary>
    [JsonPropertyName("warmup")] public int Warmup { get; init; }

    /// <summary>The warm-up's first factor (LinearLR's start_factor; torch's default 1/3).</summary>
    [JsonPropertyName("warmup_start")] public double WarmupStart { get; init; } = 1.0 / 3;

    /// <summary>Checks every field.</summary>
    public void Validate()
    {
        if (!Kinds.Contains(Kind)) throw new InvalidInputException($"the schedule must be one of {string.Join(", ", Kinds)}, not '{Kind}'");
        if (StepSize < 1) throw new InvalidInputException($"the schedule's step size must be at least 1 epoch, not {StepSize}");
        if (!(Gamma > 0 && Gamma <= 1)) throw new InvalidInputException($"the schedule's gamma must be in (0, 1], not {Gamma}");
        if (TMax < 1) throw new InvalidInputException($"the cosine schedule's T_max must be at least 1 epoch, not {TMax}");
        if (!(EtaMin >= 0) || !double.IsFinite(EtaMin)) throw new InvalidInputException($"eta_min must be 0 or more, not {EtaMin}");
        if (Warmup < 0) throw new InvalidInputException($"the warm-up must be 0 epochs or more, not {Warmup}");
        if (!(WarmupStart > 0 && WarmupStart <= 1)) throw new InvalidInputException($"the warm-up's start factor must be in (0, 1]");
    }

    /// <summary>The rate of epoch <paramref name="epoch"/> (from 0) for a base rate <paramref name="rate"/>.</summary>
    public double Rate(double rate, int epoch)
    {
        double r = Kind switch
        {
            "step" => rate * Math.Pow(Gamma, epoch / StepSize),
            "exponential" => rate * Math.Pow(Gamma, epoch),
            "cosine" => EtaMin + (rate - EtaMin) * (1 + Math.Cos(Math.PI * epoch / TMax)) / 2,
            _ => rate,
        };
        if (Warmup > 0) r *= WarmupStart + (1 - WarmupStart) * Math.Min(epoch, Warmup) / Warmup;
        return r;
    }
}
