using System.Globalization;
using System.Text;
using Backprop;
using Backprop.Cli.Support;
using Backprop.Gradients;

namespace Backprop.Cli.Commands;

/// <summary><c>backprop gradcheck</c>: every backward pass against numerical gradients, as a table.</summary>
internal static class GradcheckCommand
{
    public const string Usage = "backprop gradcheck [--seed N] [--json]";

    public static (string Text, int ExitCode) Run(Args args)
    {
        if (args.Positionals.Count > 0) throw new InvalidInputException($"gradcheck: unexpected argument '{args.Positionals[0]}'; " +
            $"usage: {Usage}");
        var results = GradientCheckSuite.Run(args.Int("seed", 0, 0));
        bool ok = results.All(r => r.MaxRelativeError < GradientCheckSuite.Tolerance);
        if (args.Flag("json"))
        {
            string json = Json.Render(w =>
            {
                w.WriteStartArray();
                foreach (var r in results)
                {
                    w.WriteStartObject();
                    w.WriteString("target", r.Target);
                    w.WriteString("parameter", r.Parameter);
                    w.Number("elements", r.Count);
                    w.Number("max_relative_error", r.MaxRelativeError);
                    w.Number("max_absolute_error", r.MaxAbsoluteError);
                    w.WriteBoolean("ok", r.MaxRelativeError < GradientCheckSuite.Tolerance);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            return (json + "\n", ok ? 0 : 1);
        }
        return (Table(results), ok ? 0 : 1);
    }

    public static string Table(IReadOnlyList<GradientCheckResult> results)
    {
        var sb = new StringBuilder();
        int w = Math.Max(6, results.Max(r => r.Target.Length));
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{"target".PadRight(w)}  {"param",-5}  {"elements",8}  {"max rel error",13}  {"max abs error",13}  result"));
        sb.AppendLine(new string('-', w + 2 + 5 + 2 + 8 + 2 + 13 + 2 + 13 + 2 + 6));
        foreach (var r in results)
        {
            string verdict = r.MaxRelativeError < GradientCheckSuite.Tolerance ? "ok" : "FAIL";
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Target.PadRight(w)}  {r.Parameter,-5}  {r.Count,8}  {r.MaxRelativeError,13:0.00e+00} " +
                    $" {r.MaxAbsoluteError,13:0.00e+00}  {verdict}"));
        }
        int failed = results.Count(r => r.MaxRelativeError >= GradientCheckSuite.Tolerance);
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{results.Count - failed} of {results.Count} below {GradientCheckSuite.Tolerance:0e+00} (relative error = |analytic − " +
                $"numeric| / max(|analytic| + |numeric|, 1e-6), 6th-order central differences, h = {GradientCheck.DefaultStep:0e+00})"));
        return sb.ToString();
    }
}
