using System.Reflection;
using Backprop.Layers;
using CsCheck;

namespace Backprop.Tests;

/// <summary>
/// The library's promise is an exception, never a crash: every public layer type (found by reflection, so a new one is
/// tested without anyone listing it) is built through each of its constructors with extreme hyper-parameters (0, 1,
/// 2³¹ − 1, values whose products or padded sizes wrap in 32 bits, NaN) and run forward and backward on small inputs of rank
/// 2 and 4 with awkward sizes. Every outcome is a result or a <see cref="BackpropException"/>. An unchecked size that feeds
/// unsafe code ends the test process instead (an access violation cannot be caught), which fails the run as loudly.
/// </summary>
// Apart from the allocation tests: its hundreds of convolutions hold the worker pool, and a job whose parts then all run on
// the caller can grow that thread's buffers once during their measurement.
[Collection("Global kernel settings")]
public class ExtremeSizeTests
{
    // Each value alone is small or beyond any array (a layer of 2³⁰ legitimate weights would take 8 GB); their products
    // wrap in int: 46341² > 2³¹ − 1 and 65536² = 2³².
    private static readonly int[] Ints = [0, 1, 2, 3, -1, int.MinValue, int.MaxValue, int.MaxValue - 2, 46341, 65536];
    private static readonly double[] Doubles = [0, 0.5, 1, -1, double.NaN, double.PositiveInfinity, 1e300];
    private static readonly int[] Sides = [1, 2, 5, 11, 17];

    public static IEnumerable<object[]> Constructors() =>
        typeof(Layer<double>).Assembly.GetExportedTypes()
            .Where(t => t.IsClass && !t.IsAbstract && t.IsGenericTypeDefinition && t.GetGenericArguments().Length == 1)
            .Select(t => t.MakeGenericType(typeof(double)))
            .Where(t => typeof(Layer<double>).IsAssignableFrom(t))
            .SelectMany(t => t.GetConstructors().Select((c, i) => new object[] { t.Name.Split('`')[0], i }));

    private static ConstructorInfo Constructor(string type, int index) =>
        typeof(Layer<double>).Assembly.GetExportedTypes().Single(t => t.Name.Split('`')[0] == type && t.IsGenericTypeDefinition)
            .MakeGenericType(typeof(double)).GetConstructors()[index];

    private static Tensor<double> Small(Random rng, params int[] shape)
    {
        var t = Tensor<double>.Zeros(shape);
        for (int i = 0; i < t.Length; i++) t.Span[i] = rng.NextDouble() * 2 - 1;
        return t;
    }

    /// <summary>An argument for <paramref name="p"/>: an extreme value of its type, or a small tensor of an awkward shape.</summary>
    private static object? Argument(ParameterInfo p, Random rng, int[] shape)
    {
        var t = p.ParameterType;
        if (t == typeof(int)) return rng.Next(2) == 0 ? 1 + rng.Next(3) : Ints[rng.Next(Ints.Length)];   // half of them usable
        if (t == typeof(double)) return rng.Next(2) == 0 ? 0.1 : Doubles[rng.Next(Doubles.Length)];
        if (t == typeof(bool)) return rng.Next(2) == 0;
        if (t.IsEnum) return Enum.GetValues(t).GetValue(rng.Next(Enum.GetValues(t).Length));
        if (t == typeof(Tensor<double>)) return p.Position == 0 ? Small(rng, shape) : Small(rng, shape[0]);
        if (p.HasDefaultValue) return p.DefaultValue;
        if (t == typeof(Rng)) return new Rng(1);
        throw new InvalidOperationException($"no extreme value for {t.Name} {p.Name}; add one here");
    }

    [Theory]
    [MemberData(nameof(Constructors))]
    public void Every_layer_gives_a_result_or_a_library_exception_at_extreme_sizes(string type, int index)
    {
        var ctor = Constructor(type, index);
        Gen.Int[0, int.MaxValue].Sample(seed =>
        {
            var rng = new Random(seed);
            int[] wShape = rng.Next(2) == 0
                ? [1 + rng.Next(3), 1 + rng.Next(3), Sides[rng.Next(Sides.Length)], Sides[rng.Next(Sides.Length)]]
                : [Sides[rng.Next(Sides.Length)], Sides[rng.Next(Sides.Length)]];
            var args = ctor.GetParameters().Select(p => Argument(p, rng, wShape)).ToArray();
            Layer<double> layer;
            try { layer = (Layer<double>)ctor.Invoke(args); }
            catch (TargetInvocationException e) when (e.InnerException is BackpropException) { return; }
            catch (TargetInvocationException e)
            {
                Assert.Fail($"new {type}({string.Join(", ", args.Select(Show))}): {e.InnerException}");
                return;
            }
            // Inputs the layer could take (its own channel or feature count where it says one) and ones it could not.
            int features = layer.Hyperparameters.Where(h => h.Key is "channels" or "inputs" or "features").Select(h => (int)h.Value)
                .FirstOrDefault(c => c <= 4, 1 + rng.Next(3));
            int[] xShape = rng.Next(2) == 0
                ? [1 + rng.Next(3), features, Sides[rng.Next(Sides.Length)], Sides[rng.Next(Sides.Length)]]
                : [1 + rng.Next(3), features * (rng.Next(2) == 0 ? 1 : Sides[rng.Next(Sides.Length)])];
            try
            {
                var y = layer.Forward(Small(rng, xShape));
                layer.Backward(Small(rng, y.Shape.ToArray()));
            }
            catch (BackpropException) { }
            catch (Exception e)
            {
                Assert.Fail($"new {type}({string.Join(", ", args.Select(Show))}) on x {Tensor<double>.ShapeText(xShape)}: {e}");
            }
        }, iter: 300, threads: 1);
    }

    private static string Show(object? a) => a switch
    {
        Tensor<double> t => "tensor " + t.ShapeString,
        null => "null",
        _ => Convert.ToString(a, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };

    [Fact]
    public void The_issues_convolution_with_a_wrapping_pad_is_an_exception()
    {
        var conv = new Convolution<double>(1, 1, 3, 3, pad: int.MaxValue - 2);
        var e = Assert.ThrowsAny<BackpropException>(() => conv.Forward(Tensor<double>.Zeros(1, 1, 11, 11)));
        Assert.Contains("too large", e.Message);
        var pool = new MaxPooling<double>(int.MaxValue, int.MaxValue, 1, int.MaxValue - 1);
        Assert.ThrowsAny<BackpropException>(() => pool.Forward(Tensor<double>.Zeros(1, 1, 11, 11)));
    }
}
