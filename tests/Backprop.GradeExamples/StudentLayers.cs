using System.Numerics;
using Backprop;
using Backprop.Layers;

namespace StudentLayers;

/// <summary>The exercise solved with plain loops: y = x·W + b, dx = dout·Wᵀ, dW = xᵀ·dout, db = Σ_batch dout.</summary>
public sealed class MyFullyConnected<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _p;
    private Tensor<T>? _x;

    public MyFullyConnected(Tensor<T> W, Tensor<T> b)
    {
        this.W = W;
        this.b = b;
        _p = [new("W", W, Tensor<T>.Zeros(W.Dim(0), W.Dim(1)), ParameterRole.Weight), new("b", b, Tensor<T>.Zeros(b.Dim(0)),
            ParameterRole.Bias)];
    }

    public Tensor<T> W { get; }
    public Tensor<T> b { get; }
    public override string Kind => "my_fully_connected";
    public override IReadOnlyList<Parameter<T>> Parameters => _p;

    public override Tensor<T> Forward(Tensor<T> x)
    {
        _x = x;
        int B = x.Dim(0), N = W.Dim(0), M = W.Dim(1);
        var y = Tensor<T>.Zeros(B, M);
        for (int i = 0; i < B; i++)
            for (int j = 0; j < M; j++)
            {
                T s = b.Span[j];
                for (int k = 0; k < N; k++) s += x.Span[i * N + k] * W.Span[k * M + j];
                y.Span[i * M + j] = s;
            }
        return y;
    }

    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var x = _x!;
        int B = x.Dim(0), N = W.Dim(0), M = W.Dim(1);
        var dx = Tensor<T>.Zeros(x.Shape.ToArray());
        var dW = _p[0].Grad.Span;
        var db = _p[1].Grad.Span;
        dW.Clear();
        db.Clear();
        for (int i = 0; i < B; i++)
            for (int j = 0; j < M; j++)
            {
                T d = dout.Span[i * M + j];
                db[j] += d;
                for (int k = 0; k < N; k++)
                {
                    dx.Span[i * N + k] += d * W.Span[k * M + j];
                    dW[k * M + j] += x.Span[i * N + k] * d;
                }
            }
        return dx;
    }
}

/// <summary>Broken on purpose: db is the batch mean instead of the sum.</summary>
public sealed class MeanBiasFullyConnected<T>(Tensor<T> W, Tensor<T> b) : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly MyFullyConnected<T> _inner = new(W, b);
    private int _batch;
    public override string Kind => "mean_bias_fully_connected";
    public override IReadOnlyList<Parameter<T>> Parameters => _inner.Parameters;
    public override Tensor<T> Forward(Tensor<T> x)
    {
        _batch = x.Dim(0);
        return _inner.Forward(x);
    }
    public override Tensor<T> Backward(Tensor<T> dout)
    {
        var dx = _inner.Backward(dout);
        var db = _inner.Parameters[1].Grad.Span;
        for (int j = 0; j < db.Length; j++) db[j] /= T.CreateTruncating(_batch);
        return dx;
    }
}
