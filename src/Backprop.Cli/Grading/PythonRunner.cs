using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Backprop;

namespace Backprop.Cli.Grading;

/// <summary>What the student's process sent back: a load error, or one result per case (fewer when it was stopped).</summary>
internal sealed record PythonRun(string? LoadError, List<JsonElement> Results, bool TimedOut, int? ExitCode, string Stderr);

/// <summary>Runs the grading harness in a child Python process with the platform's limits: time, memory, no network needed.</summary>
internal static class PythonRunner
{
    public static string DefaultPython() =>
        File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : OperatingSystem.IsWindows() ? "python" : "python3";

    public static PythonRun Run(string python, string file, string className, IReadOnlyList<Case> cases, TimeSpan timeout)
    {
        string harness = Path.Combine(Path.GetTempPath(), $"backprop-grade-{Environment.ProcessId}-{Guid.NewGuid():N}.py");
        using (var s = typeof(PythonRunner).Assembly.GetManifestResourceStream("Backprop.Cli.Grading.harness.py")
            ?? throw new InvalidOperationException("the grading harness is missing from the assembly"))
        using (var f = File.Create(harness)) s.CopyTo(f);
        try
        {
            var psi = new ProcessStartInfo(python)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = Encoding.UTF8,
                StandardErrorEncoding = Encoding.UTF8,
            };
            psi.ArgumentList.Add("-I");   // isolated: no user site-packages, no PYTHON* variables
            psi.ArgumentList.Add("-B");   // no __pycache__ beside the student's file
            psi.ArgumentList.Add(harness);
            psi.ArgumentList.Add(Path.GetFullPath(file));
            psi.Environment["OPENBLAS_NUM_THREADS"] = "1";
            psi.Environment["OMP_NUM_THREADS"] = "1";
            Process proc;
            try { proc = Process.Start(psi) ?? throw new InvalidInputException($"grade: could not start {python}"); }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidInputException($"grade: could not start {python} ({e.Message}); install Python 3 and numpy " +
                    "(apt-get install python3-numpy) or give --python PATH");
            }
            using (proc)
            {
                var lines = new List<string>();
                var err = new StringBuilder();
                proc.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
                proc.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (err) if (err.Length < 20_000) err.AppendLine(e.Data); };
                proc.BeginOutputReadLine();
                proc.BeginErrorReadLine();
                try
                {
                    proc.StandardInput.Write(Request(className, cases));
                    proc.StandardInput.Close();
                }
                catch (IOException) { }   // the student's file ended the process before reading the cases
                bool done = proc.WaitForExit(timeout);
                if (!done)
                {
                    try { proc.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                    proc.WaitForExit();
                }
                else proc.WaitForExit();   // the asynchronous readers drain
                string? loadError = null;
                var results = new List<JsonElement>();
                lock (lines)
                    foreach (var line in lines)
                    {
                        JsonElement e;
                        try { e = JsonDocument.Parse(line).RootElement.Clone(); }
                        catch (JsonException) { continue; }
                        if (e.TryGetProperty("load_error", out var le)) loadError = le.GetString();
                        else if (e.TryGetProperty("classes", out _)) continue;
                        else results.Add(e);
                    }
                return new PythonRun(loadError, results, !done, done ? proc.ExitCode : null, err.ToString());
            }
        }
        finally
        {
            try { File.Delete(harness); } catch (IOException) { }
        }
    }

    private static string Request(string className, IReadOnlyList<Case> cases)
    {
        string json = Json.Render(w =>
        {
            w.WriteStartObject();
            w.WriteString("class", className);
            w.WriteStartArray("cases");
            foreach (var c in cases)
            {
                w.WriteStartObject();
                foreach (var (name, a) in c.Inputs) a.Write(w, name);
                if (c.Inputs.ContainsKey("t")) w.WriteString("t_kind", c.OneHot ? "one_hot" : "indices");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
        return json;
    }
}
