namespace Backprop.Tests;

public class HelpTests
{
    public static TheoryData<string> Commands()
    {
        var d = new TheoryData<string>();
        foreach (var s in Backprop.Cli.CommandLine.Specs()) d.Add(s.Name);
        return d;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_has_help_naming_every_option_with_examples(string command)
    {
        foreach (var flag in new[] { "--help", "-h" })
        {
            var (code, stdout, err) = TestUtil.Cli("", command, flag);
            Assert.True(code == 0, err);
            var spec = Backprop.Cli.CommandLine.Specs().First(s => s.Name == command);
            foreach (var o in spec.Options) Assert.Contains("--" + o.Name, stdout);
            Assert.Contains("Examples:", stdout);
            Assert.Contains($"backprop {command}", stdout);
        }
    }

    [Fact]
    public void The_top_level_help_lists_every_command_and_the_exit_codes()
    {
        var (code, stdout, _) = TestUtil.Cli("", "--help");
        Assert.Equal(0, code);
        foreach (var s in Backprop.Cli.CommandLine.Specs()) Assert.Contains(s.Name, stdout);
        Assert.Contains("2 bad input or usage", stdout);
        var (code2, stdout2, _) = TestUtil.Cli("");
        Assert.Equal(2, code2);   // no command: the help, as a usage error
        Assert.Contains("Commands:", stdout2);
    }

    [Theory]
    [InlineData(new[] { "tarin" }, "did you mean train?")]
    [InlineData(new[] { "gradchek" }, "did you mean gradcheck?")]
    [InlineData(new[] { "train", "--lrr", "0.1" }, "did you mean --lr?")]
    [InlineData(new[] { "eval", "--modle", "m" }, "did you mean --model?")]
    [InlineData(new[] { "layer", "relu", "--jsno" }, "did you mean --json?")]
    public void Misspelt_commands_and_options_get_suggestions(string[] args, string suggestion)
    {
        var (code, stdout, err) = TestUtil.Cli("", args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(suggestion, err);
        Assert.Single(err.Trim().Split('\n'));
    }
}
