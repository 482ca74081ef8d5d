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

    /// <summary>
    /// True for a loss that classifies: its targets are class indices (B,) or one-hot rows (B, C), and the network's
    /// outputs turn into class probabilities (<see cref="ProbabilitiesOf"/>); training reports accuracy, prediction gives
    /// classes. False (the default): the targets are values (B, K) and the outputs are what the network predicts.
    /// </summary>
    public virtual bool Classifies => false;

    /// <summary>The class probabilities of the last forward pass, (B, C), where the loss classifies; else null.</summary>
    public virtual Tensor<T>? Probabilities => null;

    /// <summary>The class probabilities <paramref name="p"/> of one row of the network's outputs (losses that classify).</summary>
    /// <exception cref="InvalidOperationException">The loss does not classify.</exception>
    public virtual void ProbabilitiesOf(ReadOnlySpan<T> outputs, Span<T> p) =>
        throw new InvalidOperationException($"{Name} does not classify: its outputs are no class scores");

    /// <summary>The layer's name in messages.</summary>
    protected string Name => GetType().Name.Split('`')[0];

    /// <summary>Throws unless a forward pass came first.</summary>
    protected Tensor<T> RequireForward(Tensor<T>? x) =>
        x ?? throw new InvalidInputException($"{Name}: Backward was called before Forward");
}
