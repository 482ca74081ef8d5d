using System.Text.RegularExpressions;

namespace Backprop.Tests;

/// <summary>Every README command that needs no data set runs as written (files it names go to a temporary folder).</summary>
public class ReadmeTests
{
    private static string Readme()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string p = Path.Combine(dir.FullName, "README.md");
            if (File.Exists(p) && File.Exists(Path.Combine(dir.FullName, "Backprop.slnx"))) return File.ReadAllText(p);
        }
        throw new FileNotFoundException("README.md above the test folder");
    }

    // The backprop command lines of the README's sh blocks, continuation lines joined, comments dropped.
    internal static List<string> Commands()
    {
        var list = new List<string>();
        foreach (Match block in Regex.Matches(Readme(), "```sh\n(.*?)```", RegexOptions.Singleline))
        {
            string text = block.Groups[1].Value.Replace("\\\n", " ");
            foreach (var raw in text.Split('\n'))
            {
                string line = Regex.Replace(raw, @"\s+#\s.*$", "").Trim();
                if (Regex.IsMatch(line, @"^(echo '[^']*' \| )?backprop ")) list.Add(line);
            }
        }
        return list;
    }

    private static List<string> Split(string command)
    {
        var args = new List<string>();
        foreach (Match m in Regex.Matches(command, @"'([^']*)'|(\S+)"))
            args.Add(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
        return args;
    }

    [Fact]
    public void Every_readme_command_without_a_data_set_runs_as_written()
    {
        var commands = Commands();
        Assert.Contains(commands, c => c.StartsWith("backprop train --out spiral.safetensors", StringComparison.Ordinal));
        string dir = Directory.CreateTempSubdirectory("bp-readme-").FullName;
        try
        {
            int ran = 0;
            foreach (var command in commands)
            {
                if (Regex.IsMatch(command, "mnist|fashion|backprop bench")) continue;   // data sets and timings: not here
                string stdin = "";
                var args = Split(command);
                if (args[0] == "echo")
                {
                    stdin = args[1];
                    args = args.SkipWhile(a => a != "backprop").ToList();
                }
                var argv = args.Skip(1).Select(a => Regex.IsMatch(a, @"^[\w-]+\.(safetensors|png)$") ? Path.Combine(dir, a) : a).ToArray();
                var (code, stdout, stderr) = TestUtil.Cli(stdin, argv);
                Assert.True(code == 0, $"'{command}' exited {code}: {stderr}");
                Assert.NotEqual("", stdout);
                ran++;
            }
            Assert.True(ran >= 4, $"only {ran} README commands ran");
        }
        finally { Directory.Delete(dir, true); }
    }
}
