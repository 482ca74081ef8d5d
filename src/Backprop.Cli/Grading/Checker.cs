using System.Globalization;
using System.Text.Json;
using Backprop.Cli.Support;

namespace Backprop.Cli.Grading;

/// <summary>One output that is wrong: what was expected and what came back, and the known mistake it looks like.</summary>
internal sealed record Mismatch(string Output, Array64 Expected, Array64? Actual, string? ActualType, string? Diagnosis);

/// <summary>One case's verdict.</summary>
internal sealed record Verdict(Case Case, bool Pass, List<Mismatch> Mismatches, List<string> Warnings, string? Error,
    string? ErrorDiagnosis);

/// <summary>Compares the student's outputs with the reference within the exercise's tolerance and names known mistakes.</summary>
internal static class Checker
{
    /// <summary>The exercise's tolerance: |actual − expected| ≤ 1e-5 + 1e-5·|expected| element by element.</summary>
    public const double Tolerance = 1e-5;

    public static bool Close(double[] a, double[] e)
    {
        if (a.Length != e.Length) return false;
        for (int i = 0; i < a.Length; i++)
            if (!(Math.Abs(a[i] - e[i]) <= Tolerance + Tolerance * Math.Abs(e[i]))) return false;
        return true;
    }

    public static Verdict Check(string layer, Case c, JsonElement? result)
    {
        var mismatches = new List<Mismatch>();
        var warnings = new List<string>();
        if (result is not { } r) return new Verdict(c, false, mismatches, warnings, "no result: the time limit ran out before this case",
            null);
        if (r.TryGetProperty("error", out var err))
        {
            string tb = err.GetString() ?? "";
            return new Verdict(c, false, mismatches, warnings, tb, DiagnoseError(layer, tb));
        }
        if (r.TryGetProperty("dout_modified", out var dm) && dm.GetBoolean())
            warnings.Add("backward changed dout in place (the book's own Relu.backward does this; a caller that uses dout again would " +
                "see it changed)");
        foreach (var (name, expected) in c.Expected)
        {
            var (actual, type) = Read(r, name);
            if (actual is not null && actual.Shape.AsSpan().SequenceEqual(expected.Shape) && Close(actual.Data, expected.Data)) continue;
            // A scalar loss may come back as a 0-d array or a 1-element array.
            if (actual is not null && expected.Shape.Length == 0 && actual.Data.Length == 1 && Close(actual.Data, expected.Data)) continue;
            mismatches.Add(new Mismatch(name, expected, actual, type, actual is null ? null : Diagnose(layer, name, c, expected, actual)));
        }
        return new Verdict(c, mismatches.Count == 0, mismatches, warnings, null, null);
    }

    private static (Array64? Array, string? Type) Read(JsonElement r, string name)
    {
        if (!r.TryGetProperty(name, out var v)) return (null, "missing");
        if (v.TryGetProperty("type", out var t)) return (null, t.GetString());
        var shape = v.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var data = v.GetProperty("data").EnumerateArray().Select(Json.ReadNumber).ToArray();
        return (new Array64(shape, data), null);
    }

    // ---- the known mistakes ----

    private static string? Diagnose(string layer, string output, Case c, Array64 e, Array64 a)
    {
        var inp = c.Inputs;
        if (layer == "fully_connected")
        {
            int B = inp["x"].Shape[0], N = inp["W"].Shape[0], M = inp["W"].Shape[1];
            if (output == "dW")
            {
                if (a.Shape.SequenceEqual(new[] { M, N }) && Close(a.Data, Transpose(e.Data, N, M)))
                    return "dW is transposed: you computed doutᵀ·x, shape (M, N); the exercise's dW = xᵀ·dout has W's shape (N, M)";
                if (Close(a.Data, Transpose(e.Data, N, M)) && a.Data.Length == e.Data.Length)
                    return "dW holds the values of doutᵀ·x laid out in W's shape: it is transposed; dW = xᵀ·dout";
                if (c.Expected.TryGetValue("dx", out var dx) && Close(a.Data, dx.Data))
                    return "dW holds dout·Wᵀ, which is dx; dW = xᵀ·dout (x flattened to (B, N))";
            }
            if (output == "db")
            {
                if (a.Shape.SequenceEqual(new[] { B, M }) && Close(a.Data, inp["dout"].Data))
                    return "db is dout itself: sum it over the batch, db = Σ_batch dout (np.sum(dout, axis=0))";
                if (B > 1 && Close(a.Data, e.Data.Select(v => v / B).ToArray()))
                    return "db is the batch mean of dout; the exercise sums it: db = np.sum(dout, axis=0)";
            }
            if (output == "dx")
            {
                if (inp["x"].Shape.Length > 2 && a.Shape.SequenceEqual(new[] { B, N }) && Close(a.Data, e.Data))
                    return $"dx has shape {a.ShapeText}, but x had shape {inp["x"].ShapeText}: reshape dx to x's original shape " +
                        "(dx.reshape(*self.original_x_shape))";
                if (N == M && Close(a.Data, AddRows(e.Data, inp["b"].Data)))
                    return "dx includes b: the bias does not enter dx = dout·Wᵀ (b only shifts y)";
            }
            if (output == "y" && Close(a.Data, SubtractRows(e.Data, inp["b"].Data)))
                return "y lacks the bias: y = x·W + b";
        }
        if (layer == "sigmoid" && output == "dx")
        {
            var x = inp["x"].Data;
            var d = inp["dout"].Data;
            if (Close(a.Data, x.Select((v, i) => d[i] * v * (1 - v)).ToArray()))
                return "Sigmoid's backward uses x: the derivative is y·(1 − y) with y = sigmoid(x), the output kept by forward";
        }
        if (layer == "relu" && output == "dx")
        {
            var x = inp["x"].Data;
            var d = inp["dout"].Data;
            if (Close(a.Data, x.Select((v, i) => v >= 0 ? d[i] : 0).ToArray()))
                return "ReLU's gradient at exactly x = 0 must be 0: mask with x <= 0 (the book's Relu), not x < 0";
        }
        if (layer == "softmax_cross_entropy" && output == "dx")
        {
            int B = inp["x"].Shape[0];
            if (B > 1 && Close(a.Data, e.Data.Select(v => v * B).ToArray()))
                return "dx is not divided by the batch size: dx = (y − t)/B";
        }
        int nan = a.Data.Count(double.IsNaN), inf = a.Data.Count(double.IsInfinity);
        if (nan + inf > 0) return $"{output} holds {(nan > 0 ? $"{nan} NaN" : "")}{(nan > 0 && inf > 0 ? " and " : "")}" +
            $"{(inf > 0 ? $"{inf} infinite" : "")} value(s) of {a.Data.Length}; the exercise's values are all finite";
        if (!a.Shape.AsSpan().SequenceEqual(e.Shape)) return $"the shape is {a.ShapeText}, but the exercise needs {e.ShapeText}";
        return null;
    }

    private static string? DiagnoseError(string layer, string traceback)
    {
        bool inBackward = traceback.Contains("in backward", StringComparison.Ordinal);
        if (inBackward && (traceback.Contains("NoneType", StringComparison.Ordinal) || traceback.Contains("has no attribute",
            StringComparison.Ordinal)))
            return layer == "fully_connected"
                ? "backward uses something forward did not keep: forward must store x (self.x = x, flattened) for dW = xᵀ·dout"
                : "backward uses something forward did not keep: store what backward needs in forward (self.mask, self.out, …)";
        if (layer == "fully_connected" && inBackward && traceback.Contains("broadcast", StringComparison.Ordinal))
            return "dx = dout·Wᵀ has shape (B, N): adding b (M entries) to it fails; the bias does not enter dx";
        return null;
    }

    private static double[] Transpose(double[] a, int rows, int cols)
    {
        var t = new double[a.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
        return t;
    }

    private static double[] AddRows(double[] a, double[] row) => a.Select((v, i) => v + row[i % row.Length]).ToArray();

    private static double[] SubtractRows(double[] a, double[] row) => a.Select((v, i) => v - row[i % row.Length]).ToArray();

    public static string Values(double[] v, int count = 6) =>
        "[" + string.Join(", ", v.Take(count).Select(x => x.ToString("0.######", CultureInfo.InvariantCulture)))
            + (v.Length > count ? ", …" : "") + "]";
}
