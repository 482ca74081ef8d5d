using System.Numerics;

namespace Backprop.Losses;

/// <summary>
/// A loss L(x, t) on a batch: <see cref="Forward"/> returns the scalar loss and keeps what the backward pass needs;
/// <see cref="Backward(T)"/> returns dx = ∂L/∂x·dout. The returned dx is the loss's own buffer, reused on the next call.
/// </summary>
public abstract class Loss<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The kind's name as the command line spells it.</summary>
    public abstract string Kind { get; }

    /// <summary>The loss, averaged over the batch.</summary>
    public abstract T Forward(Tensor<T> x, Tensor<T> t);

    /// <summary>dx = ∂L/∂x scaled by <paramref name="dout"/> (the upstream gradient, 1 for the final loss).</summary>
    public abstract Tensor<T> Backward(T dout);

    /// <summary>dx = ∂L/∂x.</summary>
    public Tensor<T> Backward() => Backward(T.One);

    /// <summary>The layer's name in messages.</summary>
    protected string Name => GetType().Name.Split('`')[0];

    /// <summary>Throws unless a forward pass came first.</summary>
    protected Tensor<T> RequireForward(Tensor<T>? x) =>
        x ?? throw new InvalidInputException($"{Name}: Backward was called before Forward");
}
