using System.Numerics;
using System.Text.Json.Serialization;

namespace Backprop.Layers;

/// <summary>How the weights of a fully connected layer are drawn; biases start at 0.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Initialization>))]
public enum Initialization
{
    /// <summary>He: N(0, 2/n_in), for ReLU-like activations.</summary>
    [JsonStringEnumMemberName("he")] He,
    /// <summary>Xavier (as the textbook uses it): N(0, 1/n_in), for sigmoid and tanh.</summary>
    [JsonStringEnumMemberName("xavier")] Xavier,
    /// <summary>N(0, std²) with a fixed std (the textbook's 0.01 by default).</summary>
    [JsonStringEnumMemberName("normal")] Normal,
}

/// <summary>Weight initializers, seeded through <see cref="Rng"/>.</summary>
public static class Initializer
{
    /// <summary>The standard deviation for a layer with <paramref name="fanIn"/> inputs.</summary>
    public static double Std(Initialization kind, int fanIn, double normalStd = 0.01) => kind switch
    {
        Initialization.He => Math.Sqrt(2.0 / fanIn),
        Initialization.Xavier => Math.Sqrt(1.0 / fanIn),
        _ => normalStd,
    };

    /// <summary>Fills W (N×M) with N(0, std²) draws.</summary>
    /// <remarks>The fan-in is W's first dimension (N of a fully connected layer) unless <paramref name="fanIn"/> says otherwise
    /// (C·FH·FW of a convolution's filters).</remarks>
    public static void Fill<T>(Tensor<T> W, Initialization kind, Rng rng, double normalStd = 0.01, int? fanIn = null) where T : unmanaged,
        IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(W);
        ArgumentNullException.ThrowIfNull(rng);
        double std = Std(kind, fanIn ?? W.Dim(0), normalStd);
        var s = W.Span;
        for (int i = 0; i < s.Length; i++) s[i] = T.CreateTruncating(rng.NextGaussian() * std);
    }
}
