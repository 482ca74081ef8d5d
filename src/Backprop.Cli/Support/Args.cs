using System.Globalization;
using Backprop;
using Backprop.IO;

namespace Backprop.Cli.Support;

/// <summary>
/// A command's arguments as System.CommandLine parsed them (<see cref="CommandLine"/>), once: the options given, by name, and
/// the positionals, with typed getters whose messages name the option. There is no second parser.
/// </summary>
internal sealed class Args
{
    private readonly Dictionary<string, string?> _options;

    /// <summary>The options given (a flag's value null) and the positionals, in order.</summary>
    public Args(IReadOnlyDictionary<string, string?> options, IEnumerable<string> positionals)
    {
        _options = new Dictionary<string, string?>(options);
        Positionals = [.. positionals];
    }

    public List<string> Positionals { get; }

    public bool Flag(string name) => _options.ContainsKey(name);

    public string? Value(string name) => _options.TryGetValue(name, out var v) ? v : null;

    public string Choice(string name, string dflt, params string[] allowed)
    {
        string v = (Value(name) ?? dflt).ToLowerInvariant();
        if (!allowed.Contains(v)) throw new InvalidInputException($"--{name} must be one of {string.Join(", ", allowed)}, not " +
            $"'{Value(name)}'");
        return v;
    }

    public int Int(string name, int dflt, int min = int.MinValue, int max = int.MaxValue)
    {
        string? v = Value(name);
        if (v is null) return dflt;
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int r) || r < min || r > max)
            throw new InvalidInputException($"--{name} must be a whole number{Range(min, max)}, not '{v}'");
        return r;
    }

    public double Double(string name, double dflt, double min = double.MinValue, double max = double.MaxValue)
    {
        string? v = Value(name);
        if (v is null) return dflt;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double r) || !double.IsFinite(r) || r < min
            || r > max)
            throw new InvalidInputException($"--{name} must be a number{Range(min, max)}, not '{v}'");
        return r;
    }

    private static string Range(double min, double max) =>
        min > double.MinValue / 2 && min > int.MinValue ? (max < int.MaxValue ? $" from {min} to {max}" : $" of at least {min}") : "";

    /// <summary>The text of the file named by the first positional after <paramref name="skip"/>, or standard input.</summary>
    public string ReadInput(int skip)
    {
        if (Positionals.Count > skip + 1) throw new InvalidInputException($"unexpected argument '{Positionals[skip + 1]}'");
        string? file = Positionals.Count > skip ? Positionals[skip] : null;
        if (file is null or "-") return BoundedFile.ReadToEnd(Console.In, MaxInputBytes, "standard input");
        if (!File.Exists(file)) throw new InvalidInputException($"input file '{file}' does not exist");
        return BoundedFile.ReadAllText(file, MaxInputBytes);
    }

    /// <summary>The largest text input read from a file or standard input: 64 MiB.</summary>
    public const long MaxInputBytes = 64L << 20;
}
