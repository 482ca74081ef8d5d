using System.Numerics;
using Backprop.Layers;

namespace Backprop.ApiTests;

/// <summary>y = x·s, one learnable scale per feature: a layer of a user's own, written against the public API only.</summary>
public sealed class Scale<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T> _s;
    private Tensor<T>? _x;

    public Scale(int features)
    {
        var s = Tensor<T>.Zeros(features);
        s.Span.Fill(T.One);
        _s = new Parameter<T>("s", s, Tensor<T>.Zeros(features), ParameterRole.Weight);
        Hyperparameters = new Dictionary<string, object> { ["features"] = features };
    }

    public override string Kind => "scale";

    public override IReadOnlyList<Parameter<T>> Parameters => [_s];

    public override IReadOnlyDictionary<string, object> Hyperparameters { get; }

    public override Tensor<T> Forward(Tensor<T> x)
    {
        _x = x;
        int F = _s.Value.Length, B = x.Dim(0);
        var y = Tensor<T>.Zeros(B, F);
        for (int i = 0; i < B; i++)
            for (int j = 0; j < F; j++) y.Span[i * F + j] = x.Span[i * F + j] * _s.Value.Span[j];
        return y;
    }

    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var x = RequireForward(_x);
        int F = _s.Value.Length, B = x.Dim(0);
        var dx = Tensor<T>.Zeros(B, F);
        _s.Grad.Span.Clear();
        for (int i = 0; i < B; i++)
            for (int j = 0; j < F; j++)
            {
                dx.Span[i * F + j] = dout.Span[i * F + j] * _s.Value.Span[j];      // dx = dout·s
                _s.Grad.Span[j] += dout.Span[i * F + j] * x.Span[i * F + j];      // ds = Σ_batch dout·x
            }
        return dx;
    }
}
