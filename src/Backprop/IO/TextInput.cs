using System.Globalization;

namespace Backprop.IO;

/// <summary>
/// Reads the textbook's sample-input form: for each input a line <c>name:</c> followed by a nested-list literal
/// (or a number, or a word), which may span several lines. <c>#</c> starts a comment. Elements are separated by commas
/// or, as numpy prints arrays (and <c>backprop layer</c> prints its results), by white space alone.
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
internal static class TextInput
{
    /// <summary>The deepest nesting of lists accepted (a tensor of rank 32); deeper input is an error, never a stack overflow.</summary>
    public const int MaxDepth = 32;

    private enum Kind { Name, Colon, Open, Close, Comma, Number, Word, End }

    // Text is the word of names and words; numbers keep only their value and where they start (no string each).
    private readonly record struct Token(Kind Kind, string? Text, double Number, int Line, int Column, int Start, int Length);

    /// <summary>Parses the text into named inputs, in order.</summary>
    /// <exception cref="InputFormatException">Malformed text, with line and column.</exception>
    /// <remarks>
    /// One pass with two tokens of lookahead and no token list: the memory it needs is the numbers it returns (and their
    /// positions, for messages), about twice the input's size for typical text.
    /// </remarks>
    public static IReadOnlyList<InputValue> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lx = new Lexer(text, text.StartsWith('\uFEFF') ? 1 : 0);   // a UTF-8 byte-order mark, as any reader
        var result = new List<InputValue>();
        var names = new HashSet<string>();
        while (lx.Peek().Kind != Kind.End)
        {
            var name = lx.Peek();
            if (name.Kind != Kind.Word || lx.Peek(1).Kind != Kind.Colon)
                throw Error($"expected an input name followed by ':' but found {lx.Describe(name)}", name);
            lx.Next();
            lx.Next();
            if (!names.Add(name.Text!)) throw Error($"input '{name.Text}' is given twice", name);
            var start = lx.Peek();
            if (start.Kind == Kind.Word && lx.Peek(1).Kind != Kind.Colon)
            {
                result.Add(new InputValue { Name = name.Text!, Word = start.Text, Where = $"line {start.Line}, column {start.Column}" });
                lx.Next();
                continue;
            }
            var values = new List<double>();
            var positions = new List<(int, int)>();
            var shape = ParseValue(lx, values, positions, name.Text!, 0);
            result.Add(new InputValue
            {
                Name = name.Text!,
                Shape = shape,
                Values = values.ToArray(),
                Positions = positions.ToArray(),
                Where = $"line {start.Line}, column {start.Column}",
            });
        }
        return result;
    }

    // value := number | '[' [value (',' value)* [',']] ']'; returns the shape, checking that siblings agree.
    private static int[] ParseValue(Lexer lx, List<double> values, List<(int, int)> positions, string name, int depth)
    {
        var t = lx.Peek();
        if (depth > MaxDepth) throw Error($"{name}: lists nested deeper than {MaxDepth} levels", t);
        if (t.Kind == Kind.Number)
        {
            lx.Next();
            values.Add(t.Number);
            positions.Add((t.Line, t.Column));
            return [];
        }
        if (t.Kind != Kind.Open) throw Error($"{name}: expected a number or '[' but found {lx.Describe(t)}", t);
        lx.Next();
        int[]? inner = null;
        int count = 0;
        while (lx.Peek().Kind != Kind.Close)
        {
            var itemStart = lx.Peek();
            var shape = ParseValue(lx, values, positions, name, depth + 1);
            if (inner is null) inner = shape;
            else if (!inner.AsSpan().SequenceEqual(shape))
                throw Error($"{name}: ragged nested list: element {count} has shape {ShapeText(shape)} but element 0 has " +
                    $"shape {ShapeText(inner)}", itemStart);
            count++;
            var sep = lx.Peek();
            if (sep.Kind == Kind.Comma) lx.Next();
            // numpy's printed form separates elements by white space alone: "[[1 2]\n [3 4]]" (but "1-2" is no list).
            else if (sep.Kind is Kind.Number or Kind.Open && sep.Start > lx.LastEnd) continue;
            else if (sep.Kind != Kind.Close) throw Error($"{name}: expected ',' or ']' but found {lx.Describe(sep)}", sep);
        }
        lx.Next();
        return [count, .. inner ?? []];
    }

    private static string ShapeText(int[] s) => s.Length == 0 ? "() (a number)" : Tensor<double>.ShapeText(s);

    // The tokens of the text, read as the parser asks for them.
    private sealed class Lexer(string text, int begin)
    {
        private int _i = begin, _line = 1, _col = 1, _have;
        private Token _t0, _t1;

        public Token Peek(int ahead = 0)
        {
            while (_have <= ahead)
            {
                var t = Read();
                if (_have == 0) _t0 = t;
                else _t1 = t;
                _have++;
            }
            return ahead == 0 ? _t0 : _t1;
        }

        public void Next()
        {
            Peek();
            LastEnd = _t0.Start + _t0.Length;
            _t0 = _t1;
            _have--;
        }

        /// <summary>Where the last token taken by <see cref="Next"/> ended.</summary>
        public int LastEnd { get; private set; }

        public string Describe(Token t) => t.Kind switch
        {
            Kind.End => "the end of the input",
            Kind.Number => $"'{text.Substring(t.Start, t.Length)}'",
            _ => $"'{t.Text}'",
        };

        private Token Read()
        {
            while (_i < text.Length)
            {
                char c = text[_i];
                if (c == '\n') { _line++; _col = 1; _i++; continue; }
                if (char.IsWhiteSpace(c)) { _i++; _col++; continue; }
                if (c == '#')
                {
                    while (_i < text.Length && text[_i] != '\n') _i++;
                    continue;
                }
                int startCol = _col, start = _i;
                switch (c)
                {
                    case ':': return Single(Kind.Colon, ":");
                    case '[': return Single(Kind.Open, "[");
                    case ']': return Single(Kind.Close, "]");
                    case ',': return Single(Kind.Comma, ",");
                    case '"' or '\'':
                    {
                        int end = text.IndexOf(c, _i + 1);
                        int nl = text.IndexOf('\n', _i + 1);
                        if (end < 0 || (nl >= 0 && nl < end)) throw new InputFormatException("unterminated string", _line, _col);
                        var word = new Token(Kind.Word, text[(_i + 1)..end], 0, _line, _col, start, end + 1 - start);
                        _col += end + 1 - _i;
                        _i = end + 1;
                        return word;
                    }
                }
                if (char.IsLetter(c) || c == '_')
                {
                    while (_i < text.Length && (char.IsLetterOrDigit(text[_i]) || text[_i] == '_')) _i++;
                    string w = text[start.._i];
                    _col += _i - start;
                    var special = w.ToLowerInvariant() switch
                    {
                        "nan" => double.NaN,
                        "inf" or "infinity" => double.PositiveInfinity,
                        _ => (double?)null,
                    };
                    return special is { } v
                        ? new(Kind.Number, null, v, _line, startCol, start, _i - start)
                        : new(Kind.Word, w, 0, _line, startCol, start, _i - start);
                }
                if (char.IsDigit(c) || c is '-' or '+' or '.')
                {
                    _i++;
                    while (_i < text.Length && (char.IsLetterOrDigit(text[_i]) || text[_i] is '.' or '+' or '-' || text[_i] == '_'))
                    {
                        if (text[_i] is '+' or '-' && text[_i - 1] is not ('e' or 'E')) break;
                        _i++;
                    }
                    _col += _i - start;
                    return new(Kind.Number, null, Number(text.AsSpan(start, _i - start), startCol), _line, startCol, start, _i - start);
                }
                throw new InputFormatException($"unexpected character '{c}'", _line, _col);
            }
            return new(Kind.End, "", 0, _line, _col, _i, 0);
        }

        private Token Single(Kind kind, string s)
        {
            var t = new Token(kind, s, 0, _line, _col, _i, 1);
            _i++;
            _col++;
            return t;
        }

        // A number as numpy and Python write them (underscores allowed, inf and nan in any case, a sign in front).
        private double Number(ReadOnlySpan<char> num, int col)
        {
            if (num.IndexOfAny('_', 'i', 'I') < 0 && num.IndexOfAny('n', 'N') < 0
                && double.TryParse(num, NumberStyles.Float, CultureInfo.InvariantCulture, out double fast))
                return fast;
            string lower = num.ToString().ToLowerInvariant().Replace("_", "");
            if (lower is "-inf" or "+inf" or "-infinity" or "+infinity") return lower[0] == '-' ? double.NegativeInfinity
                : double.PositiveInfinity;
            if (lower is "-nan" or "+nan") return double.NaN;
            if (double.TryParse(lower, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
                && !lower.Contains("infinity") && !lower.Contains('∞'))
                return d;
            throw new InputFormatException($"'{num}' is not a number", _line, col);
        }
    }


    private static InputFormatException Error(string message, Token at) => new(message, at.Line, at.Column);
}
