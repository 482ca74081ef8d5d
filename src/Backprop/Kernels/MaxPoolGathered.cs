using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Backprop.Kernels;

/// <summary>Max pooling without padding, float32 on AVX2: windows eight at a time by gathers.</summary>
internal static class MaxPoolGathered
{
    /// <summary>Where the kernel runs.</summary>
    public static bool Available => Avx2.IsSupported;

    // Eight outputs at a time (float32, AVX2): each window cell gathered for eight windows, compared and blended with its
    // index. The same comparisons in the same order as the layer's plain loop (strict >, row-major), so the same results;
    // offsets holds each window's first cell in its plane, padded to whole vectors.
    public static unsafe void Pool(float* x, float* y, int* argmax, int nc0, int nc1, int H, int W, int OH, int OW, int poolH,
        int poolW, int* offsets)
    {
        int P = OH * OW;
        int* po = offsets;
        float* tail = stackalloc float[8];
        int* tailAt = stackalloc int[8];
        for (int nc = nc0; nc < nc1; nc++)
        {
            var plane = Vector256.Create(nc * H * W);
            float* yp = y + (long)nc * P;
            int* ap = argmax + (long)nc * P;
            for (int o = 0; o < P; o += 8)
            {
                var first = Vector256.Load(po + o) + plane;
                var best = Avx2.GatherVector256(x, first, 4);
                var at = first;
                for (int i = 0; i < poolH; i++)
                    for (int j = i == 0 ? 1 : 0; j < poolW; j++)
                    {
                        var idx = first + Vector256.Create(i * W + j);
                        var v = Avx2.GatherVector256(x, idx, 4);
                        var gt = Avx.Compare(v, best, FloatComparisonMode.OrderedGreaterThanNonSignaling);
                        best = Avx.BlendVariable(best, v, gt);
                        at = Avx.BlendVariable(at.AsSingle(), idx.AsSingle(), gt).AsInt32();
                    }
                if (o + 8 <= P)
                {
                    best.Store(yp + o);
                    at.Store(ap + o);
                    continue;
                }
                best.Store(tail);
                at.Store(tailAt);
                for (int l = 0; o + l < P; l++) { yp[o + l] = tail[l]; ap[o + l] = tailAt[l]; }
            }
        }
    }
}
