using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// A 3×3, stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast Algorithms for
/// Convolutional Neural Networks", 2016): each 2×2 block of outputs is Y = Aᵀ[Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B)]A over the
/// 4×4 input tile d_c it reads, 16 products per channel and filter instead of 36.
/// </summary>
/// <remarks>
/// With Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1] and Aᵀ = [1 1 1 0; 0 1 −1 −1],
/// the sums over channels are, for each of the 16 tile positions, one product: M_pos (tiles, FN) = V_pos (tiles, C) ·
/// U_pos (C, FN), with V = Bᵀ d B the transformed input tiles and U = G g Gᵀ the transformed filters. Backward is the
/// same algebra transposed: the outputs' gradient becomes dM = A dY Aᵀ; dU_pos = V_posᵀ · dM_pos gives dW = Gᵀ dU G;
/// dV_pos = dM_pos · U_posᵀ gives dx by scattering B dV Bᵀ back onto the overlapping input tiles. All the transforms run
/// on channel-last copies (a sample's pixels as rows of C or FN values), so each is a few vector adds per tile and
/// channel vector; x enters through a zero-padded channel-last copy, y leaves through a channel-last buffer that the
/// caller transposes. The tiles of odd output sizes hang over the edge: their extra outputs are never stored.
/// </remarks>
internal sealed unsafe class Winograd
{
    /// <summary>Tile positions: the 4×4 entries of a transformed tile.</summary>
    public const int Positions = 16;

    public Winograd(int C, int H, int W, int FN, int pad, int maxSamples)
    {
        (this.C, this.H, this.W, this.FN, Pad, MaxSamples) = (C, H, W, FN, pad, maxSamples);
        OH = H + 2 * pad - 2;
        OW = W + 2 * pad - 2;
        (TH, TW) = TileGrid(H, W, pad);
        Rows = 2 * TH + 2;
        Columns = 2 * TW + 2;
        VStride = TileStride(C);
        MStride = TileStride(FN);
        int tiles = maxSamples * Tiles;
        VRows = new long[tiles];
        MRows = new long[tiles];
        for (int t = 0; t < tiles; t++) (VRows[t], MRows[t]) = ((long)t * VStride, (long)t * MStride);
        Identity = new long[Math.Max(C, FN)];
        for (int i = 0; i < Identity.Length; i++) Identity[i] = i;
    }

    // Tile rows and columns, ⌈OH/2⌉ and ⌈OW/2⌉, and the values from one tile to the next for this many channels.
    private static (int TH, int TW) TileGrid(int H, int W, int pad) => ((H + 2 * pad - 1) / 2, (W + 2 * pad - 1) / 2);

    private static int TileStride(int channels) => Positions * channels + Skew;

    // Values between consecutive tiles beyond their 16 positions: a tile's stride of 16·C values would be a power of two
    // for C = 16, 32 or 64, and the products' strided rows would all fall into the same few L1 sets.
    private const int Skew = 16;

    public int MaxSamples { get; }

    /// <summary>Values from one tile to the next in V (and dV): its 16 positions of C, then a few unused.</summary>
    public int VStride { get; }

    /// <summary>Values from one tile to the next in M (and dM).</summary>
    public int MStride { get; }

    /// <summary>Where each tile of a chunk starts in V and in M (t·VStride, t·MStride), and 0, 1, 2, …: the row and
    /// column offsets of the gathered products.</summary>
    public long[] VRows { get; }
    public long[] MRows { get; }
    public long[] Identity { get; }

    public int C { get; }
    public int H { get; }
    public int W { get; }
    public int FN { get; }
    public int Pad { get; }
    public int OH { get; }
    public int OW { get; }

    /// <summary>Tile rows and columns per sample: ⌈OH/2⌉ and ⌈OW/2⌉.</summary>
    public int TH { get; }
    public int TW { get; }

    /// <summary>Tiles per sample.</summary>
    public int Tiles => TH * TW;

    /// <summary>The padded channel-last input's rows and columns per sample (2·TH + 2, 2·TW + 2: every tile's cells).</summary>
    public int Rows { get; }
    public int Columns { get; }

    /// <summary>Whether a convolution of this geometry can take this form: 3×3 filters, stride 1, channels and filters
    /// in whole vectors of T.</summary>
    public static bool Fits<T>(int C, int FN, int FH, int FW, int stride) =>
        FH == 3 && FW == 3 && stride == 1 && C % Vector512<T>.Count == 0 && FN % Vector512<T>.Count == 0;

    /// <summary>Values one sample needs in a chunk's buffers: V and M (or dV and dM), the padded input and the
    /// channel-last output.</summary>
    public static long ValuesPerSample(int C, int H, int W, int FN, int pad)
    {
        var (th, tw) = TileGrid(H, W, pad);
        long tiles = (long)th * tw;
        return tiles * (TileStride(C) + TileStride(FN)) + (2L * th + 2) * (2L * tw + 2) * C + 4 * tiles * FN;
    }

    public bool Matches(int c, int h, int w, int fn, int pad, int maxSamples) =>
        (c, h, w, fn, pad, maxSamples) == (C, H, W, FN, Pad, MaxSamples);

    /// <summary>Values of V (or dV) for <paramref name="samples"/> samples.</summary>
    public long VLength(int samples) => (long)samples * Tiles * VStride;

    /// <summary>Values of M (or dM) for <paramref name="samples"/> samples.</summary>
    public long MLength(int samples) => (long)samples * Tiles * MStride;

    /// <summary>Values of the padded channel-last input (or its gradient) for <paramref name="samples"/> samples.</summary>
    public long InputLength(int samples) => (long)samples * Rows * Columns * C;

    /// <summary>Values of the channel-last output (or its gradient) for <paramref name="samples"/> samples, padded to
    /// whole tiles.</summary>
    public long OutputLength(int samples) => (long)samples * Tiles * 4 * FN;

    /// <summary>u[pos, c, f] = (G g Gᵀ)[pos] of the filter g = w[f, c] (FN, C, 3, 3), and ut[pos, f, c] the same;
    /// <paramref name="scratch"/> holds 9·C·FN values.</summary>
    /// <remarks>w is turned into (C·9, FN) first, so that U is computed for a vector of filters at a time (FN fills whole
    /// vectors, <see cref="Fits{T}"/>) and stored as whole rows of u; ut is u transposed position by position.</remarks>
    public static void TransformFilters<T>(ReadOnlySpan<T> w, int FN, int C, Span<T> u, Span<T> ut, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Vector512<T>.Count, K = 9 * C;
        if (w.Length < FN * K || u.Length < Positions * C * FN || ut.Length < Positions * C * FN || scratch.Length < FN * K
            || FN % n != 0)
            throw new ArgumentException("buffers too short, or filters not in whole vectors");
        var half = Vector512.Create(T.CreateChecked(0.5));
        Span<Vector512<T>> t = stackalloc Vector512<T>[12];
        fixed (T* pw = w, pt = scratch, pu = u, put = ut)
        {
            Gemm.Transpose(pw, K, FN, K, pt, FN);                            // wt[c·9 + k, f] = w[f, c, k]
            for (int c = 0; c < C; c++)
                for (int f0 = 0; f0 < FN; f0 += n)
                {
                    T* g = pt + (long)c * 9 * FN + f0;                        // tap k at g + k·FN
                    // t (4×3) = G g, column by column, each sum taken left to right as written.
                    for (int j = 0; j < 3; j++)
                    {
                        var g0 = Vector512.Load(g + (long)j * FN);
                        var g1 = Vector512.Load(g + (long)(3 + j) * FN);
                        var g2 = Vector512.Load(g + (long)(6 + j) * FN);
                        t[j] = g0;
                        t[3 + j] = half * (g0 + g1 + g2);
                        t[6 + j] = half * (g0 - g1 + g2);
                        t[9 + j] = g2;
                    }
                    for (int i = 0; i < 4; i++)                              // U (4×4) = t Gᵀ, row by row
                    {
                        var (t0, t1, t2) = (t[3 * i], t[3 * i + 1], t[3 * i + 2]);
                        T* o = pu + ((long)4 * i * C + c) * FN + f0;
                        t0.Store(o);
                        (half * (t0 + t1 + t2)).Store(o + (long)C * FN);
                        (half * (t0 - t1 + t2)).Store(o + 2L * C * FN);
                        t2.Store(o + 3L * C * FN);
                    }
                }
            for (int pos = 0; pos < Positions; pos++)
                Gemm.Transpose(pu + (long)pos * C * FN, FN, C, FN, put + (long)pos * FN * C, C);
        }
    }

    /// <summary>dW[f, c] = Gᵀ dU[·, c, f] G (3×3 from 4×4), du (16, C, FN), into dw (FN, C, 3, 3); <paramref name="scratch"/>
    /// holds 9·C·FN values.</summary>
    /// <remarks>Computed for a vector of filters at a time into (C·9, FN), then turned into dw's layout.</remarks>
    public static void FilterGradient<T>(ReadOnlySpan<T> du, int FN, int C, Span<T> dw, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Vector512<T>.Count, K = 9 * C;
        if (du.Length < Positions * C * FN || dw.Length < FN * K || scratch.Length < FN * K || FN % n != 0)
            throw new ArgumentException("buffers too short, or filters not in whole vectors");
        var half = Vector512.Create(T.CreateChecked(0.5));
        Span<Vector512<T>> t = stackalloc Vector512<T>[12];
        fixed (T* pu = du, pt = scratch, pw = dw)
        {
            for (int c = 0; c < C; c++)
                for (int f0 = 0; f0 < FN; f0 += n)
                {
                    T* q = pu + (long)c * FN + f0;                           // position p at q + p·C·FN
                    long ps = (long)C * FN;
                    // t (3×4) = Gᵀ dU, column by column, each sum taken left to right as written.
                    for (int j = 0; j < 4; j++)
                    {
                        var u0 = Vector512.Load(q + j * ps);
                        var u1 = Vector512.Load(q + (4 + j) * ps);
                        var u2 = Vector512.Load(q + (8 + j) * ps);
                        var u3 = Vector512.Load(q + (12 + j) * ps);
                        t[j] = u0 + half * (u1 + u2);
                        t[4 + j] = half * (u1 - u2);
                        t[8 + j] = half * (u1 + u2) + u3;
                    }
                    T* g = pt + (long)c * 9 * FN + f0;                        // dW (3×3) = t G, tap k at g + k·FN
                    for (int i = 0; i < 3; i++)
                    {
                        var (t0, t1, t2, t3) = (t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3]);
                        (t0 + half * (t1 + t2)).Store(g + (long)3 * i * FN);
                        (half * (t1 - t2)).Store(g + (long)(3 * i + 1) * FN);
                        (half * (t1 + t2) + t3).Store(g + (long)(3 * i + 2) * FN);
                    }
                }
            Gemm.Transpose(pt, FN, K, FN, pw, K);                              // dw[f, c·9 + k] = gt[c·9 + k, f]
        }
    }

    /// <summary>The padded channel-last copy of x (samples, C, H, W): xp[s, r, q, c] = x[s, c, r − pad, q − pad], zero
    /// outside x.</summary>
    public void PackInput<T>(ReadOnlySpan<T> x, int samples, Span<T> xp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        xp[..(int)InputLength(samples)].Clear();
        int plane = H * W;
        fixed (T* px = x, pp = xp)
            for (int s = 0; s < samples; s++)
                for (int r = 0; r < H; r++)
                    Gemm.Transpose(px + (long)s * C * plane + r * W, plane, C, W, pp + (((long)s * Rows + r + Pad) * Columns + Pad) * C, C);
    }

    /// <summary>dx (samples, C, H, W) from the padded channel-last gradient dxp (the cells of x only).</summary>
    public void UnpackInput<T>(ReadOnlySpan<T> dxp, int samples, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int plane = H * W;
        fixed (T* pp = dxp, px = dx)
            for (int s = 0; s < samples; s++)
                for (int r = 0; r < H; r++)
                    Gemm.Transpose(pp + (((long)s * Rows + r + Pad) * Columns + Pad) * C, C, W, C, px + (long)s * C * plane + r * W, plane);
    }

    /// <summary>dout (samples, FN, OH, OW) in channel-last tiles' cells, d[s, 2·TH, 2·TW, FN], zero beyond OH and OW.</summary>
    public void PackOutputGradient<T>(ReadOnlySpan<T> dout, int samples, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int plane = OH * OW, q = 2 * TW;
        if (OH % 2 != 0 || OW % 2 != 0) d[..(int)OutputLength(samples)].Clear();
        fixed (T* pd = dout, pt = d)
            for (int s = 0; s < samples; s++)
                for (int r = 0; r < OH; r++)
                    Gemm.Transpose(pd + (long)s * FN * plane + r * OW, plane, FN, OW, pt + ((long)s * 2 * TH + r) * q * FN, FN);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Bt<T>(Vector512<T> d0, Vector512<T> d1, Vector512<T> d2, Vector512<T> d3,
        out Vector512<T> v0, out Vector512<T> v1, out Vector512<T> v2, out Vector512<T> v3)
    {
        v0 = d0 - d2;
        v1 = d1 + d2;
        v2 = d2 - d1;
        v3 = d1 - d3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void B<T>(Vector512<T> v0, Vector512<T> v1, Vector512<T> v2, Vector512<T> v3,
        out Vector512<T> d0, out Vector512<T> d1, out Vector512<T> d2, out Vector512<T> d3)
    {
        d0 = v0;
        d1 = v1 - v2 + v3;
        d2 = v1 + v2 - v0;
        d3 = -v3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void At<T>(Vector512<T> m0, Vector512<T> m1, Vector512<T> m2, Vector512<T> m3, out Vector512<T> y0, out Vector512<T> y1)
    {
        y0 = m0 + m1 + m2;
        y1 = m1 - m2 - m3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void A<T>(Vector512<T> y0, Vector512<T> y1,
        out Vector512<T> m0, out Vector512<T> m1, out Vector512<T> m2, out Vector512<T> m3)
    {
        m0 = y0;
        m1 = y0 + y1;
        m2 = y0 - y1;
        m3 = -y1;
    }

    /// <summary>v[t, pos, c] = (Bᵀ d B)[pos] of every tile t of the chunk (sample-major, then tile rows), from the padded
    /// input xp.</summary>
    public void TransformInput<T>(ReadOnlySpan<T> xp, int samples, Span<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Vector512<T>.Count;
        long ps = C, rs = (long)Columns * C;
        fixed (T* px = xp, pv = v)
            for (int s = 0, t = 0; s < samples; s++)
                for (int ty = 0; ty < TH; ty++)
                    for (int tx = 0; tx < TW; tx++, t++)
                        for (int cb = 0; cb < C; cb += n)
                        {
                            T* d = px + (((long)s * Rows + 2 * ty) * Columns + 2 * tx) * C + cb;
                            T* o = pv + (long)t * VStride + cb;
                            // Bᵀ d: the columns' transform, column by column.
                            Bt(Vector512.Load(d), Vector512.Load(d + rs), Vector512.Load(d + 2 * rs), Vector512.Load(d + 3 * rs),
                                out var e00, out var e10, out var e20, out var e30);
                            Bt(Vector512.Load(d + C), Vector512.Load(d + rs + C), Vector512.Load(d + 2 * rs + C),
                                Vector512.Load(d + 3 * rs + C), out var e01, out var e11, out var e21, out var e31);
                            Bt(Vector512.Load(d + 2 * C), Vector512.Load(d + rs + 2 * C), Vector512.Load(d + 2 * rs + 2 * C),
                                Vector512.Load(d + 3 * rs + 2 * C), out var e02, out var e12, out var e22, out var e32);
                            Bt(Vector512.Load(d + 3 * C), Vector512.Load(d + rs + 3 * C), Vector512.Load(d + 2 * rs + 3 * C),
                                Vector512.Load(d + 3 * rs + 3 * C), out var e03, out var e13, out var e23, out var e33);
                            // (Bᵀ d) B: each row's transform, stored at its four positions.
                            Store4(e00, e01, e02, e03, o, ps);
                            Store4(e10, e11, e12, e13, o + 4 * ps, ps);
                            Store4(e20, e21, e22, e23, o + 8 * ps, ps);
                            Store4(e30, e31, e32, e33, o + 12 * ps, ps);
                        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4<T>(Vector512<T> e0, Vector512<T> e1, Vector512<T> e2, Vector512<T> e3, T* o, long ps)
        where T : unmanaged
    {
        Bt(e0, e1, e2, e3, out var v0, out var v1, out var v2, out var v3);
        v0.Store(o);
        v1.Store(o + ps);
        v2.Store(o + 2 * ps);
        v3.Store(o + 3 * ps);
    }

    /// <summary>The channel-last output y[s, oh, ow, f] (samples·OH·OW rows of FN) = Aᵀ m A of each tile, m (tiles, 16,
    /// FN); the cells past OH or OW are dropped.</summary>
    public void TransformOutput<T>(ReadOnlySpan<T> m, int samples, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Vector512<T>.Count;
        long ps = FN;
        fixed (T* pm = m, py = y)
            for (int s = 0, t = 0; s < samples; s++)
                for (int ty = 0; ty < TH; ty++)
                    for (int tx = 0; tx < TW; tx++, t++)
                    {
                        bool down = 2 * ty + 1 < OH, right = 2 * tx + 1 < OW;
                        T* o = py + (((long)s * OH + 2 * ty) * OW + 2 * tx) * FN;
                        for (int fb = 0; fb < FN; fb += n)
                        {
                            T* q = pm + (long)t * MStride + fb;
                            // Aᵀ m: each column's two sums.
                            Rows2(q, 0, ps, out var a00, out var a10);
                            Rows2(q, 1, ps, out var a01, out var a11);
                            Rows2(q, 2, ps, out var a02, out var a12);
                            Rows2(q, 3, ps, out var a03, out var a13);
                            At(a00, a01, a02, a03, out var y00, out var y01);
                            y00.Store(o + fb);
                            if (right) y01.Store(o + FN + fb);
                            if (!down) continue;
                            At(a10, a11, a12, a13, out var y10, out var y11);
                            y10.Store(o + (long)OW * FN + fb);
                            if (right) y11.Store(o + (long)(OW + 1) * FN + fb);
                        }
                    }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows2<T>(T* q, int j, long ps, out Vector512<T> y0, out Vector512<T> y1)
        where T : unmanaged =>
        At(Vector512.Load(q + j * ps), Vector512.Load(q + (4 + j) * ps), Vector512.Load(q + (8 + j) * ps),
            Vector512.Load(q + (12 + j) * ps),
            out y0, out y1);

    /// <summary>dm[t, pos, f] = (A dY Aᵀ)[pos] of each tile's 2×2 gradient, from d (PackOutputGradient's layout).</summary>
    public void TransformOutputGradient<T>(ReadOnlySpan<T> d, int samples, Span<T> dm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Vector512<T>.Count;
        long ps = FN, rs = 2L * TW * FN;
        fixed (T* pd = d, pm = dm)
            for (int s = 0, t = 0; s < samples; s++)
                for (int ty = 0; ty < TH; ty++)
                    for (int tx = 0; tx < TW; tx++, t++)
                        for (int fb = 0; fb < FN; fb += n)
                        {
                            T* q = pd + (((long)s * 2 * TH + 2 * ty) * 2 * TW + 2 * tx) * FN + fb;
                            T* o = pm + (long)t * MStride + fb;
                            // A dY: the columns' transform, then each row's.
                            A(Vector512.Load(q), Vector512.Load(q + rs), out var e00, out var e10, out var e20, out var e30);
                            A(Vector512.Load(q + FN), Vector512.Load(q + rs + FN), out var e01, out var e11, out var e21, out var e31);
                            StoreA(e00, e01, o, ps);
                            StoreA(e10, e11, o + 4 * ps, ps);
                            StoreA(e20, e21, o + 8 * ps, ps);
                            StoreA(e30, e31, o + 12 * ps, ps);
                        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreA<T>(Vector512<T> e0, Vector512<T> e1, T* o, long ps)
        where T : unmanaged
    {
        A(e0, e1, out var m0, out var m1, out var m2, out var m3);
        m0.Store(o);
        m1.Store(o + ps);
        m2.Store(o + 2 * ps);
        m3.Store(o + 3 * ps);
    }

    /// <summary>dxp (the padded channel-last input's gradient, cleared here) = Σ over tiles of B dV Bᵀ added onto each
    /// tile's 4×4 cells, tile by tile in order.</summary>
    public void TransformInputGradient<T>(ReadOnlySpan<T> dv, int samples, Span<T> dxp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        dxp[..(int)InputLength(samples)].Clear();
        int n = Vector512<T>.Count;
        long ps = C, rs = (long)Columns * C;
        fixed (T* pv = dv, px = dxp)
            for (int s = 0, t = 0; s < samples; s++)
                for (int ty = 0; ty < TH; ty++)
                    for (int tx = 0; tx < TW; tx++, t++)
                        for (int cb = 0; cb < C; cb += n)
                        {
                            T* q = pv + (long)t * VStride + cb;
                            T* d = px + (((long)s * Rows + 2 * ty) * Columns + 2 * tx) * C + cb;
                            // dV B: each row's transform (B on its four positions), then B (dV B) column by column.
                            Row4(q, ps, out var e00, out var e01, out var e02, out var e03);
                            Row4(q + 4 * ps, ps, out var e10, out var e11, out var e12, out var e13);
                            Row4(q + 8 * ps, ps, out var e20, out var e21, out var e22, out var e23);
                            Row4(q + 12 * ps, ps, out var e30, out var e31, out var e32, out var e33);
                            AddColumn(e00, e10, e20, e30, d, rs);
                            AddColumn(e01, e11, e21, e31, d + C, rs);
                            AddColumn(e02, e12, e22, e32, d + 2 * C, rs);
                            AddColumn(e03, e13, e23, e33, d + 3 * C, rs);
                        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row4<T>(T* q, long ps, out Vector512<T> d0, out Vector512<T> d1, out Vector512<T> d2, out Vector512<T> d3)
        where T : unmanaged =>
        B(Vector512.Load(q), Vector512.Load(q + ps), Vector512.Load(q + 2 * ps), Vector512.Load(q + 3 * ps),
            out d0, out d1, out d2, out d3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddColumn<T>(Vector512<T> e0, Vector512<T> e1, Vector512<T> e2, Vector512<T> e3, T* d, long rs)
        where T : unmanaged
    {
        B(e0, e1, e2, e3, out var d0, out var d1, out var d2, out var d3);
        (Vector512.Load(d) + d0).Store(d);
        (Vector512.Load(d + rs) + d1).Store(d + rs);
        (Vector512.Load(d + 2 * rs) + d2).Store(d + 2 * rs);
        (Vector512.Load(d + 3 * rs) + d3).Store(d + 3 * rs);
    }
}
