using NetArchTest.Rules;

namespace Backprop.Tests;

/// <summary>
/// The library's namespaces depend one way: tensors and errors ← kernels ← layers and losses ← networks ← optimizers ←
/// models (kinds registry, descriptions, files) ← data and training ← the command line. Read from the compiled IL, so
/// a reference anywhere in a method body counts.
/// </summary>
public class ArchitectureTests
{
    // Each namespace with the namespaces it must not use (everything above it in the order).
    public static TheoryData<string, string[]> Rules() => new()
    {
        { "Backprop", ["Backprop.Kernels", "Backprop.Layers", "Backprop.Losses", "Backprop.Networks", "Backprop.Optimizers",
            "Backprop.Models", "Backprop.Data", "Backprop.Training", "Backprop.Gradients", "Backprop.IO", "Backprop.Cli"] },
        { "Backprop.IO", ["Backprop.Kernels", "Backprop.Layers", "Backprop.Losses", "Backprop.Networks", "Backprop.Optimizers",
            "Backprop.Models", "Backprop.Data", "Backprop.Training", "Backprop.Gradients", "Backprop.Cli"] },
        { "Backprop.Kernels", ["Backprop.Layers", "Backprop.Losses", "Backprop.Networks", "Backprop.Optimizers", "Backprop.Models",
            "Backprop.Data", "Backprop.Training", "Backprop.Gradients", "Backprop.IO", "Backprop.Cli"] },
        { "Backprop.Layers", ["Backprop.Losses", "Backprop.Networks", "Backprop.Optimizers", "Backprop.Models", "Backprop.Data",
            "Backprop.Training", "Backprop.Gradients", "Backprop.IO", "Backprop.Cli"] },
        { "Backprop.Losses", ["Backprop.Layers", "Backprop.Networks", "Backprop.Optimizers", "Backprop.Models", "Backprop.Data",
            "Backprop.Training", "Backprop.Gradients", "Backprop.IO", "Backprop.Cli"] },
        { "Backprop.Networks", ["Backprop.Optimizers", "Backprop.Models", "Backprop.Data", "Backprop.Training", "Backprop.Gradients",
            "Backprop.IO", "Backprop.Cli"] },
        { "Backprop.Optimizers", ["Backprop.Models", "Backprop.Data", "Backprop.Training", "Backprop.Gradients", "Backprop.IO",
            "Backprop.Cli"] },
        { "Backprop.Models", ["Backprop.Data", "Backprop.Training", "Backprop.Gradients", "Backprop.Cli"] },
        { "Backprop.Data", ["Backprop.Layers", "Backprop.Losses", "Backprop.Networks", "Backprop.Optimizers", "Backprop.Models",
            "Backprop.Training", "Backprop.Gradients", "Backprop.Cli"] },
        { "Backprop.Gradients", ["Backprop.Optimizers", "Backprop.Data", "Backprop.Training", "Backprop.Cli"] },
        { "Backprop.Training", ["Backprop.Gradients", "Backprop.Cli"] },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Namespaces_depend_one_way(string ns, string[] forbidden)
    {
        var types = Types.InAssembly(typeof(Tensor<>).Assembly).That().ResideInNamespaceMatching($"^{ns.Replace(".", "\\.")}$");
        Assert.NotEmpty(types.GetTypes());
        var result = types.ShouldNot().HaveDependencyOnAny(forbidden).GetResult();
        Assert.True(result.IsSuccessful,
            $"{ns} uses a namespace it must not: {string.Join(", ", result.FailingTypes?.Select(t => t.FullName) ?? [])}");
    }

    // The command line's namespaces, one way too: the entry (Program, CommandLine) ← the playground ← the commands ← the
    // grader ← support (Args, JSON, output, plots), with no cycle between them.
    public static TheoryData<string, string[]> CliRules() => new()
    {
        { "Backprop.Cli.Support", ["Backprop.Cli.Commands", "Backprop.Cli.Grading", "Backprop.Cli.Playground", "Backprop.Cli.CommandLine",
            "Backprop.Cli.Program"] },
        { "Backprop.Cli.Grading", ["Backprop.Cli.Commands", "Backprop.Cli.Playground", "Backprop.Cli.CommandLine",
            "Backprop.Cli.Program"] },
        { "Backprop.Cli.Commands", ["Backprop.Cli.Playground", "Backprop.Cli.CommandLine", "Backprop.Cli.Program"] },
        { "Backprop.Cli.Playground", ["Backprop.Cli.CommandLine", "Backprop.Cli.Program"] },
    };

    [Theory]
    [MemberData(nameof(CliRules))]
    public void The_command_lines_namespaces_depend_one_way(string ns, string[] forbidden)
    {
        var types = Types.InAssembly(typeof(Backprop.Cli.Program).Assembly).That().ResideInNamespaceMatching($"^{ns.Replace(".", "\\.")}$");
        Assert.NotEmpty(types.GetTypes());
        var result = types.ShouldNot().HaveDependencyOnAny(forbidden).GetResult();
        Assert.True(result.IsSuccessful,
            $"{ns} uses a namespace it must not: {string.Join(", ", result.FailingTypes?.Select(t => t.FullName) ?? [])}");
    }

    [Fact]
    public void The_rule_catches_a_dependency()
    {
        // Training uses Models: the same check must fail when that is forbidden, or the rules above prove nothing.
        var result = Types.InAssembly(typeof(Tensor<>).Assembly).That().ResideInNamespaceMatching("^Backprop\\.Training$")
            .ShouldNot().HaveDependencyOnAny("Backprop.Models").GetResult();
        Assert.False(result.IsSuccessful);
        // The commands use the support types: forbidding that must fail too.
        result = Types.InAssembly(typeof(Backprop.Cli.Program).Assembly).That().ResideInNamespaceMatching("^Backprop\\.Cli\\.Commands$")
            .ShouldNot().HaveDependencyOnAny("Backprop.Cli.Support").GetResult();
        Assert.False(result.IsSuccessful);
    }
}
