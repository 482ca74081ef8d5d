using System.Numerics;

namespace Backprop.Layers;

/// <summary>
/// Layer normalization over all of each sample's values, as <c>torch.nn.LayerNorm(sample shape)</c> and ONNX's
/// LayerNormalization from axis 1: per sample, x̂ = (x − μ)/√(σ² + eps) with μ and σ² (biased) over its D values, y =
/// γ·x̂ + β with γ and β of D values. Backward, per sample with g = dout·γ: dx = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + eps);
/// dγ = Σ_n dout·x̂, dβ = Σ_n dout. The same in training and in inference (no running statistics).
/// </summary>
[LayerKind("layer_norm")]
public sealed class LayerNormalization<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _gamma, _beta;
    private Tensor<T>? _xhat, _y, _dx;
    private double[] _inv = [];

    /// <summary>A layer over <paramref name="features"/> values a sample, γ = 1 and β = 0.</summary>
    public LayerNormalization(int features, double eps = 1e-5)
    {
        if (features < 1) throw new InvalidInputException($"LayerNormalization: features must be at least 1, not {features}");
        if (!(eps > 0) || !double.IsFinite(eps)) throw new InvalidInputException($"LayerNormalization: eps must be positive, not {eps}");
        var gamma = Tensor<T>.Zeros(features);
        gamma.Span.Fill(T.One);
        _gamma = new Parameter<T>("gamma", gamma, Tensor<T>.Zeros(features), ParameterRole.NormScale);
        _beta = new Parameter<T>("beta", Tensor<T>.Zeros(features), Tensor<T>.Zeros(features), ParameterRole.NormShift);
        Features = features;
        Eps = eps;
        Hyperparameters = new Dictionary<string, object> { ["features"] = features, ["eps"] = eps };
    }

    /// <summary>The values normalized together, per sample.</summary>
    public int Features { get; }

    /// <summary>Added to the variance.</summary>
    public double Eps { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => [_gamma, _beta];

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Hyperparameters { get; }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        int D = Features;
        if (x.Rank < 2 || x.Length / x.Dim(0) != D)
            throw new ShapeMismatchException($"{Name}: each sample of x {x.ShapeString} must hold {D} values");
        int N = x.Dim(0);
        var xhat = TensorBuffer.Ensure(ref _xhat, x.Shape);
        var y = TensorBuffer.Ensure(ref _y, x.Shape);
        if (_inv.Length != N) _inv = new double[N];
        var g = _gamma.Value.Span;
        var b = _beta.Value.Span;
        for (int n = 0; n < N; n++)
        {
            var xs = x.Span.Slice(n * D, D);
            double mean = 0, variance = 0;
            foreach (var v in xs) mean += double.CreateTruncating(v);
            mean /= D;
            foreach (var v in xs) variance += (double.CreateTruncating(v) - mean) * (double.CreateTruncating(v) - mean);
            double inv = _inv[n] = 1 / Math.Sqrt(variance / D + Eps);
            var hs = xhat.Span.Slice(n * D, D);
            var ys = y.Span.Slice(n * D, D);
            for (int j = 0; j < D; j++)
            {
                hs[j] = T.CreateTruncating((double.CreateTruncating(xs[j]) - mean) * inv);
                ys[j] = g[j] * hs[j] + b[j];
            }
        }
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var xhat = _xhat ?? throw new InvalidInputException($"{Name}: Backward was called before Forward");
        CheckDout(dout, xhat.Shape);
        int D = Features, N = xhat.Dim(0);
        var dx = TensorBuffer.Ensure(ref _dx, xhat.Shape);
        var g = _gamma.Value.Span;
        var dg = _gamma.Grad.Span;
        var db = _beta.Grad.Span;
        dg.Clear();
        db.Clear();
        for (int n = 0; n < N; n++)
        {
            var d = dout.Span.Slice(n * D, D);
            var h = xhat.Span.Slice(n * D, D);
            double meanG = 0, meanGh = 0;
            for (int j = 0; j < D; j++)
            {
                double gj = double.CreateTruncating(d[j] * g[j]);
                meanG += gj;
                meanGh += gj * double.CreateTruncating(h[j]);
                dg[j] += d[j] * h[j];
                db[j] += d[j];
            }
            meanG /= D;
            meanGh /= D;
            var dxs = dx.Span.Slice(n * D, D);
            for (int j = 0; j < D; j++)
                dxs[j] = T.CreateTruncating(
                    (double.CreateTruncating(d[j] * g[j]) - meanG - double.CreateTruncating(h[j]) * meanGh) * _inv[n]);
        }
        return dx;
    }
}
