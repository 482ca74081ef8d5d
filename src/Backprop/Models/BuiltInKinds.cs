using Backprop.Layers;

namespace Backprop.Models;

/// <summary>
/// The registry entries of the built-in layers, one line each. A kind's summary, hyper-parameters, factory, ONNX forms
/// and samples live in its own file under <c>Models/LayerKinds/</c>; an activation that is one ONNX operator both ways
/// needs no file of its own: its line here says everything.
/// </summary>
internal static class BuiltIn
{
    internal const int MaxSize = 1 << 24;

    /// <summary>The most weights one fully connected layer may have: 2²⁸ (1 GiB in float32), refused before anything is
    /// allocated.</summary>
    internal const long MaxWeights = 1L << 28;

    public static IEnumerable<LayerKind> Layers() =>
    [
        new FullyConnectedKind(),
        new ActivationKind("y = max(x, 0); dx = dout·[x > 0]", typeof(Relu<>), _ => new Relu<float>(), _ => new Relu<double>(),
            onnxOperator: "Relu"),
        new ActivationKind("y = 1/(1 + e⁻ˣ); dx = dout·y·(1 − y)", typeof(Sigmoid<>), _ => new Sigmoid<float>(),
            _ => new Sigmoid<double>(), onnxOperator: "Sigmoid"),
        new ActivationKind("y = tanh x; dx = dout·(1 − y²)", typeof(Tanh<>), _ => new Tanh<float>(), _ => new Tanh<double>(),
            onnxOperator: "Tanh"),
        new LeakyReluKind(),
        new EluKind(),
        new GeluKind(),
        new SiluKind(),
        new SoftplusKind(),
        new BatchNormKind(perChannel: false),
        new BatchNormKind(perChannel: true),
        new LayerNormKind(),
        new DropoutKind(),
        new ConvolutionKind(),
        new PoolingKind("y = the largest x of each pool_h×pool_w window (padding never wins)", typeof(MaxPooling<>), ["pooling"],
            "MaxPool"),
        new PoolingKind("y = the mean of each pool_h×pool_w window (padding counted as zeros)", typeof(AveragePooling<>), [],
            "AveragePool"),
        new GlobalAveragePoolingKind(),
        new FlattenKind(),
    ];

    internal static Hyperparameter Size(string name, string description) =>
        new(name, HyperparameterType.Integer, null, description) { Min = 1, Max = MaxSize };

    internal static Hyperparameter Number(string name, double dflt, string description) =>
        new(name, HyperparameterType.Number, dflt, description);

    internal static Hyperparameter Count(string name, int dflt, int min, string description) =>
        new(name, HyperparameterType.Integer, dflt, description) { Min = min, Max = 1 << 16 };

    // How fresh weights are drawn, for the kinds that have them; creation-only, so not part of a saved layer.
    internal static Hyperparameter[] InitOptions(string fanIn) =>
    [
        new("init", HyperparameterType.Choice, "he",
            $"how W is drawn when not given: He N(0, 2/n), Xavier N(0, 1/n) with fan-in n = {fanIn}, " +
            "or N(0, init_std²)") { Choices = ["he", "xavier", "normal"], CreationOnly = true },
        new("init_std", HyperparameterType.Number, 0.01, "the standard deviation of the normal initialization")
            { Min = 0, MinExclusive = true, CreationOnly = true },
    ];
}
