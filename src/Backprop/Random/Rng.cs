namespace Backprop;

/// <summary>
/// A seedable random generator (xoshiro256**) whose whole state can be saved and restored, so that a resumed run
/// draws exactly the numbers an uninterrupted one would.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spare;
    private bool _hasSpare;

    private static readonly Rng GlobalRng = new(0);

    /// <summary>
    /// A generator seeded from the process-wide one (seed 0 at start-up, so that a program's draws repeat from run to
    /// run): what layers built without an explicit generator draw their initial weights and dropout masks from.
    /// </summary>
    public static Rng Fork()
    {
        lock (GlobalRng) return new Rng(GlobalRng.NextUInt64());
    }

    /// <summary>Reseeds the process-wide generator behind <see cref="Fork"/> (as <c>torch.manual_seed</c> does).</summary>
    public static void Seed(ulong seed)
    {
        var fresh = new Rng(seed);
        lock (GlobalRng) GlobalRng.SetState(fresh.GetState());
    }

    /// <summary>Seeds the generator with SplitMix64, as the xoshiro authors recommend.</summary>
    public Rng(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A new generator seeded from this one's next draw: an independent stream for a layer of its own.</summary>
    public Rng Split() => new(NextUInt64());

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n), without modulo bias.</summary>
    public int Next(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        ulong limit = ulong.MaxValue - ulong.MaxValue % (ulong)n;
        ulong r;
        do r = NextUInt64(); while (r >= limit);
        return (int)(r % (ulong)n);
    }

    /// <summary>Standard normal (Marsaglia's polar method).</summary>
    public double NextGaussian()
    {
        if (_hasSpare) { _hasSpare = false; return _spare; }
        double u, v, s;
        do
        {
            u = NextDouble() * 2 - 1;
            v = NextDouble() * 2 - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        double f = Math.Sqrt(-2 * Math.Log(s) / s);
        _spare = v * f;
        _hasSpare = true;
        return u * f;
    }

    /// <summary>Shuffles <paramref name="a"/> in place (Fisher–Yates).</summary>
    public void Shuffle(Span<int> a)
    {
        for (int i = a.Length - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (a[i], a[j]) = (a[j], a[i]);
        }
    }

    /// <summary>The whole state, for checkpoints.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3, _hasSpare ? 1UL : 0UL, BitConverter.DoubleToUInt64Bits(_spare)];

    /// <summary>Restores a state from <see cref="GetState"/>.</summary>
    public void SetState(ReadOnlySpan<ulong> s)
    {
        if (s.Length != 6) throw new InvalidFileException($"random generator state has {s.Length} words, 6 expected");
        (_s0, _s1, _s2, _s3) = (s[0], s[1], s[2], s[3]);
        _hasSpare = s[4] != 0;
        _spare = BitConverter.UInt64BitsToDouble(s[5]);
    }
}
