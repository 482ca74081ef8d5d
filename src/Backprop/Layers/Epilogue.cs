using System.Numerics;

namespace Backprop.Layers;

/// <summary>
/// What a layer runs on each chunk of its output inside its own pass, as the network's fusion plan decided: the ReLU that
/// follows it, and the pooling layer after that ReLU where there is one. The layer calls these steps and knows nothing of
/// the pooling layer's workings; the epilogue, one per fused group of the network, carries the fused pass's state (which
/// forward pass it ran in, and whether the layer's y was dropped), so that the layer carries none.
/// </summary>
internal sealed class Epilogue<T>(PoolingLayer<T>? pool) where T : unmanaged, IFloatingPointIeee754<T>
{
    private long _pass = -1;

    /// <summary>The pooling layer run after the ReLU, or null for the ReLU alone.</summary>
    public PoolingLayer<T>? Pool => pool;

    /// <summary>True where the layer's y is not written at all: the pooling layer's backward pass needs none of it (max
    /// pooling masks dout by its own outputs), so each chunk's y is computed, pooled and dropped in the chunk's scratch.</summary>
    public bool DropsOutput { get; private set; }

    /// <summary>The network's output after the group: the pooling layer's y, else the layer's own (the ReLU's output).</summary>
    public Tensor<T> Output(Tensor<T> y) => pool?.Output ?? y;

    /// <summary>Starts a forward pass of the layer, its <paramref name="pass"/>-th, whose output will be <paramref name="y"/>.</summary>
    public void Begin(Tensor<T> y, long pass)
    {
        _pass = pass;
        DropsOutput = pool is { MasksAtOutputs: true };
        pool?.BeginFused(y);
    }

    /// <summary>After a chunk's outputs (planes nc0..nc1, already through the ReLU): the pooling layer's forward pass on them.</summary>
    public void Forward(ReadOnlySpan<T> y, int nc0, int nc1) => pool?.PoolPlanes(y, nc0, nc1);

    /// <summary>Throws unless the layer's last forward pass, its <paramref name="pass"/>-th, ran with this epilogue, and dout
    /// is the pooling layer's (or the ReLU's, the shape of <paramref name="y"/>).</summary>
    public void CheckBackward(long pass, Tensor<T> y, Tensor<T> dout, string layer)
    {
        if (pass != _pass)
            throw new InvalidOperationException($"{layer}: a fused backward pass needs the fused forward pass just before it");
        if (pool is null)
        {
            if (!dout.HasShape(y.Shape))
                throw new ShapeMismatchException($"{layer}: dout has shape {dout.ShapeString}, but y has shape {y.ShapeString}");
            return;
        }
        if (!ReferenceEquals(pool.Input, y))
            throw new InvalidOperationException($"{layer}: the pooling layer ran another forward pass after the fused one");
        pool.CheckFusedDout(dout);
    }

    /// <summary>The values of one sample of the pooling layer's output (0 without one).</summary>
    public int PooledSample => pool?.Output is { } p ? p.Length / p.Dim(0) : 0;

    /// <summary>
    /// dy of the planes nc0..nc1 (∂L/∂ of the layer's y, through the pooling layer and the ReLU) into <paramref name="dy"/>,
    /// from the pooling layer's whole <paramref name="dout"/>; <paramref name="masked"/> is scratch of the planes' outputs.
    /// </summary>
    public void Backward(ReadOnlySpan<T> dout, Span<T> dy, int nc0, int nc1, Span<T> masked) =>
        pool!.UnpoolPlanes(dout, dy, nc0, nc1, relu: true, masked);
}
