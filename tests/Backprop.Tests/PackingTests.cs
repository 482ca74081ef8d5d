using System.Numerics;
using Backprop.Kernels;

namespace Backprop.Tests;

/// <summary>GEMM packing: the register-transpose interleave and the padded copy against their definitions.</summary>
public unsafe class PackingTests
{
    public static TheoryData<int, int, int> Cases()
    {
        var data = new TheoryData<int, int, int>();
        // count rows of kc values into panels of width columns: 8×8 and 4×4 blocks, their tails, and zero padding.
        foreach (var (count, width) in new[] { (1, 1), (3, 4), (4, 4), (5, 6), (8, 8), (9, 12), (12, 12), (13, 16), (16, 16), (31, 32), (32,
            32) })
            foreach (int kc in new[] { 1, 3, 4, 7, 8, 9, 17, 192 })
                data.Add(count, width, kc);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Interleave_transposes_rows_into_a_zero_padded_panel(int count, int width, int kc)
    {
        Check<float>(count, width, kc);
        Check<double>(count, width, kc);
    }

    private static void Check<T>(int count, int width, int kc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int ld = kc + 5;
        var rng = new Random(count * 1000 + width * 10 + kc);
        var source = TestUtil.Random<T>(rng, count * ld).Span.ToArray();
        T** rows = stackalloc T*[count];
        foreach (bool vector in new[] { false, true })
        {
            var panel = Enumerable.Repeat(T.CreateTruncating(99), kc * width + 7).ToArray();
            fixed (T* s = source, p = panel)
            {
                for (int r = 0; r < count; r++) rows[r] = s + r * ld;
                Packing.Interleave(rows, count, width, kc, p, vector);
            }
            for (int k = 0; k < kc; k++)
                for (int r = 0; r < width; r++)
                    Assert.True(panel[k * width + r] == (r < count ? source[r * ld + k] : T.Zero), $"vector={vector} k={k} r={r}");
            // nothing written past the panel
            for (int i = kc * width; i < panel.Length; i++) Assert.Equal(T.CreateTruncating(99), panel[i]);
        }
    }

    [Theory]
    [InlineData(0, 4)]
    [InlineData(3, 3)]
    [InlineData(5, 12)]
    [InlineData(12, 12)]
    [InlineData(17, 32)]
    [InlineData(32, 32)]
    public void CopyPadded_copies_then_zero_fills(int count, int width)
    {
        var s = Enumerable.Range(1, 40).Select(i => (float)i).ToArray();
        foreach (bool vector in new[] { false, true })
        {
            var d = Enumerable.Repeat(-1f, width + 3).ToArray();
            fixed (float* ps = s, pd = d) Packing.CopyPadded(ps, pd, count, width, vector);
            for (int i = 0; i < width; i++) Assert.Equal(i < count ? s[i] : 0f, d[i]);
            for (int i = width; i < d.Length; i++) Assert.Equal(-1f, d[i]);
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(12)]     // the 512-bit kernel's MR: within one float vector, past one double vector
    [InlineData(8)]
    [InlineData(16)]     // one float vector, two double vectors
    [InlineData(32)]     // the 512-bit float NR
    public void SplitRow_cuts_a_row_into_zero_padded_panel_rows(int width)
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return;   // the AVX-512 packer; CopyPadded covers the rest
        SplitRow<float>(width);
        if (width <= 16) SplitRow<double>(width);
    }

    private static void SplitRow<T>(int width) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(width);
        var source = TestUtil.Random<T>(rng, 200).Span.ToArray();
        var sentinel = T.CreateTruncating(99);
        long stride = width + 5;   // room between panel rows: nothing may be written there
        for (int count = 0; count <= 3 * width + 1; count++)
        {
            int panels = (count + width - 1) / width;
            var d = Enumerable.Repeat(sentinel, (int)(panels * stride) + 8).ToArray();
            fixed (T* ps = source, pd = d) Packing.SplitRow(ps, count, width, pd, stride);
            for (int p = 0; p < panels; p++)
                for (int i = 0; i < stride; i++)
                {
                    int j = p * width + i;
                    T want = i >= width ? sentinel : j < count ? source[j] : T.Zero;
                    Assert.True(d[p * stride + i] == want,
                        $"{typeof(T).Name} width {width} count {count} panel {p} lane {i}: {d[p * stride + i]} vs {want}");
                }
            for (long i = panels * stride; i < d.Length; i++) Assert.Equal(sentinel, d[i]);
        }
    }
}
