using System.Numerics;

namespace Backprop.Layers;

/// <summary>
/// What the per-feature and per-channel batch normalizations share: the checked settings, γ and β as parameters, the
/// running statistics as buffers (mean 0 and variance 1 to start) and the hyper-parameters they are saved with.
/// </summary>
public abstract class BatchNormalizationBase<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;

    /// <summary>
    /// γ = 1, β = 0 for <paramref name="count"/> features or channels (<paramref name="countName"/> names them in
    /// errors and hyper-parameters).
    /// </summary>
    private protected BatchNormalizationBase(int count, string countName, double momentum, double eps)
    {
        if (count < 1) throw new InvalidInputException($"{Name}: {countName} must be at least 1, not {count}");
        if (!(momentum >= 0 && momentum <= 1)) throw new InvalidInputException($"{Name}: momentum must be in [0, 1], not {momentum}");
        if (!(eps > 0) || !double.IsFinite(eps)) throw new InvalidInputException($"{Name}: eps must be a positive number, not {eps}");
        Momentum = momentum;
        Eps = eps;
        gamma = Tensor<T>.Zeros(count);
        gamma.Span.Fill(T.One);
        beta = Tensor<T>.Zeros(count);
        RunningMean = Tensor<T>.Zeros(count);
        RunningVar = Tensor<T>.Zeros(count);
        RunningVar.Span.Fill(T.One);
        _parameters = [new("gamma", gamma, Tensor<T>.Zeros(count), ParameterRole.NormScale),
            new("beta", beta, Tensor<T>.Zeros(count), ParameterRole.NormShift)];
        Buffers = [("running_mean", RunningMean), ("running_var", RunningVar)];
        Hyperparameters = new Dictionary<string, object> { [countName] = count, ["momentum"] = momentum, ["eps"] = eps };
    }

#pragma warning disable IDE1006
    /// <summary>The scale γ, one per feature or channel.</summary>
    public Tensor<T> gamma { get; }
    /// <summary>The shift β, one per feature or channel.</summary>
    public Tensor<T> beta { get; }
#pragma warning restore IDE1006

    /// <summary>Running mean, used in inference.</summary>
    public Tensor<T> RunningMean { get; }

    /// <summary>Running (biased) variance, used in inference.</summary>
    public Tensor<T> RunningVar { get; }

    /// <summary>The running-statistics momentum.</summary>
    public double Momentum { get; }

    /// <summary>The ε added to the variance.</summary>
    public double Eps { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <inheritdoc/>
    public override IReadOnlyList<(string Name, Tensor<T> Value)> Buffers { get; }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Hyperparameters { get; }

    /// <summary>∂L/∂γ from the last backward pass.</summary>
    private protected Span<T> GammaGrad => _parameters[0].Grad.Span;

    /// <summary>∂L/∂β from the last backward pass.</summary>
    private protected Span<T> BetaGrad => _parameters[1].Grad.Span;
}
