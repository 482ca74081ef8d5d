using System.Globalization;

namespace Backprop.IO;

/// <summary>
/// Reads the textbook's sample-input form: for each input a line <c>name:</c> followed by a nested-list literal
/// (or a number, or a word), which may span several lines. <c>#</c> starts a comment.
/// </summary>
/// <example>
/// <code>
/// W:
/// [[0.1, 0.2, 0.3],
/// [0.4, 0.5, 0.6]]
/// b:
/// [0.1, 0.2, 0.3]
/// </code>
/// </example>
public static class TextInput
{
    /// <summary>The deepest nesting of lists accepted (a tensor of rank 32); deeper input is an error, never a stack overflow.</summary>
    public const int MaxDepth = 32;

    private enum Kind { Name, Colon, Open, Close, Comma, Number, Word, End }

    private readonly record struct Token(Kind Kind, string Text, double Number, int Line, int Column);

    /// <summary>Parses the text into named inputs, in order.</summary>
    /// <exception cref="InputFormatException">Malformed text, with line and column.</exception>
    public static IReadOnlyList<InputValue> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = Tokenize(text.StartsWith('\uFEFF') ? text[1..] : text);   // a UTF-8 byte-order mark, as any reader
        var result = new List<InputValue>();
        var names = new HashSet<string>();
        int pos = 0;
        while (tokens[pos].Kind != Kind.End)
        {
            var name = tokens[pos];
            if (name.Kind != Kind.Word || tokens[pos + 1].Kind != Kind.Colon)
                throw Error($"expected an input name followed by ':' but found {Describe(name)}", name);
            pos += 2;
            if (!names.Add(name.Text)) throw Error($"input '{name.Text}' is given twice", name);
            var start = tokens[pos];
            if (start.Kind == Kind.Word && tokens[pos + 1].Kind != Kind.Colon)
            {
                result.Add(new InputValue { Name = name.Text, Word = start.Text, Where = $"line {start.Line}, column {start.Column}" });
                pos++;
                continue;
            }
            var values = new List<double>();
            var positions = new List<(int, int)>();
            var shape = ParseValue(tokens, ref pos, values, positions, name.Text, 0);
            result.Add(new InputValue
            {
                Name = name.Text,
                Shape = shape,
                Values = values.ToArray(),
                Positions = positions.ToArray(),
                Where = $"line {start.Line}, column {start.Column}",
            });
        }
        return result;
    }

    // value := number | '[' [value (',' value)* [',']] ']'; returns the shape, checking that siblings agree.
    private static int[] ParseValue(List<Token> tokens, ref int pos, List<double> values, List<(int, int)> positions, string name,
        int depth)
    {
        var t = tokens[pos];
        if (depth > MaxDepth) throw Error($"{name}: lists nested deeper than {MaxDepth} levels", t);
        if (t.Kind == Kind.Number)
        {
            pos++;
            values.Add(t.Number);
            positions.Add((t.Line, t.Column));
            return [];
        }
        if (t.Kind != Kind.Open) throw Error($"{name}: expected a number or '[' but found {Describe(t)}", t);
        pos++;
        int[]? inner = null;
        int count = 0;
        while (tokens[pos].Kind != Kind.Close)
        {
            var itemStart = tokens[pos];
            var shape = ParseValue(tokens, ref pos, values, positions, name, depth + 1);
            if (inner is null) inner = shape;
            else if (!inner.AsSpan().SequenceEqual(shape))
                throw Error($"{name}: ragged nested list: element {count} has shape {ShapeText(shape)} but element 0 has " +
                    $"shape {ShapeText(inner)}", itemStart);
            count++;
            var sep = tokens[pos];
            if (sep.Kind == Kind.Comma) pos++;
            else if (sep.Kind != Kind.Close) throw Error($"{name}: expected ',' or ']' but found {Describe(sep)}", sep);
        }
        pos++;
        return [count, .. inner ?? []];
    }

    private static string ShapeText(int[] s) => s.Length == 0 ? "() (a number)" : Tensor<double>.ShapeText(s);

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        int line = 1, col = 1, i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '\n') { line++; col = 1; i++; continue; }
            if (char.IsWhiteSpace(c)) { i++; col++; continue; }
            if (c == '#')
            {
                while (i < text.Length && text[i] != '\n') i++;
                continue;
            }
            int startCol = col, start = i;
            switch (c)
            {
                case ':': tokens.Add(new(Kind.Colon, ":", 0, line, col)); i++; col++; continue;
                case '[': tokens.Add(new(Kind.Open, "[", 0, line, col)); i++; col++; continue;
                case ']': tokens.Add(new(Kind.Close, "]", 0, line, col)); i++; col++; continue;
                case ',': tokens.Add(new(Kind.Comma, ",", 0, line, col)); i++; col++; continue;
                case '"' or '\'':
                {
                    int end = text.IndexOf(c, i + 1);
                    int nl = text.IndexOf('\n', i + 1);
                    if (end < 0 || (nl >= 0 && nl < end)) throw new InputFormatException("unterminated string", line, col);
                    tokens.Add(new(Kind.Word, text[(i + 1)..end], 0, line, col));
                    col += end + 1 - i;
                    i = end + 1;
                    continue;
                }
            }
            if (char.IsLetter(c) || c == '_')
            {
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_')) i++;
                string word = text[start..i];
                col += i - start;
                var special = word.ToLowerInvariant() switch
                {
                    "nan" => double.NaN,
                    "inf" or "infinity" => double.PositiveInfinity,
                    _ =>
                    (double?)null
                };
                tokens.Add(special is { } v ? new(Kind.Number, word, v, line, startCol) : new(Kind.Word, word, 0, line, startCol));
                continue;
            }
            if (char.IsDigit(c) || c is '-' or '+' or '.')
            {
                i++;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '.' or '+' or '-' || text[i] == '_'))
                {
                    if (text[i] is '+' or '-' && text[i - 1] is not ('e' or 'E')) break;
                    i++;
                }
                string num = text[start..i];
                col += i - start;
                string lower = num.ToLowerInvariant().Replace("_", "");
                if (lower is "-inf" or "+inf" or "-infinity" or "+infinity")
                    tokens.Add(new(Kind.Number, num, lower[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity, line, startCol));
                else if (lower is "-nan" or "+nan")
                    tokens.Add(new(Kind.Number, num, double.NaN, line, startCol));
                else if (double.TryParse(lower, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
                    && !lower.Contains("infinity") && !lower.Contains('∞'))
                    tokens.Add(new(Kind.Number, num, d, line, startCol));
                else
                    throw new InputFormatException($"'{num}' is not a number", line, startCol);
                continue;
            }
            throw new InputFormatException($"unexpected character '{c}'", line, col);
        }
        tokens.Add(new(Kind.End, "", 0, line, col));
        tokens.Add(new(Kind.End, "", 0, line, col));
        return tokens;
    }

    private static string Describe(Token t) => t.Kind == Kind.End ? "the end of the input" : $"'{t.Text}'";

    private static InputFormatException Error(string message, Token at) => new(message, at.Line, at.Column);
}
