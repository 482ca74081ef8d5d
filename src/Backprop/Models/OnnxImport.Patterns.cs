using Backprop.IO;

namespace Backprop.Models;

// The activations that exporters write as several nodes (GELU from erf or tanh, SiLU, ELU and the like), recognized as
// one layer each.
public static partial class OnnxFile
{
    private sealed partial class Importer
    {
        // 0.5·x·(1 + erf(x/√2)): Div, Erf, Add, Mul, Mul.
        private string GeluErf(OnnxNode div, string x)
        {
            if (div.Inputs[0] != x || !Near(Scalar(div, div.Inputs[1]), Math.Sqrt(2))) throw Unsupported(div, "is not the start of a GELU");
            var erf = Single(Out(div), "Erf", div);
            var add = Single(Out(erf), "Add", erf);
            if (!Near(Scalar(add, Other(add, Out(erf))), 1)) throw Unsupported(add, "is not GELU's + 1");
            var mul = Single(Out(add), "Mul", add);
            if (Other(mul, Out(add)) != x) throw Unsupported(mul, "is not GELU's x·");
            var half = Single(Out(mul), "Mul", mul);
            if (!Near(Scalar(half, Other(half, Out(mul))), 0.5)) throw Unsupported(half, "is not GELU's ·0.5");
            foreach (var m in new[] { erf, add, mul, half }) _done.Add(m);
            return Add(half, "gelu", ("approximate", "none"));
        }

        // Mul(x, x) starts the tanh form of GELU; Mul(x, α) starts a float64 LeakyReLU (then Greater, Where); Mul(x, β)
        // starts a softplus with β (then Softplus or Log(Exp + 1), Div, Greater, Where).
        private string MulPattern(OnnxNode mul, string x)
        {
            if (mul.Inputs.Count(i => i == x) == 2) return GeluTanh(mul, x);
            string other = Other(mul, x);
            double k = Scalar(mul, other);
            var next = Consumers(Out(mul));
            var greater = Consumers(x).FirstOrDefault(c => c.OpType == "Greater" && !_done.Contains(c));
            if (next.Count == 1 && next[0].OpType == "Where" && greater is not null)
            {
                // where(x > 0, x, α·x)
                var where = next[0];
                if (!Near(Scalar(greater, Other(greater, x)), 0) || where.Inputs[0] != Out(greater) || where.Inputs[1] != x
                    || where.Inputs[2] != Out(mul))
                    throw Unsupported(where, "is not a leaky ReLU");
                _done.Add(greater);
                _done.Add(where);
                return Add(where, "leaky_relu", ("alpha", Real(k)));
            }
            // where(β·x > threshold, x, softplus(β·x)/β)
            var sp = next.FirstOrDefault(c => c.OpType is "Softplus" or "Exp") ?? throw Unsupported(mul, "is not part of a layer " +
                "Backprop knows (a scaled softplus, a leaky ReLU or GELU)");
            string spOut;
            _done.Add(sp);
            if (sp.OpType == "Exp")
            {
                var add = Single(Out(sp), "Add", sp);
                var log = Single(Out(add), "Log", add);
                if (!Near(Scalar(add, Other(add, Out(sp))), 1)) throw Unsupported(add, "is not softplus's + 1");
                _done.Add(add);
                _done.Add(log);
                spOut = Out(log);
            }
            else spOut = Out(sp);
            var div = Single(spOut, "Div", sp);
            if (div.Inputs[0] != spOut || !Near(Scalar(div, div.Inputs[1]), k)) throw Unsupported(div, "is not softplus's /β");
            var gt = next.FirstOrDefault(c => c.OpType == "Greater") ?? throw Unsupported(mul, "is not a softplus with a threshold");
            var w = Single(Out(div), "Where", div);
            if (w.Inputs[0] != Out(gt) || w.Inputs[1] != x || w.Inputs[2] != Out(div)) throw Unsupported(w, "is not softplus's threshold");
            double threshold = Scalar(gt, gt.Inputs[1]);
            foreach (var m in new[] { div, gt, w }) _done.Add(m);
            return Add(w, "softplus", ("beta", Real(k)), ("threshold", Real(threshold)));
        }

        // where(x > 0, x, α·(eˣ − 1)) (a float64 ELU): Exp, Sub, Mul, Greater, Where.
        private string EluPattern(OnnxNode exp, string x)
        {
            var sub = Single(Out(exp), "Sub", exp);
            if (!Near(Scalar(sub, sub.Inputs[1]), 1)) throw Unsupported(sub, "is not ELU's − 1");
            var mul = Single(Out(sub), "Mul", sub);
            double alpha = Scalar(mul, Other(mul, Out(sub)));
            var where = Single(Out(mul), "Where", mul);
            var greater = Consumers(x).FirstOrDefault(c => c.OpType == "Greater" && !_done.Contains(c))
                ?? throw Unsupported(where, "is not an ELU");
            if (where.Inputs[0] != Out(greater) || where.Inputs[1] != x) throw Unsupported(where, "is not an ELU");
            foreach (var m in new[] { sub, mul, where, greater }) _done.Add(m);
            return Add(where, "elu", ("alpha", Real(alpha)));
        }

        // A Greater on x before its Mul (the order may differ): the same patterns, started from the Mul.
        private string WherePattern(OnnxNode greater, string x)
        {
            _done.Remove(greater);
            var mul = Consumers(x).FirstOrDefault(c => c.OpType is "Mul" or "Exp" && !_done.Contains(c))
                ?? throw Unsupported(greater, "is not part of a layer Backprop knows");
            _done.Add(mul);
            return mul.OpType == "Exp" ? EluPattern(mul, x) : MulPattern(mul, x);
        }

        private string GeluTanh(OnnxNode x2, string x)
        {
            var x3 = Single(Out(x2), "Mul", x2);
            var cubic = Single(Out(x3), "Mul", x3);
            var inner = Single(Out(cubic), "Add", cubic);
            var scale = Single(Out(inner), "Mul", inner);
            var tanh = Single(Out(scale), "Tanh", scale);
            var add = Single(Out(tanh), "Add", tanh);
            var mul = Single(Out(add), "Mul", add);
            var half = Single(Out(mul), "Mul", mul);
            if (Other(x3, Out(x2)) != x || !Near(Scalar(cubic, Other(cubic, Out(x3))), 0.044715) || Other(inner, Out(cubic)) != x
                || !Near(Scalar(scale, Other(scale, Out(inner))), Math.Sqrt(2 / Math.PI)) || !Near(Scalar(add, Other(add, Out(tanh))), 1)
                || Other(mul, Out(add)) != x || !Near(Scalar(half, Other(half, Out(mul))), 0.5))
                throw Unsupported(half, "is not the tanh form of GELU");
            foreach (var m in new[] { x3, cubic, inner, scale, tanh, add, mul, half }) _done.Add(m);
            return Add(half, "gelu", ("approximate", "tanh"));
        }
    }
}
