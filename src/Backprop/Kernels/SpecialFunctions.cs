namespace Backprop.Kernels;

/// <summary>Scalar special functions .NET lacks, accurate to a few ulps in double.</summary>
internal static class SpecialFunctions
{
    private const double TwoOverSqrtPi = 1.1283791670955126;
    private const double InvSqrtPi = 0.5641895835477563;

    /// <summary>The error function erf(z) = 2/√π ∫₀ᶻ e^(−t²) dt.</summary>
    public static double Erf(double z)
    {
        if (double.IsNaN(z)) return z;
        double a = Math.Abs(z);
        double r = a < 1.5 ? ErfSeries(a) : 1.0 - ErfcFraction(a);
        return z < 0 ? -r : r;
    }

    /// <summary>The complementary error function erfc(z) = 1 − erf(z), accurate in the far tail too.</summary>
    public static double Erfc(double z)
    {
        if (double.IsNaN(z)) return z;
        if (z < 0) return 2.0 - Erfc(-z);
        return z < 1.5 ? 1.0 - ErfSeries(z) : ErfcFraction(z);
    }

    /// <summary>Φ(x), the standard normal distribution function, = erfc(−x/√2)/2.</summary>
    public static double NormalCdf(double x) => 0.5 * Erfc(-x * 0.7071067811865476);

    /// <summary>log(1 + x), accurate for small x.</summary>
    public static double Log1P(double x)
    {
        double u = 1.0 + x;
        if (u == 1.0) return x;
        if (double.IsInfinity(u)) return u;
        // log(u)·x/(u−1) cancels the rounding error of forming u (Goldberg's trick).
        return Math.Log(u) * x / (u - 1.0);
    }

    // erf(z) = 2/√π · e^(−z²) · Σₙ (2z²)ⁿ z / (1·3·…·(2n+1)): every term positive, no cancellation.
    private static double ErfSeries(double z)
    {
        double z2 = z * z;
        double term = z, sum = z;
        for (int n = 1; n < 200; n++)
        {
            term *= 2.0 * z2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        return TwoOverSqrtPi * Math.Exp(-z2) * sum;
    }

    // erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated from the tail; 120 terms reach full double precision for
    // z ≥ 1.5.
    private static double ErfcFraction(double z)
    {
        if (z > 27.3) return 0.0;
        double f = z;
        for (int n = 120; n >= 1; n--) f = z + 0.5 * n / f;
        return InvSqrtPi * Math.Exp(-z * z) / f;
    }
}
