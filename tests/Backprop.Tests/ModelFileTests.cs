using Backprop.Models;

namespace Backprop.Tests;

public class ModelFileTests
{
    private static string Temp() => Path.Combine(Path.GetTempPath(), $"bp-{Guid.NewGuid():N}.safetensors");

    [Fact]
    public void Save_then_load_round_trips_every_tensor_and_the_description()
    {
        var spec = new MlpSpec { Sizes = [4, 6, 3], Activation = "tanh", BatchNorm = true, Dropout = 0.1 };
        var net = spec.Build<float>(new Rng(2));
        string path = Temp();
        try
        {
            ModelFile.Save(path, net);
            var loaded = ModelFile.Load<float>(path);
            Assert.Equal(spec.Describe(), ModelDescription.Of(loaded));
            var a = ModelFile.Tensors(net).ToList();
            var b = ModelFile.Tensors(loaded).ToList();
            Assert.Equal(a.Select(t => t.Name), b.Select(t => t.Name));
            for (int i = 0; i < a.Count; i++) Assert.Equal(a[i].Value.Span.ToArray(), b[i].Value.Span.ToArray());
            Assert.False(Directory.GetFiles(Path.GetTempPath(), $".{Path.GetFileName(path)}*.tmp").Any());   // no temporary left behind
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void The_file_is_standard_safetensors()
    {
        var spec = new MlpSpec { Sizes = [2, 3] };
        string path = Temp();
        try
        {
            ModelFile.Save(path, spec.Build<double>(new Rng(1)));
            var bytes = File.ReadAllBytes(path);
            ulong n = BitConverter.ToUInt64(bytes, 0);
            var header = System.Text.Json.JsonDocument.Parse(bytes.AsMemory(8, (int)n)).RootElement;
            var w = header.GetProperty("layers.0.W");
            Assert.Equal("F64", w.GetProperty("dtype").GetString());
            Assert.Equal([2, 3], w.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(0, (8 + (int)n) % 8);
            Assert.Equal(ModelFile.Format, header.GetProperty("__metadata__").GetProperty("format").GetString());
        }
        finally { File.Delete(path); }
    }

    public static TheoryData<string, string> Corruptions() => new()
    {
        { "truncate", "truncated" },
        { "short", "too short" },
        { "huge-header", "exceeds the limit" },
        { "bad-json", "not valid JSON" },
        { "dtype", "dtype I8" },
        { "offsets", "run past" },
        { "shape", "needs" },
        { "overlap", "overlap" },
        { "missing", "is missing" },
        { "wrong-shape", "but the model description needs" },
        { "nan", "NaN" },
        { "format", "not a Backprop model" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Damaged_files_fail_with_a_clear_error(string kind, string message)
    {
        var spec = new MlpSpec { Sizes = [2, 3] };
        var net = spec.Build<float>(new Rng(1));
        string path = Temp();
        try
        {
            ModelFile.Save(path, net);
            var bytes = File.ReadAllBytes(path);
            int n = (int)BitConverter.ToUInt64(bytes, 0);
            string header = System.Text.Encoding.UTF8.GetString(bytes, 8, n);
            byte[] With(string h)
            {
                while (h.Length < n) h += " ";
                var hb = System.Text.Encoding.UTF8.GetBytes(h);
                var lenb = BitConverter.GetBytes((ulong)hb.Length);
                return [.. lenb, .. hb, .. bytes[(8 + n)..]];
            }
            byte[] damaged = kind switch
            {
                "truncate" => bytes[..^5],
                "short" => bytes[..5],
                "huge-header" => [.. BitConverter.GetBytes(ulong.MaxValue / 2), .. bytes[8..]],
                "bad-json" => With(header.Replace("{", "[")),
                "dtype" => With(header.Replace("\"F32\"", "\"I8\"")),
                "offsets" => With(header.Replace("[0,24]", "[0,2400]")),
                "shape" => With(header.Replace("[2,3]", "[2,4]")),
                "overlap" => With(header.Replace("[24,36]", "[20,32]")),
                "missing" => With(header.Replace("layers.0.b", "layers.0.c")),
                "wrong-shape" => With(header.Replace("[2,3]", "[3,2]")),
                "nan" => [.. bytes[..(8 + n)], .. BitConverter.GetBytes(float.NaN), .. bytes[(8 + n + 4)..]],
                "format" => With(header.Replace(ModelFile.Format, "other")),
                _ => throw new ArgumentException(kind),
            };
            File.WriteAllBytes(path, damaged);
            var e = Assert.Throws<InvalidFileException>(() => ModelFile.Load<float>(path));
            Assert.Contains(message, e.Message);
        }
        finally { File.Delete(path); }
    }
}
