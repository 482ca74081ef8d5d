using Backprop.IO;
using Backprop.Layers;
using Backprop.Losses;
using Backprop.Models;
using Backprop.Networks;

namespace Backprop.Tests;

/// <summary>The ONNX reader on broken and hostile files: a clear InvalidFileException, never a crash or a hang.</summary>
public class OnnxHostileTests
{
    private static byte[] Valid()
    {
        var net = new Sequential<float>([new Convolution<float>(2, 1, 3, 3, rng: new Rng(1)), new Relu<float>(),
            new MaxPooling<float>(2, 2), new FullyConnected<float>(2 * 3 * 3, 3, rng: new Rng(2))], new SoftmaxCrossEntropy<float>());
        return OnnxFile.ToModel(net, new OnnxExportOptions()).ToBytes();
    }

    private static Exception? Import(byte[] bytes)
    {
        string path = Path.Combine(Path.GetTempPath(), $"bp-hostile-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllBytes(path, bytes);
            OnnxFile.Import<float>(path);
            return null;
        }
        catch (Exception e) { return e; }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Every_truncation_is_a_clear_error()
    {
        var bytes = Valid();
        for (int n = 0; n < bytes.Length; n += Math.Max(1, bytes.Length / 200))
        {
            var e = Import(bytes[..n]);
            Assert.True(e is InvalidFileException, $"cut at {n} of {bytes.Length}: {e?.GetType().Name}: {e?.Message}");
        }
    }

    [Fact]
    public void Random_corruption_never_crashes()
    {
        var bytes = Valid();
        var rng = new Random(7);
        for (int trial = 0; trial < 300; trial++)
        {
            var copy = (byte[])bytes.Clone();
            for (int k = 0; k < 1 + trial % 4; k++) copy[rng.Next(copy.Length)] = (byte)rng.Next(256);
            var e = Import(copy);
            // A flipped weight byte may still be a valid model; anything else must be one of Backprop's errors.
            Assert.True(e is null or BackpropException, $"trial {trial}: {e?.GetType().Name}: {e?.Message}");
        }
    }

    private static OnnxModel Chain(params OnnxNode[] nodes)
    {
        var m = new OnnxModel { ProducerName = "test" };
        m.Inputs.Add(new OnnxValueInfo("x", OnnxTensor.Float, ["N", 4L]));
        m.Outputs.Add(new OnnxValueInfo(nodes[^1].Outputs[0], OnnxTensor.Float, ["N", 4L]));
        m.Nodes.AddRange(nodes);
        return m;
    }

    private static OnnxNode Node(string op, string name, string[] inputs, string output)
    {
        var n = new OnnxNode { OpType = op, Name = name };
        n.Inputs.AddRange(inputs);
        n.Outputs.Add(output);
        return n;
    }

    [Fact]
    public void Unsupported_graphs_name_the_node_and_operator()
    {
        var e = Import(Chain(Node("Relu", "r", ["x"], "a"), Node("LSTM", "lstm1", ["a"], "y")).ToBytes());
        Assert.Contains("node 'lstm1' (LSTM) is an operator Backprop does not import", e!.Message);
        // a branch joined by other than Add or Concat (a branch joined by Add is a graph network: GraphOnnxTests)
        e = Import(Chain(Node("Relu", "r", ["x"], "a"), Node("Sigmoid", "s", ["x"], "b"), Node("Mul", "gate", ["a", "b"], "y")).ToBytes());
        Assert.Contains("node 'gate' (Mul) reads 2 of the network's values ('a', 'b'); Backprop joins values with Add", e!.Message);
        Assert.Null(Import(Chain(Node("Relu", "r", ["x"], "a"), Node("Sigmoid", "s", ["x"], "b"), Node("Add", "sum", ["a", "b"], "y"))
            .ToBytes()));
        // a dynamic weight: Gemm with a B that is no constant
        e = Import(Chain(Node("Gemm", "g", ["x", "x"], "y")).ToBytes());
        Assert.Contains("node 'g' (Gemm) takes 'x', which is not a constant", e!.Message);
    }

    [Fact]
    public void External_data_absurd_sizes_and_subgraphs_are_refused()
    {
        var m = Chain(Node("Relu", "r", ["x"], "y"));
        m.Initializers.Add(new OnnxTensor { Name = "w", DataType = OnnxTensor.Float, Dims = [1L << 20, 1L << 20], Values = [] });
        var e = Import(m.ToBytes());
        Assert.IsType<InvalidFileException>(e);
        Assert.Contains("more than the limit", e.Message);
        // data_location = EXTERNAL (field 14 = 1) appended to a tensor
        var tensor = new OnnxTensor { Name = "w", DataType = OnnxTensor.Float, Dims = [1], Values = [1] };
        var raw = OnnxModelBytes(tensor).Concat(new byte[] { 14 << 3, 1 }).ToArray();
        var withExternal = WrapInitializer(raw);
        e = Import(withExternal);
        Assert.Contains("external file, which is refused", e!.Message);
    }

    // A model of one Relu whose only initializer is the given encoded TensorProto.
    private static byte[] WrapInitializer(byte[] tensor)
    {
        using var ms = new MemoryStream();
        using (var o = new Google.Protobuf.CodedOutputStream(ms, leaveOpen: true))
        {
            o.WriteTag(1, Google.Protobuf.WireFormat.WireType.Varint); o.WriteInt64(8);
            o.WriteTag(7, Google.Protobuf.WireFormat.WireType.LengthDelimited);
            using var g = new MemoryStream();
            using (var go = new Google.Protobuf.CodedOutputStream(g, leaveOpen: true))
            {
                go.WriteTag(5, Google.Protobuf.WireFormat.WireType.LengthDelimited);
                go.WriteBytes(Google.Protobuf.ByteString.CopyFrom(tensor));
            }
            o.WriteBytes(Google.Protobuf.ByteString.CopyFrom(g.ToArray()));
            o.WriteTag(8, Google.Protobuf.WireFormat.WireType.LengthDelimited);
            o.WriteBytes(Google.Protobuf.ByteString.CopyFrom([0x10, 17]));   // opset 17
        }
        return ms.ToArray();
    }

    private static byte[] OnnxModelBytes(OnnxTensor t)
    {
        var m = new OnnxModel();
        m.Initializers.Add(t);
        var all = m.ToBytes();
        // The initializer is the graph's only field: find its TensorProto by parsing back the lengths.
        var graph = Field(all, 7);
        return Field(graph, 5);
    }

    private static byte[] Field(byte[] message, int number)
    {
        var input = new Google.Protobuf.CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Google.Protobuf.WireFormat.GetTagFieldNumber(tag) == number) return input.ReadBytes().ToByteArray();
            input.SkipLastField();
        }
        throw new InvalidOperationException("field not found");
    }
}
