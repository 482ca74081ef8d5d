using System.Numerics;
using Backprop.Layers;
using Backprop.Losses;

namespace Backprop.IO;

/// <summary>The layer and loss kinds by the names the command line and saved models use.</summary>
public static class Kinds
{
    /// <summary>Every activation kind.</summary>
    public static readonly string[] Activations = ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", "softplus"];

    /// <summary>Every loss kind.</summary>
    public static readonly string[] Losses = ["softmax_cross_entropy", "mse"];

    /// <summary>Every kind, canonical names.</summary>
    public static readonly string[] All = ["fully_connected", .. Activations, .. Losses];

    /// <summary>The canonical name of a kind or alias (<c>fc</c> and <c>affine</c> are <c>fully_connected</c>).</summary>
    /// <exception cref="InvalidInputException">Unknown kind.</exception>
    public static string Canonical(string? kind)
    {
        string k = (kind ?? "").Trim().ToLowerInvariant().Replace('-', '_');
        k = k switch
        {
            "fc" or "affine" or "linear" or "dense" => "fully_connected",
            "leakyrelu" => "leaky_relu",
            "swish" => "silu",
            "softmaxcrossentropy" or "softmax_with_loss" or "cross_entropy" => "softmax_cross_entropy",
            "mean_squared_error" => "mse",
            _ => k,
        };
        if (!All.Contains(k))
            throw new InvalidInputException($"unknown kind '{kind}'; expected one of {string.Join(", ", All)} (fully_connected is also fc or affine)");
        return k;
    }

    /// <summary>True for loss kinds.</summary>
    public static bool IsLoss(string kind) => Losses.Contains(kind);

    /// <summary>The hyper-parameters a kind takes.</summary>
    public static string[] Hyperparameters(string kind) => kind switch
    {
        "leaky_relu" or "elu" => ["alpha"],
        "gelu" => ["approximate"],
        "softplus" => ["beta", "threshold"],
        _ => [],
    };

    /// <summary>Creates an activation layer with hyper-parameters looked up by <paramref name="get"/> (null when absent).</summary>
    public static Layer<T> CreateActivation<T>(string kind, Func<string, InputValue?> get) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double Num(string name, double dflt) => get(name)?.ToNumber() ?? dflt;
        return kind switch
        {
            "relu" => new Relu<T>(),
            "sigmoid" => new Sigmoid<T>(),
            "tanh" => new Tanh<T>(),
            "silu" => new Silu<T>(),
            "leaky_relu" => new LeakyRelu<T>(Num("alpha", 0.01)),
            "elu" => new Elu<T>(Num("alpha", 1.0)),
            "softplus" => new Softplus<T>(Num("beta", 1.0), Num("threshold", 20.0)),
            "gelu" => new Gelu<T>(Approximate(get("approximate"))),
            _ => throw new InvalidInputException($"'{kind}' is not an activation; expected one of {string.Join(", ", Activations)}"),
        };
    }

    /// <summary>Creates a loss.</summary>
    public static Loss<T> CreateLoss<T>(string kind) where T : unmanaged, IFloatingPointIeee754<T> => kind switch
    {
        "softmax_cross_entropy" => new SoftmaxCrossEntropy<T>(),
        "mse" => new MeanSquaredError<T>(),
        _ => throw new InvalidInputException($"'{kind}' is not a loss; expected one of {string.Join(", ", Losses)}"),
    };

    private static bool Approximate(InputValue? v)
    {
        if (v is null) return false;
        return (v.Word ?? "").ToLowerInvariant() switch
        {
            "none" => false,
            "tanh" => true,
            _ => throw new InvalidInputException($"approximate must be \"none\" or \"tanh\", not {(v.Word is null ? "a number" : $"'{v.Word}'")}"),
        };
    }
}
