using System.Text.Json.Serialization;

namespace Backprop.Data;

/// <summary>
/// Per-feature standardization, x' = (x − mean)/std, fitted on the training data alone (std over the samples, with N in
/// the denominator as numpy's default; a constant feature gets std 1) and kept with the model, so that raw inputs given
/// to the trained model later are scaled as its training data was.
/// </summary>
public sealed record Standardization
{
    /// <summary>Each feature's mean over the training data.</summary>
    [JsonPropertyName("mean")] public float[] Mean { get; init; } = [];

    /// <summary>Each feature's standard deviation over the training data (1 where it is 0).</summary>
    [JsonPropertyName("std")] public float[] Std { get; init; } = [];

    /// <summary>The means and deviations of <paramref name="train"/>'s features (accumulated in float64).</summary>
    public static Standardization Fit(Dataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        int d = train.Dim, n = train.Count;
        var sum = new double[d];
        var squares = new double[d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) sum[j] += train.Features[(long)i * d + j];
        for (int j = 0; j < d; j++) sum[j] /= Math.Max(n, 1);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
            {
                double v = train.Features[(long)i * d + j] - sum[j];
                squares[j] += v * v;
            }
        var std = new float[d];
        for (int j = 0; j < d; j++)
        {
            double s = Math.Sqrt(squares[j] / Math.Max(n, 1));
            std[j] = s > 0 && double.IsFinite(s) ? (float)s : 1f;
        }
        return new Standardization { Mean = [.. sum.Select(v => (float)v)], Std = std };
    }

    /// <summary>Standardizes rows of <see cref="Mean"/>.Length features in place.</summary>
    public void Apply(Span<float> rows)
    {
        int d = Mean.Length;
        if (d == 0 || rows.Length % d != 0)
            throw new ShapeMismatchException($"standardization of {d} features cannot apply to {rows.Length} values");
        for (int i = 0; i < rows.Length; i++) rows[i] = (rows[i] - Mean[i % d]) / Std[i % d];
    }

    /// <summary>The same samples, standardized (a new dataset; the given one is unchanged).</summary>
    public Dataset Apply(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Dim != Mean.Length)
            throw new ShapeMismatchException($"{data.Name} has {data.Dim} features, the standardization {Mean.Length}");
        var f = (float[])data.Features.Clone();
        Apply(f);
        var copy = data.IsRegression ? new Dataset(data.Name, f, data.Dim, data.Targets!, data.TargetDim)
            : new Dataset(data.Name, f, data.Labels, data.Dim, data.Classes, data.ClassNames);
        return copy.WithSampleShape(data.SampleShape);
    }
}
