using System.Diagnostics;
using System.Text;
using Backprop;
using Backprop.Cli.Support;

namespace Backprop.Cli.Grading;

/// <summary>
/// What the student's code sent back: a load error, or one result per case (fewer when it was stopped), and how it ran:
/// <see cref="Mode"/> is <c>bubblewrap</c> (the sandbox), <c>none</c> (<c>--trust</c>) or <c>in-process</c> (a C# assembly).
/// </summary>
internal sealed record PythonRun(string? LoadError, List<CaseResult> Results, bool TimedOut, int? ExitCode, string Stderr,
    string Mode);

/// <summary>The limits a student's file runs under.</summary>
internal sealed record GradeLimits(TimeSpan Timeout, long MemoryBytes);

/// <summary>
/// Runs the grading harness in a child Python process: in the sandbox (<see cref="Sandbox"/>) unless <c>bwrap</c> is null
/// (<c>--trust</c>), under limits on time, memory, processes and file size, reading back no more than the channel's bounds.
/// </summary>
internal static class PythonRunner
{
    public static string DefaultPython() =>
        File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : OperatingSystem.IsWindows() ? "python" : "python3";

    /// <summary>How long the pipes may stay open after the process ends (a child of the file's that holds them, in --trust).</summary>
    private static readonly TimeSpan Drain = TimeSpan.FromMilliseconds(500);

    public static PythonRun Run(string python, string file, string className, IReadOnlyList<Case> cases, GradeLimits limits,
        string? bwrap)
    {
        var dir = Directory.CreateTempSubdirectory("backprop-grade-");
        try
        {
            string harness = Path.Combine(dir.FullName, "harness.py");
            using (var s = typeof(PythonRunner).Assembly.GetManifestResourceStream("Backprop.Cli.Grading.harness.py")
                ?? throw new InvalidOperationException("the grading harness is missing from the assembly"))
            using (var f = File.Create(harness)) s.CopyTo(f);
            var env = new Dictionary<string, string>
            {
                ["OPENBLAS_NUM_THREADS"] = "1",
                ["OMP_NUM_THREADS"] = "1",
                ["BACKPROP_GRADE_MEMORY"] = limits.MemoryBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["BACKPROP_GRADE_FILE_SIZE"] = Sandbox.TmpBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            ProcessStartInfo psi;
            if (bwrap is not null)
            {
                // The sandbox sees a copy of the file alone, read-only: the file is graded as the platform grades it.
                string copy = Path.Combine(dir.FullName, "solution.py");
                File.Copy(file, copy);
                foreach (var f in (string[])[harness, copy])
                    if (!OperatingSystem.IsWindows())
                        File.SetUnixFileMode(f,
                            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                env["BACKPROP_GRADE_PROCESSES"] = Sandbox.Processes.ToString(System.Globalization.CultureInfo.InvariantCulture);
                psi = Sandbox.Start(bwrap, dir.FullName, python,
                    ["-I", "-B", $"{Sandbox.GradeDir}/harness.py", $"{Sandbox.GradeDir}/solution.py"], env);
            }
            else
            {
                // An empty working folder here too, removed afterwards.
                psi = new ProcessStartInfo(python) { UseShellExecute = false, WorkingDirectory = dir.CreateSubdirectory("work").FullName };
                // -I: isolated (no user site-packages, no PYTHON* variables); -B: no __pycache__ beside the file.
                foreach (var a in (string[])["-I", "-B", harness, Path.GetFullPath(file)]) psi.ArgumentList.Add(a);
                foreach (var (k, v) in env) psi.Environment[k] = v;
            }
            psi.RedirectStandardInput = psi.RedirectStandardOutput = psi.RedirectStandardError = true;
            return Run(psi, python, className, cases, limits.Timeout, bwrap is null ? "none" : "bubblewrap");
        }
        finally
        {
            try { dir.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static PythonRun Run(ProcessStartInfo psi, string python, string className, IReadOnlyList<Case> cases, TimeSpan timeout,
        string mode)
    {
        Process proc;
        try { proc = Process.Start(psi) ?? throw new InvalidInputException($"grade: could not start {python}"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidInputException($"grade: could not start {psi.FileName} ({e.Message}); install Python 3 and numpy " +
                "(apt-get install python3-numpy) or give --python PATH");
        }
        using (proc)
        {
            void Kill()
            {
                try { proc.Kill(entireProcessTree: true); }
                catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
            }
            var channel = new BoundedPipe(proc.StandardOutput.BaseStream, Channel.MaxTotal, Kill);
            var stderr = new BoundedPipe(proc.StandardError.BaseStream, 20_000, null);
            var writer = new Thread(() =>
            {
                try
                {
                    proc.StandardInput.Write(Request(className, cases));
                    proc.StandardInput.Close();
                }
                catch (IOException) { }   // the file ended the process before reading the cases
            })
            { IsBackground = true, Name = "grade cases" };
            writer.Start();
            bool done = proc.WaitForExit(timeout);
            if (!done) Kill();
            proc.WaitForExit(TimeSpan.FromSeconds(1));
            bool exited = proc.HasExited;
            string text = channel.Text(Drain);
            var (loadError, results) = Channel.Parse(text, cases.Count, channel.Overflowed);
            return new PythonRun(loadError, results, !done && !channel.Overflowed, done && exited ? proc.ExitCode : null,
                stderr.Text(Drain), mode);
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
