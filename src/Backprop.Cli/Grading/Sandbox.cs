using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Backprop.Cli.Grading;

/// <summary>
/// Runs a student's file contained, through Debian's bubblewrap (<c>bwrap</c>): new user, PID, network, IPC, UTS and cgroup
/// namespaces (no network, no other process to see or signal, and the whole process tree dies with the sandbox's first
/// process), the file system read-only but for an empty working folder and a private <c>/tmp</c> of 64 MiB, a minimal
/// environment, and a session of its own. Run as root, the sandbox drops to the user <c>nobody</c> first (setpriv), since
/// the kernel exempts root from the limit on processes the harness sets.
/// </summary>
internal static partial class Sandbox
{
    /// <summary>Where the sandbox sees the grader's folder (the harness and the copy of the student's file), read-only.</summary>
    public const string GradeDir = "/tmp/grade";

    /// <summary>The sandbox's working folder: empty, writable, gone when the sandbox ends.</summary>
    public const string WorkDir = "/tmp/work";

    /// <summary>Size of the sandbox's private /tmp and /dev/shm, in bytes.</summary>
    public const long TmpBytes = 64L << 20;

    /// <summary>The processes and threads the student's file may have at once, the harness included.</summary>
    public const int Processes = 16;

    private const int Nobody = 65534;

    private static readonly ConcurrentDictionary<string, string?> Probed = new();

    /// <summary>The bubblewrap to use: <paramref name="asked"/> or <c>bwrap</c> on the PATH.</summary>
    public static string? Find(string? asked)
    {
        if (asked is not null) return asked;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, "bwrap"))) return Path.Combine(dir, "bwrap");
        return null;
    }

    /// <summary>Why no sandbox can be had here with <paramref name="bwrap"/>, or null when one can (probed once per path).</summary>
    public static string? Unavailable(string? bwrap)
    {
        if (!OperatingSystem.IsLinux()) return "the sandbox needs Linux namespaces";
        if (bwrap is null) return "bubblewrap (bwrap) is not installed";
        return Probed.GetOrAdd(bwrap, Probe);
    }

    private static string? Probe(string bwrap)
    {
        if (!File.Exists(bwrap)) return $"{bwrap} does not exist";
        if (IsRoot && !File.Exists(Setpriv)) return $"running as root, the sandbox needs {Setpriv} (util-linux) to drop to nobody";
        var dir = Directory.CreateTempSubdirectory("backprop-grade-probe-");
        try
        {
            var psi = Start(bwrap, dir.FullName, "/bin/true", [], new Dictionary<string, string>());
            psi.RedirectStandardError = true;
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            if (!p.WaitForExit(10_000)) { p.Kill(entireProcessTree: true); return $"{bwrap} did not start a sandbox in 10 s"; }
            return p.ExitCode == 0 ? null : $"{bwrap} cannot make a sandbox here: {err.Trim().Split('\n')[^1]}";
        }
        catch (System.ComponentModel.Win32Exception e) { return $"{bwrap} cannot be started ({e.Message})"; }
        finally { dir.Delete(recursive: true); }
    }

    private const string Setpriv = "/usr/bin/setpriv";

    private static bool IsRoot => OperatingSystem.IsLinux() && geteuid() == 0;

    [LibraryImport("libc")]
    private static partial uint geteuid();

    /// <summary>
    /// A process that runs <paramref name="program"/> in the sandbox, with <paramref name="dir"/> (made readable for it) seen at
    /// <see cref="GradeDir"/> and only the variables in <paramref name="env"/> (and PATH, HOME, LANG) set.
    /// </summary>
    public static ProcessStartInfo Start(string bwrap, string dir, string program, IEnumerable<string> args,
        IReadOnlyDictionary<string, string> env)
    {
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var psi = new ProcessStartInfo(IsRoot ? Setpriv : bwrap) { UseShellExecute = false };
        var a = psi.ArgumentList;
        if (IsRoot)
            foreach (var s in (string[])[$"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "--", bwrap]) a.Add(s);
        string size = TmpBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var s in (string[])[
            "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", "/dev/shm",
            "--ro-bind", dir, GradeDir, "--dir", WorkDir, "--chdir", WorkDir,
            "--clearenv", "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin", "--setenv", "HOME", WorkDir, "--setenv", "LANG", "C.UTF-8"])
            a.Add(s);
        foreach (var (k, v) in env)
        {
            a.Add("--setenv");
            a.Add(k);
            a.Add(v);
        }
        a.Add("--");
        a.Add(program);
        foreach (var s in args) a.Add(s);
        return psi;
    }
}
