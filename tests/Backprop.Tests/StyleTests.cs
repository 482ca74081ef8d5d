namespace Backprop.Tests;

/// <summary>What .editorconfig says and dotnet format does not check: no source line longer than 140 characters.</summary>
public class StyleTests
{
    [Fact]
    public void No_source_line_is_longer_than_140_characters()
    {
        var root = new DirectoryInfo(TestUtil.Root());
        var longLines = new List<string>();
        foreach (var dir in new[] { "src", "tests", "bench" })
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root.FullName, dir), "*.cs", SearchOption.AllDirectories))
            {
                string rel = Path.GetRelativePath(root.FullName, file);
                if (rel.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") ||
                    rel.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")) continue;
                var lines = File.ReadAllLines(file);
                for (int i = 0; i < lines.Length; i++)
                    if (lines[i].Length > 140) longLines.Add($"{rel}:{i + 1} ({lines[i].Length})");
            }
        Assert.True(longLines.Count == 0, "lines over 140 characters: " + string.Join(", ", longLines.Take(20)));
    }

    [Fact]
    public void Each_test_file_holds_one_public_class_named_as_the_file()
    {
        var root = new DirectoryInfo(TestUtil.Root());
        var declaration = new System.Text.RegularExpressions.Regex(@"^public\s+(?:(?:sealed|static|abstract|partial)\s+)*class\s+(\w+)",
            System.Text.RegularExpressions.RegexOptions.Multiline);
        var wrong = new List<string>();
        foreach (var dir in new[] { "tests/Backprop.Tests", "tests/Backprop.ApiTests" })
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root.FullName, dir), "*.cs"))
            {
                var names = declaration.Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value).ToList();
                if (names.Count > 1 || (names.Count == 1 && names[0] != Path.GetFileNameWithoutExtension(file)))
                    wrong.Add($"{Path.GetFileName(file)}: {string.Join(", ", names)}");
            }
        Assert.True(wrong.Count == 0, "files with other than one public class of their name: " + string.Join("; ", wrong));
    }

    [Fact]
    public void Layers_hold_no_intrinsics_their_kernels_do()
    {
        var root = new DirectoryInfo(TestUtil.Root());
        var layers = Directory.EnumerateFiles(Path.Combine(root.FullName, "src", "Backprop", "Layers"), "*.cs", SearchOption.AllDirectories)
            .Where(f => File.ReadAllText(f).Contains("System.Runtime.Intrinsics")).Select(Path.GetFileName).ToList();
        Assert.True(layers.Count == 0, "layers with intrinsics (move them to src/Backprop/Kernels): " + string.Join(", ", layers));
    }
}
