using System.Numerics;
using System.Numerics.Tensors;
using Backprop.Layers;
using Backprop.Losses;

namespace Backprop.Networks;

/// <summary>
/// A chain of layers ending in a loss. The forward pass runs the layers in order; the backward pass runs them in
/// reverse, each turning ∂L/∂(its output) into ∂L/∂(its input): the chain rule, one layer at a time.
/// </summary>
public sealed class Sequential<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Layer<T>[] _layers;

    /// <summary>Creates the network from its layers and its loss.</summary>
    public Sequential(IEnumerable<Layer<T>> layers, Loss<T> loss)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(loss);
        _layers = layers.ToArray();
        Loss = loss;
        Parameters = _layers.SelectMany(l => l.Parameters).ToArray();
    }

    /// <summary>The layers, first to last.</summary>
    public IReadOnlyList<Layer<T>> Layers => _layers;

    /// <summary>The loss after the last layer.</summary>
    public Loss<T> Loss { get; }

    /// <summary>Every parameter of every layer, in layer order, with its gradient.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Switches every layer between training and inference behaviour.</summary>
    public bool Training
    {
        get => _layers.Length == 0 || _layers[0].Training;
        set { foreach (var l in _layers) l.Training = value; }
    }

    /// <summary>The output of the last layer (the logits), without the loss.</summary>
    public Tensor<T> Forward(Tensor<T> x)
    {
        foreach (var layer in _layers) x = layer.Forward(x);
        return x;
    }

    /// <summary>Runs the layers and the loss; returns the loss.</summary>
    public T ComputeLoss(Tensor<T> x, Tensor<T> t) => Loss.Forward(Forward(x), t);

    /// <summary>Backpropagates from the loss (scaled by <paramref name="dout"/>) to the input; every parameter's gradient is stored. Returns ∂L/∂x.</summary>
    public Tensor<T> Backward(T dout)
    {
        var d = Loss.Backward(dout);
        for (int i = _layers.Length - 1; i >= 0; i--) d = _layers[i].Backward(d);
        return d;
    }

    /// <summary>
    /// Backpropagates for training: every parameter gradient, but not ∂L/∂x of the input (the first fully connected
    /// layer skips its dx = dout·Wᵀ product, a third of its work).
    /// </summary>
    public void BackwardParameters(T dout)
    {
        var d = Loss.Backward(dout);
        for (int i = _layers.Length - 1; i >= 1; i--) d = _layers[i].Backward(d);
        if (_layers.Length == 0) return;
        if (_layers[0] is FullyConnected<T> fc) fc.BackwardParameters(d);
        else _layers[0].Backward(d);
    }

    /// <summary>
    /// The backward pass of a plain SGD training step (no weight decay, no momentum), applied as it goes: fully
    /// connected layers update W and b in place with one accumulating product (see
    /// <see cref="FullyConnected{T}.BackwardSgd"/>); any other layer with parameters runs its backward pass, then
    /// W ← W − lr·dW for each of them. Each layer's dx is computed before its own weights change.
    /// </summary>
    public void BackwardSgd(T lr)
    {
        var d = Loss.Backward(T.One);
        for (int i = _layers.Length - 1; i >= 0; i--)
        {
            if (_layers[i] is FullyConnected<T> fc)
            {
                d = fc.BackwardSgd(d, lr, needDx: i > 0)!;
                continue;
            }
            d = _layers[i].Backward(d);
            foreach (var p in _layers[i].Parameters)
                TensorPrimitives.MultiplyAdd(p.Grad.Span, -lr, p.Value.Span, p.Value.Span);
        }
    }

    /// <summary>Backpropagates from the loss with dout = 1.</summary>
    public Tensor<T> Backward() => Backward(T.One);
}
