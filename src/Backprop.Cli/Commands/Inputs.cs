using System.Numerics;
using Backprop;
using Backprop.IO;

namespace Backprop.Cli.Commands;

/// <summary>Named inputs with checks for unknown and missing names.</summary>
internal sealed class Inputs
{
    private readonly Dictionary<string, InputValue> _byName;
    private readonly string _context;

    public Inputs(IEnumerable<InputValue> values, string context, IReadOnlyCollection<string> allowed)
    {
        _context = context;
        _byName = new Dictionary<string, InputValue>();
        foreach (var v in values)
        {
            if (!allowed.Contains(v.Name))
                throw new InvalidInputException($"{context}: unknown key '{v.Name}'; expected {string.Join(", ", allowed)}");
            _byName[v.Name] = v;
        }
    }

    /// <summary>Reads text (the textbook's form) or JSON (an object), detected by the first character.</summary>
    public static IReadOnlyList<InputValue> Read(string text)
    {
        string trimmed = text.TrimStart();
        if (trimmed.Length == 0) throw new InputFormatException("the input is empty", 0, 0);
        return trimmed[0] == '{' ? JsonInput.Parse(text) : TextInput.Parse(text);
    }

    public InputValue? Optional(string name) => _byName.GetValueOrDefault(name);

    public Tensor<T> Tensor<T>(string name) where T : unmanaged, IFloatingPointIeee754<T> =>
        (Optional(name) ?? throw new InvalidInputException($"{_context}: missing input '{name}'")).ToTensor<T>();
}
