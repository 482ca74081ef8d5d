using System.Buffers.Binary;
using System.Text;
using Backprop.Data;
using Backprop.IO;
using Backprop.Models;
using Backprop.Optimizers;
using Backprop.Training;
using CsCheck;

namespace Backprop.Tests;

/// <summary>
/// A bounded, seeded mutation battery over every reader: bit flips, truncations, insertions, duplicated and deleted
/// stretches, structural characters and deep nesting. Every outcome must be a result or one of the library's exceptions
/// (on the command line: exit code 0 or 2), never anything else.
/// </summary>
public class FuzzTests
{
    private const int PerReader = 400;

    private static readonly byte[] Specials = "[]{}\",:0-e.\\\0\u00FF\n#\uFEFF"u8.ToArray();

    private static byte[] Mutate(byte[] input, Random rng)
    {
        var b = new List<byte>(input);
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits && b.Count > 0; e++)
        {
            int at = rng.Next(b.Count);
            switch (rng.Next(7))
            {
                case 0: b[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: b.RemoveRange(at, b.Count - at); break;
                case 2: b.InsertRange(at, Enumerable.Range(0, 1 + rng.Next(8)).Select(_ => (byte)rng.Next(256))); break;
                case 3:
                {
                    int len = Math.Min(b.Count - at, 1 + rng.Next(64));
                    b.InsertRange(at, b.GetRange(at, len));
                    break;
                }
                case 4: b.RemoveRange(at, Math.Min(b.Count - at, 1 + rng.Next(16))); break;
                case 5: b[at] = Specials[rng.Next(Specials.Length)]; break;
                default: b.InsertRange(at, Enumerable.Repeat((byte)'[', 1 + rng.Next(200))); break;
            }
        }
        return b.ToArray();
    }

    private static void Battery(byte[] seed, int salt, Action<byte[]> read)
    {
        var rng = new Random(salt);
        for (int i = 0; i < PerReader; i++)
        {
            var input = Mutate(seed, rng);
            try { read(input); }
            catch (BackpropException) { }
            catch (Exception e)
            {
                Assert.Fail($"mutation {i} (seed {salt}): {e.GetType().Name}: {e.Message}\ninput: {Convert.ToBase64String(input)}");
            }
        }
    }

    [Fact]
    public void The_text_reader_survives_mutations() =>
        Battery(Encoding.UTF8.GetBytes(TestUtil.TextbookInput + "\napproximate: tanh\nalpha: 0.5\n"), 1,
            b => TextInput.Parse(Encoding.UTF8.GetString(b)));

    [Fact]
    public void The_json_reader_survives_mutations() =>
        Battery("""{"W": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "b": [0.1, 0.2, 0.3], "x": [[1, 2]], "approximate": "tanh"}"""u8.ToArray(), 2,
            b => JsonInput.Parse(Encoding.UTF8.GetString(b)));

    [Fact]
    public void Model_descriptions_survive_mutations() =>
        Battery(Encoding.UTF8.GetBytes(new MlpSpec
        {
            Sizes = [4, 8, 3],
            BatchNorm = true,
            Dropout = 0.2,
            Activation = "gelu"
        }.Describe().ToJson()),
            3, b => ModelDescription.FromJson(Encoding.UTF8.GetString(b), "m"));

    [Fact]
    public void Idx_files_survive_mutations()
    {
        var idx = new byte[4 + 12 + 2 * 3 * 3];
        idx[2] = 0x08;
        idx[3] = 3;
        BinaryPrimitives.WriteInt32BigEndian(idx.AsSpan(4), 2);
        BinaryPrimitives.WriteInt32BigEndian(idx.AsSpan(8), 3);
        BinaryPrimitives.WriteInt32BigEndian(idx.AsSpan(12), 3);
        Battery(idx, 4, b => Idx.Parse(b, "f"));
        var gz = new MemoryStream();
        using (var z = new System.IO.Compression.GZipStream(gz, System.IO.Compression.CompressionLevel.Fastest,
            leaveOpen: true)) z.Write(idx);
        Battery(gz.ToArray(), 5, b => Idx.Parse(b, "f.gz", 1 << 20));
    }

    [Fact]
    public void Model_files_and_checkpoints_survive_mutations()
    {
        string dir = Directory.CreateTempSubdirectory("bp-fuzz-").FullName;
        try
        {
            string seedPath = Path.Combine(dir, "seed.safetensors");
            var net = new MlpSpec { Sizes = [2, 3, 3], BatchNorm = true, Dropout = 0.1 }.Build<float>(new Rng(1));
            var t = new Trainer<float>(net, new OptimizerSettings { Kind = OptimizerKind.Adam }, new TrainerOptions { Batch = 10 })
            {
                Data = new DataSource { Validation = 0.2 },
            };
            t.RunEpoch(Datasets.Spiral(10, 3, 0), null);
            t.SaveCheckpoint(seedPath);
            string path = Path.Combine(dir, "m.safetensors");
            Battery(File.ReadAllBytes(seedPath), 6, b =>
            {
                SafeTensors.Parse(b, "m");
                File.WriteAllBytes(path, b);
                var contents = ModelFile.Read(path);
                ModelFile.Load<float>(path, contents);
                Trainer<float>.LoadCheckpoint(path, contents);
            });
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void The_command_line_survives_mutated_networks_and_inputs()
    {
        const string network = """
            {"layers": [{"kind": "fc", "W": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "b": [0.1, 0.2, 0.3]}, {"kind": "leaky_relu", "alpha": 0.1},
                        {"kind": "fc", "W": [[1, -1], [0.5, 0.5], [-1, 1]], "b": [0, 0.1]}],
             "loss": {"kind": "softmax_cross_entropy"}, "x": [[1, 2], [3, 4]], "t": [0, 1]}
            """;
        var rng = new Random(7);
        foreach (var (seed, args) in new (string, string[])[]
        {
            (network, ["grad"]),
            (TestUtil.TextbookInput, ["layer", "fc"]),
            ("x:\n[[1, 2], [3, 4]]\nt:\n[0, 1]\n", ["layer", "softmax_cross_entropy"]),
        })
        {
            var bytes = Encoding.UTF8.GetBytes(seed);
            for (int i = 0; i < PerReader / 2; i++)
            {
                var input = Encoding.UTF8.GetString(Mutate(bytes, rng));
                var (code, _, err) = TestUtil.Cli(input, args);
                Assert.True(code is 0 or 2, $"{string.Join(' ', args)} exited {code}: {err}\ninput: {input}");
            }
        }
    }
}
