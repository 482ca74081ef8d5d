using System.Numerics;
using Backprop.Layers;

namespace Backprop.Models;

/// <summary>The registry entries of the built-in layers.</summary>
internal static class BuiltIn
{
    internal const int MaxSize = 1 << 24;

    /// <summary>The most weights one fully connected layer may have: 2²⁸ (1 GiB in float32), refused before anything is
    /// allocated.</summary>
    internal const long MaxWeights = 1L << 28;

    private static Hyperparameter Size(string name, string description) =>
        new(name, HyperparameterType.Integer, null, description) { Min = 1, Max = MaxSize };

    private static Hyperparameter Number(string name, double dflt, string description) =>
        new(name, HyperparameterType.Number, dflt, description);

    public static IEnumerable<LayerKind> Layers() =>
    [
        new FullyConnectedKind(),
        new Activation("y = max(x, 0); dx = dout·[x > 0]", typeof(Relu<>), _ => new Relu<float>(), _ => new Relu<double>()),
        new Activation("y = 1/(1 + e⁻ˣ); dx = dout·y·(1 − y)", typeof(Sigmoid<>), _ => new Sigmoid<float>(), _ =>
            new Sigmoid<double>()),
        new Activation("y = tanh x; dx = dout·(1 − y²)", typeof(Tanh<>), _ => new Tanh<float>(), _ => new Tanh<double>()),
        new Activation("y = x if x > 0 else alpha·x", typeof(LeakyRelu<>),
            c => new LeakyRelu<float>(c.Number("alpha")), c => new LeakyRelu<double>(c.Number("alpha")),
            [Number("alpha", 0.01, "the slope for x ≤ 0")], ["leakyrelu"]),
        new Activation("y = x if x > 0 else alpha·(eˣ − 1)", typeof(Elu<>),
            c => new Elu<float>(c.Number("alpha")), c => new Elu<double>(c.Number("alpha")),
            [Number("alpha", 1.0, "the scale of the negative part")]),
        new Activation("y = x·Φ(x) (exact), or its tanh approximation", typeof(Gelu<>),
            c => new Gelu<float>(c.Choice("approximate") == "tanh"), c => new Gelu<double>(c.Choice("approximate") == "tanh"),
            [new Hyperparameter("approximate", HyperparameterType.Choice, "none",
                "the exact erf form (none) or the tanh approximation") { Choices = ["none", "tanh"] }]),
        new Activation("y = x·σ(x)", typeof(Silu<>), _ => new Silu<float>(), _ => new Silu<double>(), aliases: ["swish"]),
        new Activation("y = log(1 + e^(beta·x))/beta, x where beta·x > threshold", typeof(Softplus<>),
            c => new Softplus<float>(c.Number("beta"), c.Number("threshold")), c =>
                new Softplus<double>(c.Number("beta"), c.Number("threshold")),
            [Number("beta", 1.0, "the sharpness") with { Min = 0, MinExclusive = true }, Number("threshold", 20.0,
                "above beta·x > threshold, y = x")]),
        new BatchNormKind(),
        new BatchNorm2dKind(),
        new DropoutKind(),
        new ConvolutionKind(),
        new PoolingKind("y = the largest x of each pool_h×pool_w window (padding never wins)", typeof(MaxPooling<>),
            ["pooling"]),
        new PoolingKind("y = the mean of each pool_h×pool_w window (padding counted as zeros)", typeof(AveragePooling<>),
            []),
    ];

    // How fresh weights are drawn, for the kinds that have them; creation-only, so not part of a saved layer.
    private static Hyperparameter[] InitOptions(string fanIn) =>
    [
        new("init", HyperparameterType.Choice, "he",
            $"how W is drawn when not given: He N(0, 2/n), Xavier N(0, 1/n) with fan-in n = {fanIn}, " +
            "or N(0, init_std²)") { Choices = ["he", "xavier", "normal"], CreationOnly = true },
        new("init_std", HyperparameterType.Number, 0.01, "the standard deviation of the normal initialization")
            { Min = 0, MinExclusive = true, CreationOnly = true },
    ];

    private static Hyperparameter Count(string name, int dflt, int min, string description) =>
        new(name, HyperparameterType.Integer, dflt, description) { Min = min, Max = 1 << 16 };

    private sealed class ConvolutionKind() : LayerKind(
        "y = x ⋆ W + b: x (N, C, H, W), W (FN, C, FH, FW), b (FN,) → (N, FN, OH, OW), OH = (H + 2·pad − FH)/stride + 1",
            typeof(Convolution<>))
    {
        public override IReadOnlyList<string> Aliases => ["conv"];

        public override IReadOnlyList<Hyperparameter> Hyperparameters =>
        [
            Size("filters", "FN, the filters (output channels)"),
            Size("channels", "C, the input channels"),
            Size("kernel_h", "FH, the filter height"),
            Size("kernel_w", "FW, the filter width"),
            Count("stride", 1, 1, "the step between windows"),
            Count("pad", 0, 0, "the zeros added on every side"),
            .. InitOptions("C·FH·FW"),
        ];

        public override IReadOnlyList<string> Tensors => ["W", "b"];

        public override IReadOnlyList<(string Name, int[] Shape)>? TensorShapes(LayerConfig c) =>
            c.Has("filters") && c.Has("channels") && c.Has("kernel_h") && c.Has("kernel_w")
                ? [("W", [c.Int("filters"), c.Int("channels"), c.Int("kernel_h"), c.Int("kernel_w")]), ("b", [c.Int("filters")])]
                : null;

        public override Layer<T> Create<T>(LayerConfig c)
        {
            var W = c.Tensor<T>("W");
            var b = c.Tensor<T>("b");
            int stride = c.Int("stride"), pad = c.Int("pad");
            if (W is not null || b is not null)
            {
                if (W is null || b is null) throw new InvalidInputException($"{c.Where} ({Name}): W and b must be given together");
                return new Convolution<T>(W, b, stride, pad);
            }
            long weights = (long)c.Int("filters") * c.Int("channels") * c.Int("kernel_h") * c.Int("kernel_w");
            if (weights > MaxWeights) throw new InvalidInputException($"{c.Where} ({Name}): {weights} weights exceed the limit " +
                $"of {MaxWeights}");
            var init = MlpSpec.ParseInit(c.Choice("init"));
            return new Convolution<T>(c.Int("filters"), c.Int("channels"), c.Int("kernel_h"), c.Int("kernel_w"), stride, pad, init, c.Rng,
                c.Number("init_std"));
        }
    }

    private sealed class PoolingKind(string summary, Type type, string[] aliases) : LayerKind(summary, type)
    {
        public override IReadOnlyList<string> Aliases => aliases;

        public override IReadOnlyList<Hyperparameter> Hyperparameters =>
        [
            Size("pool_h", "the window's height"),
            Size("pool_w", "the window's width"),
            Count("stride", 2, 1, "the step between windows"),
            Count("pad", 0, 0, "the padding on every side (below pool_h and pool_w)"),
        ];

        public override Layer<T> Create<T>(LayerConfig c) => Name == "max_pooling"
            ? new MaxPooling<T>(c.Int("pool_h"), c.Int("pool_w"), c.Int("stride"), c.Int("pad"))
            : new AveragePooling<T>(c.Int("pool_h"), c.Int("pool_w"), c.Int("stride"), c.Int("pad"));
    }

    private sealed class FullyConnectedKind() : LayerKind("y = x·W + b, x (B, …) flattened to (B, N), W (N, M), b (M,)",
        typeof(FullyConnected<>))
    {
        public override IReadOnlyList<string> Aliases => ["fc", "affine", "linear", "dense"];

        public override IReadOnlyList<Hyperparameter> Hyperparameters =>
        [
            Size("inputs", "N, the features per sample after flattening"),
            Size("outputs", "M, the outputs"),
            .. InitOptions("N"),
        ];

        public override IReadOnlyList<string> Tensors => ["W", "b"];

        public override IReadOnlyList<(string Name, int[] Shape)>? TensorShapes(LayerConfig c) =>
            c.Has("inputs") && c.Has("outputs") ? [("W", [c.Int("inputs"), c.Int("outputs")]), ("b", [c.Int("outputs")])] : null;

        public override Layer<T> Create<T>(LayerConfig c)
        {
            var W = c.Tensor<T>("W");
            var b = c.Tensor<T>("b");
            if (W is not null || b is not null)
            {
                if (W is null || b is null) throw new InvalidInputException($"{c.Where} ({Name}): W and b must be given together");
                var fc = new FullyConnected<T>(W, b);
                foreach (var (name, size) in new[] { ("inputs", fc.Inputs), ("outputs", fc.Outputs) })
                    if (c.Has(name) && c.Int(name) != size)
                        throw new ShapeMismatchException($"{c.Where} ({Name}): {name} is {c.Int(name)}, but W has shape {W.ShapeString}");
                return fc;
            }
            int inputs = c.Int("inputs"), outputs = c.Int("outputs");
            long weights = (long)inputs * outputs;
            if (weights > MaxWeights)
                throw new InvalidInputException($"{c.Where} ({Name}): {inputs}×{outputs} weights would need " +
                    $"{weights * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() * 3 / 1e9:0.#} GB with their gradient and " +
                    $"optimizer state; the limit is {MaxWeights} weights a layer");
            var init = MlpSpec.ParseInit(c.Choice("init"));
            return new FullyConnected<T>(inputs, outputs, init, c.Rng, c.Number("init_std"));
        }
    }

    private sealed class BatchNormKind() : LayerKind(
        "x̂ = (x − μ)/√(σ² + eps), y = γ·x̂ + β over the features of each sample (batch statistics in training)",
            typeof(BatchNormalization<>))
    {
        public override IReadOnlyList<string> Aliases => ["batch_normalization", "batchnorm"];

        public override IReadOnlyList<Hyperparameter> Hyperparameters =>
        [
            Size("features", "the features normalized, per sample"),
            Number("momentum", 0.9, "running = momentum·running + (1 − momentum)·batch") with { Min = 0, Max = 1 },
            Number("eps", 1e-5, "added to the variance") with { Min = 0, MinExclusive = true },
        ];

        public override IReadOnlyList<(string Name, int[] Shape)>? TensorShapes(LayerConfig c) =>
            [("gamma", [c.Int("features")]), ("beta", [c.Int("features")]), ("running_mean", [c.Int("features")]),
                ("running_var", [c.Int("features")])];

        public override Layer<T> Create<T>(LayerConfig c) => new BatchNormalization<T>(c.Int("features"), c.Number("momentum"),
            c.Number("eps"));
    }

    private sealed class BatchNorm2dKind() : LayerKind(
        "per channel of images (N, C, H, W), as PyTorch's BatchNorm2d: x̂ = (x − μ_c)/√(σ²_c + eps) over N, H, W, y = γ_c·x̂ + β_c",
            typeof(BatchNormalization2d<>))
    {
        public override IReadOnlyList<string> Aliases => ["batchnorm2d", "spatial_batch_norm"];

        public override IReadOnlyList<Hyperparameter> Hyperparameters =>
        [
            Size("channels", "the channels normalized"),
            Number("momentum", 0.9, "running = momentum·running + (1 − momentum)·batch") with { Min = 0, Max = 1 },
            Number("eps", 1e-5, "added to the variance") with { Min = 0, MinExclusive = true },
        ];

        public override IReadOnlyList<(string Name, int[] Shape)>? TensorShapes(LayerConfig c) =>
            [("gamma", [c.Int("channels")]), ("beta", [c.Int("channels")]), ("running_mean", [c.Int("channels")]),
                ("running_var", [c.Int("channels")])];

        public override Layer<T> Create<T>(LayerConfig c) => new BatchNormalization2d<T>(c.Int("channels"), c.Number("momentum"),
            c.Number("eps"));
    }

    private sealed class DropoutKind() : LayerKind("training: y = x·mask/(1 − p), mask ~ Bernoulli(1 − p); inference: y = x",
        typeof(Dropout<>))
    {
        public override IReadOnlyList<Hyperparameter> Hyperparameters =>
            [Number("p", 0.5, "the probability of dropping an element") with { Min = 0, Max = 1, MaxExclusive = true }];

        public override Layer<T> Create<T>(LayerConfig c) => new Dropout<T>(c.Number("p"), c.Rng?.Split());
    }

    // Activations are built by one class from two factories, one per element type.
    private sealed class Activation(string summary, Type type, Func<LayerConfig, Layer<float>> f32, Func<LayerConfig,
        Layer<double>> f64,
        IReadOnlyList<Hyperparameter>? hyperparameters = null, IReadOnlyList<string>? aliases = null) : LayerKind(summary, type)
    {
        public override IReadOnlyList<string> Aliases => aliases ?? [];
        public override IReadOnlyList<Hyperparameter> Hyperparameters => hyperparameters ?? [];
        public override bool IsActivation => true;

        public override Layer<T> Create<T>(LayerConfig c) =>
            typeof(T) == typeof(float) ? (Layer<T>)(object)f32(c)
            : typeof(T) == typeof(double) ? (Layer<T>)(object)f64(c)
            : throw new NotSupportedException($"{Name}: only float and double layers exist");
    }
}
