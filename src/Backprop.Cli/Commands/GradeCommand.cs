using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Backprop;
using Backprop.Cli.Grading;
using Backprop.Cli.Support;

namespace Backprop.Cli.Commands;

/// <summary>
/// <c>backprop grade FILE.py</c>: a student's own layer in the book's Python style, checked the way the exercise platform
/// checks it (random cases against the verified reference, tolerance 1e-5, a time limit), with a diagnosis of known
/// mistakes.
/// </summary>
internal static partial class GradeCommand
{
    public const string Usage = "backprop grade FILE.py [--layer fully_connected|relu|sigmoid|tanh|softmax_cross_entropy] [--cases N] " +
        "[--seed S] [--timeout SECONDS] [--memory MIB] [--python PATH] [--trust] [--json]";

    [GeneratedRegex(@"^[ \t]*class[ \t]+(\w+)", RegexOptions.Multiline)]
    private static partial Regex ClassLine();

    /// <summary>A graded file: its class and layer, the seed, every case's verdict, and how it ran.</summary>
    internal sealed record Outcome(string File, string ClassName, string Layer, int Seed, List<Verdict> Verdicts, PythonRun Run);

    public static (string Text, int Code) Run(Args args)
    {
        var o = Evaluate(args);
        string text = args.Flag("json") ? Json(o.File, o.ClassName, o.Layer, o.Seed, o.Verdicts, o.Run)
            : Report(o.File, o.ClassName, o.Layer, o.Seed, o.Verdicts, o.Run);
        return (text, o.Verdicts.All(v => v.Pass) ? 0 : 1);
    }

    /// <summary>Grades the file <paramref name="args"/> name, with its options; the verdicts, not yet a report.</summary>
    internal static Outcome Evaluate(Args args)
    {
        if (args.Positionals.Count != 1) throw new InvalidInputException($"grade: give one file to grade; usage: {Usage}");
        string file = args.Positionals[0];
        if (!File.Exists(file)) throw new InvalidInputException($"grade: {file} does not exist");
        int count = args.Int("cases", 20, 1, 1000);
        int seed = args.Int("seed", 0, 0);
        double timeout = args.Double("timeout", 20, 1, 3600);
        var limits = new GradeLimits(TimeSpan.FromSeconds(timeout), (long)args.Int("memory", 2048, 64, 1 << 20) << 20);
        bool trust = args.Flag("trust");
        if (file.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            if (!trust)
                throw new InvalidInputException($"grade: a C# assembly runs inside the grader's own process, where no sandbox can " +
                    $"contain it; grade only an assembly you trust, with --trust ({file})");
            string typeName = args.Value("type")
                ?? throw new InvalidInputException("grade: a compiled assembly needs --type Namespace.ClassName");
            string? asked = args.Value("layer")?.ToLowerInvariant() switch { "affine" or "fc" => "fully_connected", var x => x };
            if (asked is not null && !GradedLayers.Classes.ContainsKey(asked))
                throw new InvalidInputException($"grade: --layer must be one of {string.Join(", ", GradedLayers.Classes.Keys)}, not " +
                    $"'{asked}'");
            var (kind, shortName) = AssemblyRunner.Find(file, typeName, asked, out var type);
            var csCases = GradedLayers.Make(kind, count, seed);
            var csRun = AssemblyRunner.Run(type, csCases, limits.Timeout);
            return Finish(file, shortName, kind, seed, csCases, csRun, timeout);
        }
        string python = args.Value("python") ?? PythonRunner.DefaultPython();
        string? bwrap = null;
        if (!trust)
        {
            bwrap = Sandbox.Find(args.Value("bwrap"));
            if (Sandbox.Unavailable(bwrap) is { } why)
                throw new InvalidInputException($"grade: no sandbox can be had here ({why}), and a file is run only inside one unless " +
                    "you trust it: install bubblewrap (apt-get install bubblewrap), or give --trust to run a file of your own with " +
                    "your own rights");
        }
        string source = Backprop.IO.BoundedFile.ReadAllText(file, 4 << 20);
        var defined = ClassLine().Matches(source).Select(m => m.Groups[1].Value).ToHashSet();

        string layer;
        if (args.Value("layer") is { } l)
        {
            layer = l.ToLowerInvariant() switch
            {
                "affine" or "fc" => "fully_connected",
                // one name for one thing, as the layer command and the kinds registry spell it; the book's spelling stays
                "softmaxwithloss" or "softmax_with_loss" => "softmax_cross_entropy",
                var x =>
                x
            };
            if (!GradedLayers.Classes.ContainsKey(layer))
                throw new InvalidInputException($"grade: --layer must be one of {string.Join(", ", GradedLayers.Classes.Keys)}, not '{l}'");
        }
        else
        {
            var found = GradedLayers.Classes.Where(k => k.Value.Any(defined.Contains)).Select(k => k.Key).ToList();
            if (found.Count == 0)
                throw new InvalidInputException($"grade: {file} defines none of the book's classes " +
                    $"({string.Join(", ", GradedLayers.Classes.Values.SelectMany(v => v))}); name the class as the book does");
            if (found.Count > 1)
                throw new InvalidInputException($"grade: {file} defines {string.Join(" and ", found)}; choose one with --layer");
            layer = found[0];
        }
        string? className = GradedLayers.Classes[layer].FirstOrDefault(defined.Contains)
            ?? throw new InvalidInputException($"grade: {file} has no class {string.Join(" or ", GradedLayers.Classes[layer])}");

        var cases = GradedLayers.Make(layer, count, seed);
        var run = PythonRunner.Run(python, file, className, cases, limits, bwrap);
        return Finish(file, className, layer, seed, cases, run, timeout);
    }

    private static Outcome Finish(string file, string className, string layer, int seed, List<Case> cases, PythonRun run,
        double timeout)
    {
        if (run.LoadError is { } le)
            throw new InvalidInputException($"grade: {file} cannot be loaded:\n{le.TrimEnd()}");
        if (run.Results.Count == 0 && !run.TimedOut && run.ExitCode is not 0)
            throw new InvalidInputException($"grade: the Python process for {file} ended with exit code {run.ExitCode} before any case" +
                (run.Stderr.Length > 0 ? $":\n{run.Stderr.TrimEnd()}" : ""));
        var verdicts = cases.Select((c, i) => i >= run.Results.Count ? Checker.Check(layer, c, null)
            : run.Results[i].Violation is { } v ? new Verdict(c, false, [], [], v, null)
            : Checker.Check(layer, c, run.Results[i].Value)).ToList();
        if (run.TimedOut)
            for (int i = run.Results.Count; i < verdicts.Count; i++)
                verdicts[i] = verdicts[i] with { Error = $"the time limit of {timeout:0.#} s ran out before this case" };
        else if (run.Results.Count < cases.Count)
            for (int i = run.Results.Count; i < verdicts.Count; i++)
                verdicts[i] = verdicts[i] with
                {
                    Error = $"the Python process ended (exit code {run.ExitCode}) before this case" +
                        (run.Stderr.Length > 0 ? $": {run.Stderr.Trim().Split('\n')[^1]}" : ""),
                };
        return new Outcome(file, className, layer, seed, verdicts, run);
    }

    private static string Report(string file, string className, string layer, int seed, List<Verdict> verdicts, PythonRun run)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"grading {file}: class {className} as {layer}, {verdicts.Count} cases (seed {seed}), tolerance {Checker.Tolerance:0e0}"));
        sb.AppendLine(run.Mode switch
        {
            "bubblewrap" => "run in a sandbox (bubblewrap): no network, read-only files but an empty working folder, its own processes",
            "none" => "run without a sandbox, with your own rights (--trust)",
            _ => "run in the grader's own process (--trust)",
        });
        var sample = verdicts[0].Case;
        if (layer == "fully_connected")
        {
            sb.AppendLine("case 1 is the exercise's sample; the reference gives:");
            foreach (var (name, a) in sample.Expected)
                sb.AppendLine($"  {name} {a.ShapeText} = {Checker.Values(a.Data, 8)}");
        }
        for (int i = 0; i < verdicts.Count; i++)
        {
            var v = verdicts[i];
            string what = v.Pass ? "pass" : v.Error is not null ? "FAIL (" + (v.Error.Contains('\n') ? "an exception" : v.Error) + ")"
                : "FAIL: " + string.Join(", ", v.Mismatches.Select(m => m.Output));
            sb.AppendLine($"case {i + 1} ({v.Case.Name}): {what}");
        }
        var first = verdicts.FirstOrDefault(v => !v.Pass);
        if (first is not null)
        {
            int n = verdicts.IndexOf(first) + 1;
            sb.AppendLine();
            sb.AppendLine($"first failure, case {n} ({first.Case.Name}):");
            if (first.Error is not null)
            {
                if (first.Error.Contains('\n'))
                {
                    sb.AppendLine("  your code raised an exception:");
                    foreach (var line in first.Error.TrimEnd().Split('\n')) sb.AppendLine("    " + line);
                }
                else sb.AppendLine($"  {first.Error}");
                if (first.ErrorDiagnosis is { } d) sb.AppendLine($"  diagnosis: {d}");
            }
            foreach (var m in first.Mismatches)
            {
                sb.AppendLine($"  {m.Output}: expected shape {m.Expected.ShapeText}, " +
                    (m.Actual is null ? $"got {(m.ActualType == "missing" ? "nothing" : m.ActualType)}" : $"got {m.Actual.ShapeText}"));
                sb.AppendLine($"    expected {Checker.Values(m.Expected.Data)}");
                if (m.Actual is not null) sb.AppendLine($"    got      {Checker.Values(m.Actual.Data)}");
                if (m.Diagnosis is { } d) sb.AppendLine($"    diagnosis: {d}");
            }
        }
        foreach (var w in verdicts.SelectMany(v => v.Warnings).Distinct()) sb.AppendLine($"warning: {w}");
        if (run.Stderr.Trim().Length > 0) sb.AppendLine("(your code printed to the console; its output is not part of the grade)");
        int failed = verdicts.Count(v => !v.Pass);
        sb.AppendLine(failed == 0 ? $"{verdicts.Count}/{verdicts.Count} cases pass" : $"{failed} of {verdicts.Count} cases fail");
        return sb.ToString();
    }

    private static string Json(string file, string className, string layer, int seed, List<Verdict> verdicts, PythonRun run)
    {
        string json = Support.Json.Render(w =>
        {
            w.WriteStartObject();
            w.WriteString("file", file);
            w.WriteString("class", className);
            w.WriteString("layer", layer);
            w.Number("seed", seed);
            w.Number("tolerance", Checker.Tolerance);
            w.WriteString("sandbox", run.Mode);
            w.WriteStartArray("cases");
            for (int i = 0; i < verdicts.Count; i++)
            {
                var v = verdicts[i];
                w.WriteStartObject();
                w.Number("case", i + 1);
                w.WriteString("name", v.Case.Name);
                w.WriteBoolean("pass", v.Pass);
                if (v.Error is not null) w.WriteString("error", v.Error);
                if (v.ErrorDiagnosis is not null) w.WriteString("diagnosis", v.ErrorDiagnosis);
                w.WriteStartArray("failures");
                foreach (var m in v.Mismatches)
                {
                    w.WriteStartObject();
                    w.WriteString("output", m.Output);
                    WriteShape(w, "expected_shape", m.Expected.Shape);
                    if (m.Actual is not null) WriteShape(w, "actual_shape", m.Actual.Shape);
                    else w.WriteString("actual", m.ActualType);
                    if (m.Diagnosis is not null) w.WriteString("diagnosis", m.Diagnosis);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("warnings");
                foreach (var s in v.Warnings) w.WriteStringValue(s);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("summary");
            w.Number("cases", verdicts.Count);
            w.Number("passed", verdicts.Count(v => v.Pass));
            w.Number("failed", verdicts.Count(v => !v.Pass));
            w.WriteBoolean("timed_out", run.TimedOut);
            w.WriteEndObject();
            w.WriteEndObject();
        });
        return json + "\n";
    }

    private static void WriteShape(Utf8JsonWriter w, string name, int[] shape)
    {
        w.WriteStartArray(name);
        foreach (int d in shape) w.WriteNumberValue(d);
        w.WriteEndArray();
    }
}
