using System.Diagnostics;

namespace Backprop.Tests;

/// <summary>
/// backprop grade on the shipped example solutions (tests/Backprop.Tests/Data/grade): the correct ones pass for several
/// seeds, each broken one fails with its mistake named, and misbehaving files get a clear report within the limit.
/// </summary>
public class GradeTests
{
    private static string Dir => Path.Combine(AppContext.BaseDirectory, "Data", "grade");

    internal static void RequirePython()
    {
        bool ok = false;
        try
        {
            var p = Process.Start(new ProcessStartInfo("/usr/bin/python3", "-c \"import numpy\"") { RedirectStandardError = true });
            p!.WaitForExit(30_000);
            ok = p.ExitCode == 0;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException) { }
        Skip.IfNot(ok, "grade needs Debian's python3 with numpy (apt-get install python3-numpy)");
    }

    /// <summary>
    /// Grades a shipped example in the sandbox, or with --trust where this machine has none (the sandbox's own tests skip there).
    /// </summary>
    private static (int Code, string Out, string Err) Grade(string file, params string[] more) =>
        TestUtil.Cli("", ["grade", Path.Combine(Dir, file), .. more, .. Sandboxed ? (string[])[] : ["--trust"]]);

    private static readonly bool Sandboxed =
        Backprop.Cli.Grading.Sandbox.Unavailable(Backprop.Cli.Grading.Sandbox.Find(null)) is null;

    [SkippableTheory]
    [InlineData("affine.py", "0")]
    [InlineData("affine.py", "7")]
    [InlineData("relu.py", "0")]
    [InlineData("relu.py", "3")]
    [InlineData("sigmoid.py", "0")]
    [InlineData("sigmoid.py", "5")]
    [InlineData("softmax_with_loss.py", "0")]
    [InlineData("softmax_with_loss.py", "2")]
    public void Correct_solutions_pass_every_case(string file, string seed)
    {
        RequirePython();
        var (code, stdout, err) = Grade(file, "--seed", seed);
        Assert.True(code == 0, stdout + err);
        Assert.EndsWith("20/20 cases pass\n", stdout);
    }

    [SkippableTheory]
    [InlineData("affine_dw_transposed.py", "dW is transposed")]
    [InlineData("affine_db_not_summed.py", "db is dout itself: sum it over the batch")]
    [InlineData("affine_db_mean.py", "db is the batch mean of dout")]
    [InlineData("affine_dx_not_reshaped.py", "reshape dx to x's original shape")]
    [InlineData("affine_no_cache.py", "forward must store x")]
    [InlineData("affine_bias_in_dx.py", "the bias does not enter dx")]
    [InlineData("sigmoid_from_x.py", "Sigmoid's backward uses x")]
    [InlineData("relu_mask_at_zero.py", "ReLU's gradient at exactly x = 0 must be 0")]
    public void Each_known_mistake_fails_with_its_diagnosis(string file, string diagnosis)
    {
        RequirePython();
        var (code, stdout, err) = Grade(file);
        Assert.True(code == 1, stdout + err);
        Assert.Contains(diagnosis, stdout);
        Assert.Matches(@"\d+ of 20 cases fail\n$", stdout);
    }

    [SkippableFact]
    public void The_bias_in_dx_is_named_from_the_values_where_it_broadcasts()
    {
        RequirePython();
        var (_, json, _) = Grade("affine_bias_in_dx.py", "--json");
        var cases = System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("cases");
        var square = cases[2];   // W (N, N): b broadcasts onto dx instead of failing
        Assert.False(square.GetProperty("pass").GetBoolean());
        Assert.Contains("dx includes b", square.GetProperty("failures")[0].GetProperty("diagnosis").GetString());
    }

    [SkippableFact]
    public void NaN_and_infinite_outputs_fail_each_case_with_the_count_and_keep_the_protocol()
    {
        RequirePython();
        var (code, stdout, err) = Grade("relu_nan.py");
        Assert.True(code == 1, stdout + err);
        Assert.DoesNotContain("ended", stdout);
        Assert.Matches(@"y holds \d+ NaN value\(s\) of \d+", stdout);
        Assert.Matches(@"dx holds (\d+ NaN and )?\d+ infinite value\(s\)", stdout);
        Assert.EndsWith("20 of 20 cases fail\n", stdout);
        var (_, json, _) = Grade("relu_nan.py", "--json");
        var cases = System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("cases");
        Assert.Equal(20, cases.GetArrayLength());
    }

    [SkippableFact]
    public void Modifying_dout_in_place_is_a_warning_not_a_failure()
    {
        RequirePython();
        var (code, stdout, _) = Grade("relu.py");
        Assert.Equal(0, code);
        Assert.Contains("warning: backward changed dout in place", stdout);
    }

    [SkippableFact]
    public void Misbehaving_files_get_a_clear_report_within_the_limit()
    {
        RequirePython();
        var (code, stdout, _) = Grade("loops_forever.py", "--timeout", "3");
        Assert.Equal(1, code);
        Assert.Contains("the time limit of 3 s ran out", stdout);
        var took = TestUtil.LastCliTime;   // the command's own time, not the wait for another test's command
        Assert.True(took.TotalSeconds < 15, $"took {took.TotalSeconds:0} s");

        // The limit is the test's, 256 MiB, reached in a few steps of 80 MB: no race with the time limit on a loaded machine.
        (code, stdout, _) = Grade("allocates.py", "--timeout", "60", "--cases", "2", "--memory", "256");
        Assert.Equal(1, code);
        Assert.Contains("MemoryError", stdout);

        (code, stdout, _) = Grade("raises.py", "--cases", "3");
        Assert.Equal(1, code);
        Assert.Contains("ValueError: not implemented yet", stdout);
        Assert.Contains("Traceback", stdout);

        (code, stdout, _) = Grade("prints.py", "--cases", "3");
        Assert.Equal(0, code);
        Assert.EndsWith("3/3 cases pass\n", stdout);

        var (c2, out2, err2) = Grade("syntax_error.py");
        Assert.Equal(2, c2);
        Assert.Equal("", out2);
        Assert.Contains("cannot be loaded", err2);
        Assert.Contains("SyntaxError", err2);
    }

    [SkippableFact]
    public void Json_gives_one_object_per_case_and_a_summary()
    {
        RequirePython();
        var (code, json, _) = Grade("affine_db_mean.py", "--json", "--cases", "5", "--seed", "1");
        Assert.Equal(1, code);
        var root = System.Text.Json.JsonDocument.Parse(json).RootElement;
        Assert.Equal(5, root.GetProperty("cases").GetArrayLength());
        var summary = root.GetProperty("summary");
        Assert.Equal(5, summary.GetProperty("cases").GetInt32());
        Assert.Equal(5, summary.GetProperty("passed").GetInt32() + summary.GetProperty("failed").GetInt32());
        Assert.Contains(root.GetProperty("cases").EnumerateArray(), c => !c.GetProperty("pass").GetBoolean()
            && c.GetProperty("failures")[0].GetProperty("output").GetString() == "db");
    }

    [Fact]
    public void Files_that_cannot_be_graded_are_clear_errors()
    {
        var (code, stdout, err) = TestUtil.Cli("", "grade", "/nonexistent.py");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("does not exist", err);
        (code, _, err) = TestUtil.Cli("", "grade", "MyLayers.dll", "--type", "X");
        Assert.Equal(2, code);
        (code, _, err) = TestUtil.Cli("", "grade", CSharpExamples, "--type", "StudentLayers.Nope", "--trust");
        Assert.Equal(2, code);
        Assert.Contains("has no type StudentLayers.Nope", err);
        (code, _, err) = TestUtil.Cli("", "grade", Path.Combine(Dir, "affine.py"), "--layer", "conv");
        Assert.Equal(2, code);
        Assert.Contains("--layer must be one of", err);
    }

    private static string CSharpExamples => Path.Combine(AppContext.BaseDirectory, "Backprop.GradeExamples.dll");

    [Fact]
    public void A_csharp_layer_in_a_compiled_assembly_is_graded_with_the_same_cases_and_report()
    {
        var (code, stdout, err) = TestUtil.Cli("", "grade", CSharpExamples, "--type", "StudentLayers.MyFullyConnected`1", "--trust");
        Assert.True(code == 0, stdout + err);
        Assert.Contains("class MyFullyConnected as fully_connected", stdout);
        Assert.EndsWith("20/20 cases pass\n", stdout);

        (code, stdout, err) = TestUtil.Cli("", "grade", CSharpExamples, "--type", "StudentLayers.MeanBiasFullyConnected`1", "--trust");
        Assert.True(code == 1, stdout + err);
        Assert.Contains("db is the batch mean of dout", stdout);
    }
}
