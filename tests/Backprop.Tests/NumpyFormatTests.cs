using System.Text.Json;
using Backprop.IO;

namespace Backprop.Tests;

public class NumpyFormatTests
{
    public static TheoryData<int> Cases()
    {
        var data = new TheoryData<int>();
        int n = Load().GetProperty("cases").GetArrayLength();
        for (int i = 0; i < n; i++) data.Add(i);
        return data;
    }

    private static JsonElement Load() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "numpy_format.json"))).RootElement;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Prints_arrays_exactly_as_numpy_does(int index)
    {
        var c = Load().GetProperty("cases")[index];
        int[] shape = c.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        double[] values = c.GetProperty("values").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        string expected = c.GetProperty("text").GetString()!;
        string actual = c.GetProperty("dtype").GetString() == "float32"
            ? NumpyFormat.Format(new Tensor<float>(values.Select(v => (float)v).ToArray(), shape))
            : NumpyFormat.Format(new Tensor<double>(values, shape));
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(0.1, "0.1")]
    [InlineData(2.0, "2.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e16, "1e+16")]
    [InlineData(123456789012345.6, "123456789012345.6")]
    [InlineData(2.3025850929940455, "2.3025850929940455")]
    [InlineData(1.5e-300, "1.5e-300")]
    public void Prints_scalars_as_python_repr(double v, string expected) => Assert.Equal(expected, NumpyFormat.Scalar(v));
}
