using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Layers;

// 2×2 windows with stride 2 and no padding, float32 on AVX-512, run by Kernels/MaxPoolPairs.cs: the winner of each
// window kept as one byte (its cell 0–3 in row-major order).
public sealed partial class MaxPooling<T>
{
    private byte[] _winners = [];

    private bool Pairs => PoolH == 2 && PoolW == 2 && Stride == 2 && Pad == 0 && typeof(T) == typeof(float) && MaxPoolPairs.Available;
}
