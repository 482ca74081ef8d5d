using System.Buffers.Binary;
using Backprop.Data;
using Backprop.IO;
using Backprop.Models;
using CsCheck;

namespace Backprop.Tests;

/// <summary>Write → read round trips of every file format for random valid content (CsCheck).</summary>
public class RoundTripProperties
{
    private static readonly Gen<int[]> Shapes = Gen.Int[1, 4].Array[0, 3];

    [Fact]
    public void Safetensors_round_trip_any_tensors_and_metadata()
    {
        var gen = Gen.Select(Shapes, Gen.Int[0, 1000], Gen.String[Gen.Char.AlphaNumeric, 0, 12], Gen.Bool).Array[0, 5];
        gen.Sample(items =>
        {
            var entries = items.Select((it, i) =>
            {
                var (shape, seed, _, f64) = it;
                int n = shape.Aggregate(1, (a, b) => a * b);
                var r = new Random(seed);
                return f64
                    ? new SafeTensors.Entry($"t{i}", shape, null, Enumerable.Range(0, n).Select(_ => r.NextDouble() * 2 - 1).ToArray())
                    : new SafeTensors.Entry($"t{i}", shape, Enumerable.Range(0, n).Select(_ => (float)r.NextDouble()).ToArray(), null);
            }).ToList();
            var meta = items.Select((it, i) => (Key: $"k{i}", Value: it.Item3)).ToDictionary(p => p.Key, p => p.Value);
            string path = Path.Combine(Path.GetTempPath(), $"bp-rt-{Guid.NewGuid():N}.safetensors");
            try
            {
                SafeTensors.Save(path, entries, meta);
                var (back, backMeta) = SafeTensors.Load(path);
                Assert.Equal(meta, backMeta);
                Assert.Equal(entries.Count, back.Count);
                for (int i = 0; i < entries.Count; i++)
                {
                    Assert.Equal(entries[i].Name, back[i].Name);
                    Assert.Equal(entries[i].Shape, back[i].Shape);
                    Assert.Equal(entries[i].F32, back[i].F32);
                    Assert.Equal(entries[i].F64, back[i].F64);
                }
            }
            finally { File.Delete(path); }
        }, iter: 60);
    }

    [Fact]
    public void Model_descriptions_round_trip_through_json_and_files()
    {
        var gen = Gen.Select(Gen.Int[1, 9].Array[2, 5], Gen.Int[0, 7], Gen.Bool, Gen.Double[0, 0.9], Gen.Bool);
        var activations = Kinds.Activations.Select(k => k.Name).ToArray();
        gen.Sample(((int[] sizes, int act, bool bn, double p, bool f64) c) =>
        {
            var spec = new MlpSpec
            {
                Sizes = c.sizes,
                Activation = activations[c.act],
                BatchNorm = c.bn,
                Dropout = c.p,
                Dtype = c.f64 ? "float64" : "float32"
            };
            var d = spec.Describe();
            Assert.Equal(d, ModelDescription.FromJson(d.ToJson(), "m"));
            var back = MlpSpec.From(d);
            Assert.NotNull(back);
            Assert.Equal(d, back.Describe());   // the same network (a spec without hidden layers has no batch norm or activation)
            string path = Path.Combine(Path.GetTempPath(), $"bp-rt-{Guid.NewGuid():N}.safetensors");
            try
            {
                if (c.f64) spec.Build<double>(new Rng(1)).Save(path);
                else spec.Build<float>(new Rng(1)).Save(path);
                Assert.Equal(d, ModelFile.Read(path).Description);
            }
            finally { File.Delete(path); }
        }, iter: 60);
    }

    [Fact]
    public void Text_and_json_inputs_round_trip_any_finite_arrays()
    {
        Gen.Double[-1e6, 1e6].Array[1, 7].Array[1, 4].Sample(rows =>
        {
            int cols = rows[0].Length;
            var m = rows.Select(r => r.Length == cols ? r : r.Concat(Enumerable.Repeat(0.5, cols)).Take(cols).ToArray()).ToArray();
            string Num(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            string list = "[" + string.Join(", ", m.Select(r => "[" + string.Join(", ", r.Select(Num)) + "]")) + "]";
            foreach (var parsed in new[] { TextInput.Parse($"x:\n{list}\n"), JsonInput.Parse($"{{\"x\": {list}}}") })
            {
                var x = Assert.Single(parsed);
                Assert.Equal([m.Length, cols], x.Shape!);
                Assert.Equal(m.SelectMany(r => r).ToArray(), x.Values);
            }
        }, iter: 100);
    }

    [Fact]
    public void Idx_arrays_round_trip()
    {
        Gen.Select(Gen.Int[1, 5].Array[1, 4], Gen.Int[0, 1000]).Sample(((int[] shape, int seed) c) =>
        {
            int n = c.shape.Aggregate(1, (a, b) => a * b);
            var data = new byte[n];
            new Random(c.seed).NextBytes(data);
            var bytes = new byte[4 + 4 * c.shape.Length + n];
            bytes[2] = 0x08;
            bytes[3] = (byte)c.shape.Length;
            for (int i = 0; i < c.shape.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), c.shape[i]);
            data.CopyTo(bytes, 4 + 4 * c.shape.Length);
            var back = Idx.Parse(bytes, "f");
            Assert.Equal(c.shape, back.Shape);
            Assert.Equal(data, back.Data);
        }, iter: 100);
    }
}
