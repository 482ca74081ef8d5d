using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Backprop.Tests;

/// <summary>
/// <c>backprop grade</c> runs a file it did not write: one student file per escape (files outside its folder, the grader's
/// environment, a loopback listener, another process, a double fork, a child holding the pipes, a flood of the results
/// channel), each expected to fail inside the sandbox while the grader grades and exits as documented. Where the escape is
/// harmless to the test host, the same file is also run with <c>--trust</c> and the escape is seen to work there, so that
/// each test can fail.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class GradeSandboxTests
{
    /// <summary>A correct ReLU, the book's, with <paramref name="attack"/> run when the file loads.</summary>
    private static string Student(string attack) => $$"""
        import os, sys, socket, signal, subprocess, time
        import numpy as np

        {{attack}}

        class Relu:
            def __init__(self):
                self.mask = None

            def forward(self, x):
                self.mask = (x <= 0)
                out = x.copy()
                out[self.mask] = 0
                return out

            def backward(self, dout):
                dx = dout.copy()
                dx[self.mask] = 0
                return dx
        """;

    private static void RequireSandbox()
    {
        GradeTests.RequirePython();
        string? why = Backprop.Cli.Grading.Sandbox.Unavailable(Backprop.Cli.Grading.Sandbox.Find(null));
        Skip.If(why is not null, $"the sandbox cannot run here: {why} (apt-get install bubblewrap)");
    }

    /// <summary>Grades <paramref name="source"/> from a fresh folder that every user can read (the sandbox may run as nobody).</summary>
    private static (int Code, string Out, string Err) Grade(string source, params string[] more)
    {
        var dir = Directory.CreateTempSubdirectory("backprop-student-");
        try
        {
            File.SetUnixFileMode(dir.FullName, (UnixFileMode)0b111_101_101);
            string file = Path.Combine(dir.FullName, "relu.py");
            File.WriteAllText(file, source);
            File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);
            return TestUtil.Cli("", ["grade", file, "--cases", "3", .. more]);
        }
        finally { dir.Delete(recursive: true); }
    }

    private static void AssertPasses((int Code, string Out, string Err) r)
    {
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.EndsWith("3/3 cases pass\n", r.Out);
    }

    [SkippableFact]
    public void The_file_writes_only_its_own_empty_folder()
    {
        RequireSandbox();
        var outside = Directory.CreateTempSubdirectory("backprop-canary-");
        try
        {
            File.SetUnixFileMode(outside.FullName, (UnixFileMode)0b111_111_111);   // only the sandbox's read-only view protects it
            string canary = Path.Combine(outside.FullName, "canary.txt"), planted = Path.Combine(outside.FullName, "planted.txt");
            File.WriteAllText(canary, "intact");
            File.SetUnixFileMode(canary, (UnixFileMode)0b110_110_110);
            string source = Student($$"""
                assert os.listdir(".") == [], os.listdir(".")
                with open("scratch.txt", "w") as f:
                    f.write("mine")
                assert open("scratch.txt").read() == "mine"
                for attempt in (lambda: open("{{canary}}", "w").write("changed"), lambda: os.remove("{{canary}}"),
                                lambda: open("{{planted}}", "w").write("planted")):
                    try:
                        attempt()
                    except OSError:
                        pass
                """);
            AssertPasses(Grade(source));
            Assert.Equal("intact", File.ReadAllText(canary));
            Assert.False(File.Exists(planted));

            AssertPasses(Grade(source, "--trust"));
            Assert.True(File.Exists(planted), "without the sandbox the file can write outside its folder");
        }
        finally { outside.Delete(recursive: true); }
    }

    [SkippableFact]
    public void The_file_cannot_read_the_graders_environment()
    {
        RequireSandbox();
        Environment.SetEnvironmentVariable("BACKPROP_TEST_SECRET", "s3cret-token");
        try
        {
            string source = Student("""
                if any("s3cret-token" in v for v in os.environ.values()):
                    raise SystemExit("the grader's environment leaked")
                """);
            var r = Grade(source, "--json");
            Assert.True(r.Code == 0, r.Out + r.Err);
            Assert.Equal("bubblewrap", JsonDocument.Parse(r.Out).RootElement.GetProperty("sandbox").GetString());
            r = Grade(source, "--trust", "--json");
            Assert.Equal(2, r.Code);   // with --trust it sees the variable, and ends before any case
            Assert.Contains("leaked", r.Err);
        }
        finally { Environment.SetEnvironmentVariable("BACKPROP_TEST_SECRET", null); }
    }

    [SkippableFact]
    public void The_file_has_no_network_not_even_loopback()
    {
        RequireSandbox();
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            string source = Student($$"""
                try:
                    socket.create_connection(("127.0.0.1", {{port}}), timeout=3).sendall(b"escaped")
                    connected = True
                except OSError:
                    connected = False
                """);
            AssertPasses(Grade(source));
            Assert.False(listener.Pending(), "a connection reached the listener from the sandbox");

            AssertPasses(Grade(source, "--trust"));
            Assert.True(listener.Pending(), "without the sandbox the connection arrives");
        }
        finally { listener.Stop(); }
    }

    [SkippableFact]
    public void The_file_cannot_signal_processes_outside_its_sandbox()
    {
        RequireSandbox();
        using var victim = Process.Start(new ProcessStartInfo("/bin/sleep", "120") { UseShellExecute = false })!;
        try
        {
            string source = Student($$"""
                for pid in ({{victim.Id}}, {{Environment.ProcessId}}, os.getppid()):
                    try:
                        os.kill(pid, signal.SIGKILL if pid != {{Environment.ProcessId}} else 0)
                        if pid == {{Environment.ProcessId}}:
                            raise SystemExit("the grader is visible")
                    except OSError:
                        pass
                """);
            AssertPasses(Grade(source));   // the grader is alive to report, and cannot even be seen
            Assert.False(victim.WaitForExit(200), "a process outside the sandbox was killed");
        }
        finally { victim.Kill(); }
    }

    /// <summary>The processes whose command line holds <paramref name="marker"/> (the file's leftovers).</summary>
    private static List<int> Leftovers(string marker) =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit)).Where(n =>
        {
            try { return File.ReadAllText($"/proc/{n}/cmdline").Contains(marker); }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        }).Select(n => int.Parse(n!)).ToList();

    private static void KillAll(string marker)
    {
        foreach (int pid in Leftovers(marker))
            try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
    }

    /// <summary>Waits up to 10 s for the processes with <paramref name="marker"/> to be gone (the kernel reaps them).</summary>
    private static bool Gone(string marker)
    {
        for (int i = 0; i < 100; i++)
        {
            if (Leftovers(marker).Count == 0) return true;
            Thread.Sleep(100);
        }
        return false;
    }

    [SkippableFact]
    public void A_double_forked_process_dies_with_the_sandbox()
    {
        RequireSandbox();
        string marker = $"{Random.Shared.Next(100, 999)}.{Random.Shared.Next(1000, 9999)}";   // sleep's argument names the process
        string source = Student($$"""
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.closerange(0, 64)
                    os.execv("/bin/sleep", ["/bin/sleep", "{{marker}}"])
                os._exit(0)
            time.sleep(0.2)
            """);
        try
        {
            AssertPasses(Grade(source));
            Assert.True(Gone(marker), "the double-forked process outlived the grader");

            AssertPasses(Grade(source, "--trust"));
            Assert.NotEmpty(Leftovers(marker));   // without the sandbox it stays
        }
        finally { KillAll(marker); }
    }

    [SkippableFact]
    public void A_child_holding_the_pipes_does_not_hold_the_grader()
    {
        RequireSandbox();
        string marker = $"{Random.Shared.Next(300, 399)}.{Random.Shared.Next(1000, 9999)}";
        string source = Student($$"""
            import __main__
            channel = __main__.real_out.fileno()
            os.set_inheritable(channel, True)
            subprocess.Popen(["/bin/sleep", "{{marker}}"], close_fds=False)
            """);
        try
        {
            foreach (var mode in (string[][])[[], ["--trust"]])
            {
                var r = Grade(source, ["--timeout", "60", .. mode]);
                AssertPasses(r);
                double took = TestUtil.LastCliTime.TotalSeconds;
                Assert.True(took < 30, $"{string.Join(' ', mode)} took {took:0} s");
                if (mode.Length == 0) Assert.True(Gone(marker), "the child outlived the sandbox");
            }
        }
        finally { KillAll(marker); }
    }

    [SkippableFact]
    public void A_child_that_outlives_the_limit_does_not_hold_the_grader_past_it()
    {
        RequireSandbox();
        string marker = $"{Random.Shared.Next(400, 499)}.{Random.Shared.Next(1000, 9999)}";
        string source = Student($$"""
            subprocess.Popen(["/bin/sleep", "{{marker}}"], close_fds=False)
            while True:
                pass
            """);
        try
        {
            var r = Grade(source, "--timeout", "2");
            Assert.Equal(1, r.Code);
            Assert.Contains("the time limit of 2 s ran out", r.Out);
            Assert.True(TestUtil.LastCliTime.TotalSeconds < 20, $"took {TestUtil.LastCliTime.TotalSeconds:0} s");
            Assert.True(Gone(marker));
        }
        finally { KillAll(marker); }
    }

    [SkippableFact]
    public void A_fork_bomb_stops_at_the_process_bound()
    {
        RequireSandbox();
        var r = Grade(Student("""
            started = 0
            try:
                for _ in range(200):
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                    started += 1
            except OSError:
                pass
            if started >= 16:
                raise SystemExit(f"{started} processes started")
            """));
        AssertPasses(r);
    }

    [SkippableFact]
    public void A_flood_of_the_channel_fails_the_file_and_stops_at_the_bound()
    {
        RequireSandbox();
        string source = Student("""
            import __main__
            chunk = b"x" * (1 << 20)
            for _ in range(400):
                os.write(__main__.real_out.fileno(), chunk)
            """);
        var r = Grade(source);
        Assert.True(r.Code == 1, r.Out + r.Err);
        Assert.Contains("the file wrote to the grader's channel", r.Out);
        Assert.True(TestUtil.LastCliTime.TotalSeconds < 30, $"took {TestUtil.LastCliTime.TotalSeconds:0} s");
    }

    [SkippableTheory]
    [InlineData("b'not json\\n'", "a line that is not JSON")]
    [InlineData("b'{\"y\": {\"shape\": \"abc\", \"data\": []}}\\n'", "its first line is not the harness's header")]
    [InlineData("b'{\"classes\": []}\\n{\"y\": {\"shape\": [2147483647, 2], \"data\": []}}\\n'", "y: a size that is not")]
    [InlineData("b'{\"classes\": []}\\n{\"y\": {\"shape\": [2], \"data\": [1, true]}}\\n'", "y: data that are not numbers")]
    [InlineData("b'{\"classes\": []}\\n{\"error\": 7}\\n'", "an error that is not a string")]
    [InlineData("b'{\"classes\": []}\\n{\"dx\": {\"shape\": [3], \"data\": [1]}}\\n'", "dx: data whose length is not the shape's")]
    [InlineData("b'{\"classes\": []}\\n{\"y\": {\"type\": \"None\"}, \"y\": {\"type\": \"None\"}}\\n'", "the field \"y\" twice")]
    [InlineData("b'{\"classes\": []}\\n{\"grade\": \"A+\"}\\n'", "an unknown field \"grade\"")]
    [InlineData("b'{\"classes\": []}\\n{\"y\": {\"shape\": [1], \"data\": [1e999]}}\\n'", "y: data that are not numbers")]
    public void Malformed_lines_on_the_channel_fail_a_case_with_exit_1(string bytes, string why)
    {
        RequireSandbox();
        var r = Grade(Student($"""
            import __main__
            __main__.real_out.write({bytes}.decode())
            __main__.real_out.flush()
            """), "--json");
        Assert.True(r.Code == 1, r.Out + r.Err);
        var cases = JsonDocument.Parse(r.Out).RootElement.GetProperty("cases");
        Assert.Contains(cases.EnumerateArray(), c => c.TryGetProperty("error", out var e)
            && e.GetString()!.StartsWith("the file wrote to the grader's channel") && e.GetString()!.Contains(why));
    }

    [Fact]
    public void Without_a_sandbox_grade_says_so_and_runs_only_with_trust()
    {
        string file = Path.Combine(AppContext.BaseDirectory, "Data", "grade", "relu.py");
        var (code, stdout, err) = TestUtil.Cli("", "grade", file, "--bwrap", "/nonexistent/bwrap");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("no sandbox can be had here", err);
        Assert.Contains("--trust", err);

        (code, _, err) = TestUtil.Cli("", "grade", Path.Combine(AppContext.BaseDirectory, "Backprop.GradeExamples.dll"),
            "--type", "StudentLayers.MyFullyConnected`1");
        Assert.Equal(2, code);
        Assert.Contains("grade only an assembly you trust, with --trust", err);
    }

    [SkippableFact]
    public void Trusted_runs_say_so_in_the_report_and_the_json()
    {
        GradeTests.RequirePython();
        string file = Path.Combine(AppContext.BaseDirectory, "Data", "grade", "relu.py");
        var (code, stdout, _) = TestUtil.Cli("", "grade", file, "--bwrap", "/nonexistent/bwrap", "--trust", "--cases", "2");
        Assert.Equal(0, code);
        Assert.Contains("run without a sandbox, with your own rights (--trust)", stdout);
        (code, stdout, _) = TestUtil.Cli("", "grade", file, "--trust", "--cases", "2", "--json");
        Assert.Equal(0, code);
        Assert.Equal("none", JsonDocument.Parse(stdout).RootElement.GetProperty("sandbox").GetString());
    }
}
