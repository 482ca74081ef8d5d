using Backprop.Cli.Commands;
using Backprop.Cli.Grading;

namespace Backprop.Cli.Playground;

/// <summary>
/// <c>--grade FILE</c>: view 2 opens on the first case <c>backprop grade</c> fails, the student's outputs beside the
/// reference's, the elements outside the exercise's tolerance listed for the page to mark, and the grader's diagnosis.
/// </summary>
internal static class GradeView
{
    public static object Of(GradeCommand.Outcome o)
    {
        int failed = o.Verdicts.Count(v => !v.Pass);
        var first = o.Verdicts.FirstOrDefault(v => !v.Pass);
        if (first is null)
            return new { file = o.File, className = o.ClassName, layer = o.Layer, cases = o.Verdicts.Count, failed, sandbox = o.Run.Mode };
        var c = first.Case;
        var outputs = c.Expected.Select(e =>
        {
            var m = first.Mismatches.FirstOrDefault(x => x.Output == e.Key);
            var actual = m?.Actual;
            int[] differ = actual is null || actual.Data.Length != e.Value.Data.Length ? []
                : [.. Enumerable.Range(0, actual.Data.Length).Where(i =>
                    !(Math.Abs(actual.Data[i] - e.Value.Data[i]) <= Checker.Tolerance + Checker.Tolerance * Math.Abs(e.Value.Data[i])))];
            return new
            {
                name = e.Key,
                expected = Of(e.Value),
                actual = actual is null ? null : Of(actual),
                ok = m is null,
                actualType = m?.ActualType,
                differ,
                diagnosis = m?.Diagnosis,
            };
        }).ToList();
        return new
        {
            file = o.File,
            className = o.ClassName,
            layer = o.Layer,
            cases = o.Verdicts.Count,
            failed,
            sandbox = o.Run.Mode,
            @case = o.Verdicts.IndexOf(first) + 1,
            caseName = c.Name,
            inputs = c.Inputs.ToDictionary(i => i.Key, i => Of(i.Value)),
            outputs,
            error = first.Error,
            errorDiagnosis = first.ErrorDiagnosis,
            tolerance = Checker.Tolerance,
        };
    }

    private static object Of(Array64 a) => new { shape = a.Shape, data = a.Data.Select(v => double.IsFinite(v) ? v : (double?)null) };
}
