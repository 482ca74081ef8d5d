using System.Globalization;
using System.Numerics;
using System.Text;

namespace Backprop;

/// <summary>
/// Prints arrays exactly as numpy's <c>print(array)</c> does with default options: precision 8, unique shortest
/// digits, aligned columns, lines wrapped at 75 characters, and arrays over 1000 elements summarized with "...".
/// </summary>
internal static class NumpyFormat
{
    private const int Precision = 8;
    private const int LineWidth = 75;
    private const int Threshold = 1000;
    private const int EdgeItems = 3;

    /// <summary>The text numpy prints for <paramref name="t"/>.</summary>
    public static string Format<T>(Tensor<T> t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (t.Rank == 0) return Scalar(t.Span[0]);
        bool summarize = t.Length > Threshold;
        var shape = t.Shape.ToArray();
        var shown = new List<double>();
        Collect(t, shape, 0, 0, summarize, shown);
        var fmt = new FloatFormat(shown, typeof(T) == typeof(float));
        var data = t.Span.ToArray().Select(v => double.CreateTruncating(v)).ToArray();
        return Recurse(data, shape, 0, 0, " ", LineWidth, fmt, summarize);
    }

    /// <summary>A scalar as numpy's <c>str()</c> of a float64 or float32 scalar prints it (Python's float repr style).</summary>
    public static string Scalar<T>(T value) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double v = double.CreateTruncating(value);
        if (double.IsNaN(v)) return "nan";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        var (digits, exp) = Shortest(value);
        bool neg = double.IsNegative(v);
        string sign = neg ? "-" : "";
        if (v == 0) return sign + "0.0";
        // exp is the decimal exponent of the first digit (d.ddd × 10^exp); Python uses positional for −4 ≤ exp < 16.
        if (exp >= -4 && exp < 16)
        {
            string s = Positional(digits, exp);
            if (s.EndsWith('.')) s += "0";
            return sign + s;
        }
        string mant = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
        return sign + mant + "e" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
    }

    private static void Collect<T>(Tensor<T> t, int[] shape, int axis, int offset, bool summarize, List<double> into)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = shape[axis];
        int stride = 1;
        for (int a = axis + 1; a < shape.Length; a++) stride *= shape[a];
        foreach (int i in Shown(n, summarize))
        {
            if (axis == shape.Length - 1) into.Add(double.CreateTruncating(t.Span[offset + i]));
            else Collect(t, shape, axis + 1, offset + i * stride, summarize, into);
        }
    }

    private static IEnumerable<int> Shown(int n, bool summarize)
    {
        if (!summarize || n <= 2 * EdgeItems)
        {
            for (int i = 0; i < n; i++) yield return i;
            yield break;
        }
        for (int i = 0; i < EdgeItems; i++) yield return i;
        for (int i = n - EdgeItems; i < n; i++) yield return i;
    }

    // numpy's _formatArray: rows wrap at the line width, inner axes separated by blank lines, "..." for summaries.
    private static string Recurse(double[] data, int[] shape, int axis, int offset, string hanging, int width, FloatFormat fmt,
        bool summarize)
    {
        int axesLeft = shape.Length - axis;
        string nextHanging = hanging + " ";
        int nextWidth = width - 1;
        int n = shape[axis];
        int stride = 1;
        for (int a = axis + 1; a < shape.Length; a++) stride *= shape[a];
        bool showSummary = summarize && 2 * EdgeItems < n;
        int leading = showSummary ? EdgeItems : 0;
        int trailing = showSummary ? EdgeItems : n;
        var s = new StringBuilder();
        string Item(int i) => axesLeft == 1 ? fmt.Format(data[offset + i]) : Recurse(data, shape, axis + 1, offset + i * stride,
            nextHanging, nextWidth, fmt, summarize);

        if (axesLeft == 1)
        {
            int elemWidth = width - 1;
            string line = hanging;
            for (int i = 0; i < leading; i++)
            {
                line = Extend(s, line, Item(i), elemWidth, hanging);
                line += " ";
            }
            if (showSummary)
            {
                line = Extend(s, line, "...", elemWidth, hanging);
                line += " ";
            }
            for (int i = trailing; i > 1; i--)
            {
                line = Extend(s, line, Item(n - i), elemWidth, hanging);
                line += " ";
            }
            line = Extend(s, line, Item(n - 1), elemWidth, hanging);
            s.Append(line);
        }
        else
        {
            string lineSep = new('\n', axesLeft - 1);
            for (int i = 0; i < leading; i++) s.Append(hanging).Append(Item(i)).Append(lineSep);
            if (showSummary) s.Append(hanging).Append("...").Append(lineSep);
            for (int i = trailing; i > 1; i--) s.Append(hanging).Append(Item(n - i)).Append(lineSep);
            s.Append(hanging).Append(Item(n - 1));
        }
        return "[" + s.ToString(hanging.Length, s.Length - hanging.Length) + "]";
    }

    private static string Extend(StringBuilder s, string line, string word, int width, string nextLinePrefix)
    {
        bool wrap = line.Length + word.Length > width && line.Length > nextLinePrefix.Length;
        if (wrap)
        {
            s.Append(line.TrimEnd()).Append('\n');
            line = nextLinePrefix;
        }
        return line + word;
    }

    /// <summary>numpy's FloatingFormat in 'maxprec' mode: one format for all shown elements.</summary>
    private sealed class FloatFormat
    {
        private readonly bool _single, _exp;
        private readonly int _padLeft, _padRight, _precision, _expSize;

        public FloatFormat(List<double> values, bool single)
        {
            _single = single;
            var finite = values.Where(double.IsFinite).ToList();
            var nonZero = finite.Where(v => v != 0).Select(Math.Abs).ToList();
            if (nonZero.Count > 0)
            {
                double max = nonZero.Max(), min = nonZero.Min();
                _exp = max >= 1e8 || min < 1e-4 || max / min > 1000;
            }
            if (finite.Count == 0) { _padLeft = 0; _padRight = 0; }
            else if (_exp)
            {
                var parts = finite.Select(v => Scientific(v, -1)).ToList();
                _precision = parts.Max(p => p.frac.Length);
                _expSize = Math.Max(2, parts.Max(p => p.exp.Length - 1));
                _padLeft = parts.Max(p => p.intPart.Length);
            }
            else
            {
                var parts = finite.Select(v => PositionalParts(v)).ToList();
                _padLeft = parts.Max(p => p.intPart.Length);
                _padRight = parts.Max(p => p.frac.Length);
            }
            if (finite.Count != values.Count)
            {
                int nonFinite = values.Where(v => !double.IsFinite(v)).Max(v => double.IsNaN(v) ? 3 : v > 0 ? 3 : 4);
                if (_exp) _padLeft = Math.Max(_padLeft, nonFinite - (_precision + _expSize + 3) + 1);
                else _padLeft = Math.Max(_padLeft, nonFinite - _padRight - 1);
            }
        }

        public string Format(double v)
        {
            if (!double.IsFinite(v))
            {
                string word = double.IsNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
                int w = _exp ? _padLeft + _precision + _expSize + 3 : _padLeft + _padRight + 1;
                return word.PadLeft(w);
            }
            if (_exp)
            {
                var (intPart, frac, exp) = Scientific(v, _precision);
                string e = exp[0] + exp[1..].PadLeft(_expSize, '0');
                return intPart.PadLeft(_padLeft) + "." + frac + "e" + e;
            }
            var (ip, fp) = PositionalParts(v);
            return ip.PadLeft(_padLeft) + "." + fp.PadRight(_padRight);
        }

        // dragon4_positional, unique digits, at most 8 fractional digits, trailing zeros trimmed (trim='.').
        private (string intPart, string frac) PositionalParts(double v)
        {
            string sign = double.IsNegative(v) ? "-" : "";
            double a = Math.Abs(v);
            var (digits, exp) = _single ? Shortest((float)a) : Shortest(a);
            string s = a == 0 ? "0" : Positional(digits, exp);
            int dot = s.IndexOf('.');
            if (dot >= 0 && s.Length - dot - 1 > Precision)
                s = a.ToString("F" + Precision, CultureInfo.InvariantCulture).TrimEnd('0');
            dot = s.IndexOf('.');
            string ip = dot < 0 ? s : s[..dot];
            string fp = dot < 0 ? "" : s[(dot + 1)..];
            return (sign + ip, fp);
        }

        // dragon4_scientific: unique digits, at most 8 after the point; padded to `precision` when it is ≥ 0.
        private (string intPart, string frac, string exp) Scientific(double v, int precision)
        {
            string sign = double.IsNegative(v) ? "-" : "";
            double a = Math.Abs(v);
            string digits; int exp;
            if (a == 0) { digits = "0"; exp = 0; }
            else
            {
                (digits, exp) = _single ? Shortest((float)a) : Shortest(a);
                if (digits.Length - 1 > Precision)
                {
                    string r = a.ToString("E" + Precision, CultureInfo.InvariantCulture);   // d.dddddddde±xxx, exact rounding
                    int e = r.IndexOf('E');
                    digits = (r[0] + r[2..e]).TrimEnd('0');
                    if (digits.Length == 0) digits = "0";
                    exp = int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture);
                }
            }
            string frac = digits.Length > 1 ? digits[1..] : "";
            if (precision >= 0 && frac.Length < precision && a != 0)
            {
                // Dragon4 fills min_digits with further digits of the exact binary value, not with zeros.
                string r = a.ToString("E" + precision, CultureInfo.InvariantCulture);
                int e = r.IndexOf('E');
                digits = r[0] + r[2..e];
                frac = digits[1..];
                exp = int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture);
            }
            if (precision >= 0) frac = frac.PadRight(precision, '0');
            return (sign + digits[0], frac, (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The shortest round-trip digits of |v| (no leading/trailing zeros) and the decimal exponent of the first digit.</summary>
    internal static (string digits, int exp) Shortest<T>(T value) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // "R" gives the shortest round-trip string; take its digits and exponent whatever notation it chose.
        string s = T.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        int ePos = s.IndexOfAny(['E', 'e']);
        string mant = ePos >= 0 ? s[..ePos] : s;
        int e10 = ePos >= 0 ? int.Parse(s[(ePos + 1)..], CultureInfo.InvariantCulture) : 0;
        int dot = mant.IndexOf('.');
        string intDigits = dot >= 0 ? mant[..dot] : mant;
        string fracDigits = dot >= 0 ? mant[(dot + 1)..] : "";
        string all = intDigits + fracDigits;
        int firstExp = e10 + intDigits.Length - 1;   // exponent of all[0]
        int lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0') lead++;
        all = all[lead..];
        firstExp -= lead;
        all = all.TrimEnd('0');
        if (all.Length == 0) { all = "0"; firstExp = 0; }
        return (all, firstExp);
    }

    /// <summary>digits × 10^(exp − len + 1) in positional notation, with a '.' when there is a fractional part.</summary>
    internal static string Positional(string digits, int exp)
    {
        if (exp < 0) return "0." + new string('0', -exp - 1) + digits;
        if (digits.Length <= exp + 1) return digits + new string('0', exp + 1 - digits.Length) + ".";
        return digits[..(exp + 1)] + "." + digits[(exp + 1)..];
    }
}
