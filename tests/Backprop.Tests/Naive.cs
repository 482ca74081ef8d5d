namespace Backprop.Tests;

/// <summary>Obviously-correct reference implementations: plain loops in double, straight from the formulas.</summary>
internal static class Naive
{
    /// <summary>C[i,j] = Σ_k A[i,k]·B[k,j] (+ bias[j]) with A (M×K), B (K×N) dense row-major.</summary>
    public static double[] MatMul(double[] a, double[] b, int M, int K, int N, double[]? bias = null)
    {
        var c = new double[M * N];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double s = 0;
                for (int k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
                c[i * N + j] = s + (bias?[j] ?? 0);
            }
        return c;
    }

    /// <summary>Σ_k |A[i,k]·B[k,j]|: the scale of the rounding error of C[i,j].</summary>
    public static double[] AbsMatMul(double[] a, double[] b, int M, int K, int N)
    {
        var c = new double[M * N];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double s = 0;
                for (int k = 0; k < K; k++) s += Math.Abs(a[i * K + k] * b[k * N + j]);
                c[i * N + j] = s;
            }
        return c;
    }

    public static double[] Transpose(double[] a, int rows, int cols)
    {
        var t = new double[a.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
        return t;
    }

    public static double Sigmoid(double x) => 1.0 / (1.0 + Math.Exp(-x));

    /// <summary>Φ(x) by integrating the normal density with Simpson's rule: independent of the library's erf.</summary>
    public static double NormalCdf(double x)
    {
        if (x < -40) return 0;
        double lo = Math.Min(x, -40), hi = x;
        int n = 20000;
        double h = (hi - lo) / n, s = Pdf(lo) + Pdf(hi);
        for (int i = 1; i < n; i++) s += (i % 2 == 1 ? 4 : 2) * Pdf(lo + i * h);
        return s * h / 3;
    }

    public static double Pdf(double x) => Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);

    public static (double y, double d) Activation(string kind, double x) => kind switch
    {
        "relu" => (x > 0 ? x : 0, x > 0 ? 1 : 0),
        "sigmoid" => (Sigmoid(x), Sigmoid(x) * (1 - Sigmoid(x))),
        "tanh" => (Math.Tanh(x), 1 - Math.Tanh(x) * Math.Tanh(x)),
        "leaky_relu" => (x > 0 ? x : 0.01 * x, x > 0 ? 1 : 0.01),
        "elu" => (x > 0 ? x : Math.Exp(x) - 1, x > 0 ? 1 : Math.Exp(x)),
        "gelu" => (x * NormalCdf(x), NormalCdf(x) + x * Pdf(x)),
        "silu" => (x * Sigmoid(x), Sigmoid(x) + x * Sigmoid(x) * (1 - Sigmoid(x))),
        "softplus" => (x > 20 ? x : Math.Log(1 + Math.Exp(x)), x > 20 ? 1 : Math.Exp(x) / (1 + Math.Exp(x))),
        _ => throw new ArgumentException(kind),
    };
}
