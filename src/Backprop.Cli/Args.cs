using System.Globalization;
using Backprop;
using Backprop.IO;

namespace Backprop.Cli;

/// <summary>
/// A command's arguments after System.CommandLine has parsed them (<see cref="CommandLine"/>): positionals, <c>--flag</c>
/// and <c>--name value</c>, with typed getters whose messages name the option.
/// </summary>
internal sealed class Args
{
    private readonly Dictionary<string, string?> _options = new();
    private readonly HashSet<string> _used = new();

    public List<string> Positionals { get; } = new();

    /// <summary>The arguments of a command, read with the options its <see cref="CommandLine.Spec"/> declares.</summary>
    public static Args For(string command, IEnumerable<string> argv)
    {
        var spec = CommandLine.Specs().First(s => s.Name == command);
        return new Args(argv, spec.Options.Where(o => o.IsFlag).Select(o => o.Name).ToHashSet(),
            spec.Options.Where(o => !o.IsFlag).Select(o => o.Name).ToHashSet());
    }

    public Args(IEnumerable<string> args, IReadOnlySet<string> flags, IReadOnlySet<string> valued)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (a == "--") { Positionals.AddRange(list.Skip(i + 1)); break; }
            if (!a.StartsWith("--") || a == "-") { Positionals.Add(a); continue; }
            string name = a[2..], value = "";
            bool hasValue = false;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; hasValue = true; }
            if (flags.Contains(name))
            {
                if (hasValue) throw new InvalidInputException($"option --{name} takes no value");
                _options[name] = null;
            }
            else if (valued.Contains(name))
            {
                if (!hasValue)
                {
                    if (i + 1 >= list.Count) throw new InvalidInputException($"option --{name} needs a value");
                    value = list[++i];
                }
                _options[name] = value;
            }
            else
            {
                var known = flags.Concat(valued).Select(o => "--" + o).OrderBy(o => o);
                throw new InvalidInputException($"unknown option --{name}; this command takes {string.Join(", ", known)}");
            }
        }
    }

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
