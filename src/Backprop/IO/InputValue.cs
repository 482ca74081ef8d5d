using System.Numerics;

namespace Backprop.IO;

/// <summary>One named input read from text or JSON: a (nested) array of numbers, a single number, or a word.</summary>
internal sealed class InputValue
{
    /// <summary>The input's name, e.g. <c>W</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The shape of the array; empty for a single number; null for a word.</summary>
    public int[]? Shape { get; init; }

    /// <summary>The numbers in row-major order (null for a word).</summary>
    public double[]? Values { get; init; }

    /// <summary>The word, for inputs such as <c>approximate: tanh</c>.</summary>
    public string? Word { get; init; }

    /// <summary>Where the value starts ("line 3, column 1"), for messages.</summary>
    public string Where { get; init; } = "";

    /// <summary>The 1-based line and column of each number, when read from text (for messages about NaN).</summary>
    internal (int Line, int Column)[]? Positions { get; init; }

    /// <summary>True when the value is a number or array.</summary>
    public bool IsNumeric => Values is not null;

    /// <summary>The value as a tensor (a single number becomes a rank-0 tensor), rejecting NaN and infinities.</summary>
    public Tensor<T> ToTensor<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Values is null) throw new InvalidInputException($"{Name} must be a number or an array, not the word '{Word}'");
        var data = new T[Values.Length];
        for (int i = 0; i < data.Length; i++)
        {
            double v = Values[i];
            if (!double.IsFinite(v)) throw NonFinite(i, v);
            data[i] = T.CreateTruncating(v);
            if (!T.IsFinite(data[i]))
                throw new NonFiniteValueException($"{Name}{IndexText(i)} = {v} overflows {typeof(T).Name}{At(i)}");
        }
        return new Tensor<T>(data, Shape!);
    }

    /// <summary>The value as one finite number.</summary>
    public double ToNumber()
    {
        if (Values is null || Shape!.Length != 0)
            throw new InvalidInputException($"{Name} must be a single number{(Where.Length > 0 ? $" ({Where})" : "")}");
        if (!double.IsFinite(Values[0])) throw NonFinite(0, Values[0]);
        return Values[0];
    }

    private NonFiniteValueException NonFinite(int i, double v) =>
        new($"{Name}{IndexText(i)} is {(double.IsNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf")}{At(i)}; only finite numbers are allowed");

    private string At(int i) => Positions is { } p ? $" (line {p[i].Line}, column {p[i].Column})" : "";

    private string IndexText(int flat)
    {
        var shape = Shape!;
        if (shape.Length == 0) return "";
        var idx = new int[shape.Length];
        for (int a = shape.Length - 1; a >= 0; a--)
        {
            idx[a] = flat % shape[a];
            flat /= shape[a];
        }
        return string.Concat(idx.Select(k => $"[{k}]"));
    }
}
