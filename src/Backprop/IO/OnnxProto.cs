using Google.Protobuf;

namespace Backprop.IO;

// The part of the ONNX schema (onnx.proto, IR version 8–10) that Backprop reads and writes, written by hand from the
// published field numbers and encoded with Google.Protobuf's wire-format streams. Reading is hostile-input safe: every
// length is checked against what remains, tensors against their dims and a size limit, recursion is bounded by the
// schema, external data is refused, and any malformed input is an InvalidFileException naming what is wrong.

/// <summary>An ONNX tensor: element type, dims, data (float32 or float64 here), optionally named.</summary>
internal sealed class OnnxTensor
{
    /// <summary>TensorProto.DataType values used here.</summary>
    public const int Float = 1, Int64 = 7, Bool = 9, Double = 11, Int32 = 6;

    /// <summary>The name (an initializer's name; empty for an attribute's value).</summary>
    public string Name { get; set; } = "";
    /// <summary>The TensorProto.DataType.</summary>
    public int DataType { get; set; }
    /// <summary>The dimensions.</summary>
    public long[] Dims { get; set; } = [];
    /// <summary>The values of a float or double tensor, as doubles.</summary>
    public double[] Values { get; set; } = [];
    /// <summary>The values of an int64 or int32 tensor.</summary>
    public long[] Integers { get; set; } = [];

    /// <summary>The number of elements the dims describe.</summary>
    public long Count => Dims.Aggregate(1L, (a, d) => a * d);

    internal void Write(CodedOutputStream o)
    {
        foreach (long d in Dims) { o.WriteTag(1, WireFormat.WireType.Varint); o.WriteInt64(d); }
        o.WriteTag(2, WireFormat.WireType.Varint);
        o.WriteInt32(DataType);
        if (Name.Length > 0) { o.WriteTag(8, WireFormat.WireType.LengthDelimited); o.WriteString(Name); }
        // raw_data, little-endian, as ONNX stores it
        byte[] raw;
        if (DataType == Float)
        {
            raw = new byte[Values.Length * 4];
            for (int i = 0; i < Values.Length; i++) BitConverter.TryWriteBytes(raw.AsSpan(4 * i), (float)Values[i]);
        }
        else if (DataType == Double)
        {
            raw = new byte[Values.Length * 8];
            for (int i = 0; i < Values.Length; i++) BitConverter.TryWriteBytes(raw.AsSpan(8 * i), Values[i]);
        }
        else if (DataType == Int64)
        {
            raw = new byte[Integers.Length * 8];
            for (int i = 0; i < Integers.Length; i++) BitConverter.TryWriteBytes(raw.AsSpan(8 * i), Integers[i]);
        }
        else throw new InvalidOperationException($"ONNX: writing tensors of data type {DataType} is not supported");
        o.WriteTag(9, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(raw));
    }

    internal static OnnxTensor Read(ReadOnlySpan<byte> bytes, string where, OnnxLimits limits)
    {
        var t = new OnnxTensor();
        var dims = new List<long>();
        var floats = new List<double>();
        var ints = new List<long>();
        byte[]? raw = null;
        var r = new OnnxReader(bytes, where);
        while (r.Next(out int field, out var wire))
        {
            switch (field)
            {
                case 1: r.Repeated(wire, dims); break;
                case 2: t.DataType = (int)r.Int64(); break;
                case 4: r.RepeatedFixed32(wire, floats); break;
                case 5: r.Repeated(wire, ints); break;
                case 7: r.Repeated(wire, ints); break;
                case 8: t.Name = r.String(); break;
                case 9: raw = r.Bytes().ToArray(); break;
                case 10: r.RepeatedFixed64(wire, floats); break;
                case 13:
                    throw new InvalidFileException($"{where}: tensor '{t.Name}' keeps its data in an external file, which is " +
                    "refused (the model must carry its weights)");
                case 14:
                    if (r.Int64() != 0) throw new InvalidFileException($"{where}: tensor '{t.Name}' keeps its data in an external file, " +
                        "which is refused (the model must carry its weights)");
                    break;
                default: r.Skip(wire); break;
            }
            if (floats.Count + ints.Count > limits.MaxElements)
                throw new InvalidFileException($"{where}: tensor '{t.Name}' holds more than {limits.MaxElements} values");
        }
        t.Dims = [.. dims];
        if (t.Dims.Any(d => d < 0)) throw new InvalidFileException($"{where}: tensor '{t.Name}' has a negative dimension");
        long count = 1;
        foreach (long d in t.Dims)
        {
            count *= d;
            if (count > limits.MaxElements) throw new InvalidFileException($"{where}: tensor '{t.Name}' has dims " +
                $"({string.Join(", ", t.Dims)}), more than the limit of {limits.MaxElements} values");
        }
        int size = t.DataType switch { Float or Int32 => 4, Double or Int64 => 8, Bool => 1, _ => 0 };
        if (size == 0) throw new InvalidFileException($"{where}: tensor '{t.Name}' has data type {t.DataType}; only float32 (1), " +
            "float64 (11), int64 (7), int32 (6) and bool (9) tensors are read");
        if (raw is not null)
        {
            if (raw.LongLength != count * size)
                throw new InvalidFileException($"{where}: tensor '{t.Name}' has {raw.LongLength} bytes of data, but its dims " +
                    $"({string.Join(", ", t.Dims)}) need {count * size}");
            if (t.DataType == Float) t.Values = Enumerable.Range(0, (int)count).Select(i => (double)BitConverter.ToSingle(raw,
                4 * i)).ToArray();
            else if (t.DataType == Double) t.Values = Enumerable.Range(0, (int)count).Select(i => BitConverter.ToDouble(raw,
                8 * i)).ToArray();
            else if (t.DataType == Int64) t.Integers = Enumerable.Range(0, (int)count).Select(i => BitConverter.ToInt64(raw,
                8 * i)).ToArray();
            else if (t.DataType == Int32) t.Integers = Enumerable.Range(0, (int)count).Select(i => (long)BitConverter.ToInt32(raw,
                4 * i)).ToArray();
            else t.Integers = raw.Select(b => (long)b).ToArray();
        }
        else
        {
            bool real = t.DataType is Float or Double;
            long have = real ? floats.Count : ints.Count;
            if (have != count)
                throw new InvalidFileException($"{where}: tensor '{t.Name}' has {have} values, but its dims ({string.Join(", ",
                    t.Dims)}) " +
                    $"need {count}");
            if (real) t.Values = [.. floats];
            else t.Integers = [.. ints];
        }
        return t;
    }
}

/// <summary>An ONNX node attribute: a name and one value (float, int, string, tensor, floats or ints).</summary>
internal sealed class OnnxAttribute
{
    /// <summary>AttributeProto.AttributeType values.</summary>
    public const int FloatType = 1, IntType = 2, StringType = 3, TensorType = 4, GraphType = 5, FloatsType = 6, IntsType = 7;

    /// <summary>The name.</summary>
    public string Name { get; set; } = "";
    /// <summary>The AttributeType.</summary>
    public int Type { get; set; }
    /// <summary>A FLOAT value.</summary>
    public float F { get; set; }
    /// <summary>An INT value.</summary>
    public long I { get; set; }
    /// <summary>A STRING value.</summary>
    public string S { get; set; } = "";
    /// <summary>A TENSOR value.</summary>
    public OnnxTensor? T { get; set; }
    /// <summary>FLOATS values.</summary>
    public float[] Floats { get; set; } = [];
    /// <summary>INTS values.</summary>
    public long[] Ints { get; set; } = [];

    /// <summary>An INT attribute.</summary>
    public static OnnxAttribute Int(string name, long v) => new() { Name = name, Type = IntType, I = v };
    /// <summary>A FLOAT attribute.</summary>
    public static OnnxAttribute Float(string name, double v) => new() { Name = name, Type = FloatType, F = (float)v };
    /// <summary>A STRING attribute.</summary>
    public static OnnxAttribute String(string name, string v) => new() { Name = name, Type = StringType, S = v };
    /// <summary>An INTS attribute.</summary>
    public static OnnxAttribute IntList(string name, params long[] v) => new() { Name = name, Type = IntsType, Ints = v };

    internal void Write(CodedOutputStream o)
    {
        o.WriteTag(1, WireFormat.WireType.LengthDelimited);
        o.WriteString(Name);
        switch (Type)
        {
            case FloatType: o.WriteTag(2, WireFormat.WireType.Fixed32); o.WriteFloat(F); break;
            case IntType: o.WriteTag(3, WireFormat.WireType.Varint); o.WriteInt64(I); break;
            case StringType: o.WriteTag(4, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFromUtf8(S)); break;
            case TensorType: o.WriteTag(5, WireFormat.WireType.LengthDelimited); o.WriteBytes(OnnxWriter.Message(T!.Write)); break;
            case FloatsType: foreach (float f in Floats) { o.WriteTag(7, WireFormat.WireType.Fixed32); o.WriteFloat(f); } break;
            case IntsType: foreach (long i in Ints) { o.WriteTag(8, WireFormat.WireType.Varint); o.WriteInt64(i); } break;
            default: throw new InvalidOperationException($"ONNX: attribute type {Type} is not written");
        }
        o.WriteTag(20, WireFormat.WireType.Varint);
        o.WriteInt32(Type);
    }

    internal static OnnxAttribute Read(ReadOnlySpan<byte> bytes, string where, OnnxLimits limits)
    {
        var a = new OnnxAttribute();
        var floats = new List<double>();
        var ints = new List<long>();
        var r = new OnnxReader(bytes, where);
        while (r.Next(out int field, out var wire))
        {
            switch (field)
            {
                case 1: a.Name = r.String(); break;
                case 2: a.F = r.Float(); break;
                case 3: a.I = r.Int64(); break;
                case 4: a.S = r.String(); break;
                case 5: a.T = OnnxTensor.Read(r.Bytes(), where, limits); break;
                case 6:
                case 11:
                    throw new InvalidFileException($"{where}: attribute '{a.Name}' holds a subgraph (a branch or a loop), which " +
                        "Backprop does not import");
                case 7: r.RepeatedFixed32(wire, floats); break;
                case 8: r.Repeated(wire, ints); break;
                case 20: a.Type = (int)r.Int64(); break;
                default: r.Skip(wire); break;
            }
            if (floats.Count + ints.Count > limits.MaxElements)
                throw new InvalidFileException($"{where}: attribute '{a.Name}' holds too many values");
        }
        a.Floats = floats.Select(f => (float)f).ToArray();
        a.Ints = [.. ints];
        return a;
    }
}

/// <summary>An ONNX node: an operator applied to named inputs, giving named outputs.</summary>
internal sealed class OnnxNode
{
    /// <summary>The operator (Conv, Gemm, Relu, …).</summary>
    public string OpType { get; set; } = "";
    /// <summary>The node's name (may be empty).</summary>
    public string Name { get; set; } = "";
    /// <summary>The operator's domain ("" or "ai.onnx" is the standard one).</summary>
    public string Domain { get; set; } = "";
    /// <summary>The input value names ("" for an omitted optional input).</summary>
    public List<string> Inputs { get; } = [];
    /// <summary>The output value names.</summary>
    public List<string> Outputs { get; } = [];
    /// <summary>The attributes.</summary>
    public List<OnnxAttribute> Attributes { get; } = [];

    /// <summary>The attribute of that name, or null.</summary>
    public OnnxAttribute? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name);

    /// <summary>How the node is named in messages: its name and operator.</summary>
    public string Describe() => Name.Length > 0 ? $"node '{Name}' ({OpType})" : $"a {OpType} node";

    internal void Write(CodedOutputStream o)
    {
        foreach (var i in Inputs) { o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(i); }
        foreach (var i in Outputs) { o.WriteTag(2, WireFormat.WireType.LengthDelimited); o.WriteString(i); }
        if (Name.Length > 0) { o.WriteTag(3, WireFormat.WireType.LengthDelimited); o.WriteString(Name); }
        o.WriteTag(4, WireFormat.WireType.LengthDelimited);
        o.WriteString(OpType);
        foreach (var a in Attributes) { o.WriteTag(5, WireFormat.WireType.LengthDelimited); o.WriteBytes(OnnxWriter.Message(a.Write)); }
        if (Domain.Length > 0) { o.WriteTag(7, WireFormat.WireType.LengthDelimited); o.WriteString(Domain); }
    }

    internal static OnnxNode Read(ReadOnlySpan<byte> bytes, string where, OnnxLimits limits)
    {
        var n = new OnnxNode();
        var r = new OnnxReader(bytes, where);
        while (r.Next(out int field, out var wire))
        {
            switch (field)
            {
                case 1: n.Inputs.Add(r.String()); break;
                case 2: n.Outputs.Add(r.String()); break;
                case 3: n.Name = r.String(); break;
                case 4: n.OpType = r.String(); break;
                case 5: n.Attributes.Add(OnnxAttribute.Read(r.Bytes(), where, limits)); break;
                case 7: n.Domain = r.String(); break;
                default: r.Skip(wire); break;
            }
            if (n.Inputs.Count + n.Outputs.Count + n.Attributes.Count > 10_000)
                throw new InvalidFileException($"{where}: a node with more than 10 000 inputs, outputs and attributes");
        }
        return n;
    }
}

/// <summary>A graph input or output: a name, an element type and a shape whose dims are numbers or symbols.</summary>
internal sealed record OnnxValueInfo(string Name, int ElementType, IReadOnlyList<object> Shape)
{
    internal void Write(CodedOutputStream o)
    {
        o.WriteTag(1, WireFormat.WireType.LengthDelimited);
        o.WriteString(Name);
        var shape = OnnxWriter.Message(s =>
        {
            foreach (var d in Shape)
            {
                s.WriteTag(1, WireFormat.WireType.LengthDelimited);
                s.WriteBytes(OnnxWriter.Message(dim =>
                {
                    if (d is string p) { dim.WriteTag(2, WireFormat.WireType.LengthDelimited); dim.WriteString(p); }
                    else
                    {
                        dim.WriteTag(1, WireFormat.WireType.Varint); dim.WriteInt64(Convert.ToInt64(d,
                        System.Globalization.CultureInfo.InvariantCulture));
                    }
                }));
            }
        });
        var tensor = OnnxWriter.Message(t =>
        {
            t.WriteTag(1, WireFormat.WireType.Varint);
            t.WriteInt32(ElementType);
            t.WriteTag(2, WireFormat.WireType.LengthDelimited);
            t.WriteBytes(shape);
        });
        o.WriteTag(2, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(OnnxWriter.Message(type => { type.WriteTag(1, WireFormat.WireType.LengthDelimited); type.WriteBytes(tensor); }));
    }

    internal static OnnxValueInfo Read(ReadOnlySpan<byte> bytes, string where)
    {
        string name = "";
        int elem = 0;
        var shape = new List<object>();
        var r = new OnnxReader(bytes, where);
        while (r.Next(out int field, out var wire))
        {
            if (field == 1) { name = r.String(); continue; }
            if (field != 2) { r.Skip(wire); continue; }
            var type = new OnnxReader(r.Bytes(), where);
            while (type.Next(out int tf, out var tw))
            {
                if (tf != 1) { type.Skip(tw); continue; }   // a sequence or map type: no shape to read
                var tensor = new OnnxReader(type.Bytes(), where);
                while (tensor.Next(out int f, out var w))
                {
                    if (f == 1) elem = (int)tensor.Int64();
                    else if (f == 2)
                    {
                        var s = new OnnxReader(tensor.Bytes(), where);
                        while (s.Next(out int sf, out var sw))
                        {
                            if (sf != 1) { s.Skip(sw); continue; }
                            var dim = new OnnxReader(s.Bytes(), where);
                            object value = "?";
                            while (dim.Next(out int df, out var dw))
                            {
                                if (df == 1) value = dim.Int64();
                                else if (df == 2) value = dim.String();
                                else dim.Skip(dw);
                            }
                            shape.Add(value);
                            if (shape.Count > 64) throw new InvalidFileException($"{where}: a value with more than 64 dimensions");
                        }
                    }
                    else tensor.Skip(w);
                }
            }
        }
        return new OnnxValueInfo(name, elem, shape);
    }
}

/// <summary>An ONNX model: its graph (nodes in order, initializers, inputs, outputs), opset and producer.</summary>
internal sealed class OnnxModel
{
    /// <summary>The most bytes an ONNX file may have here (protobuf's own limit is 2 GiB).</summary>
    public const long MaxBytes = 1L << 31;

    /// <summary>The IR version.</summary>
    public long IrVersion { get; set; } = 8;
    /// <summary>The default-domain opset version.</summary>
    public long Opset { get; set; } = 17;
    /// <summary>The producer's name.</summary>
    public string ProducerName { get; set; } = "";
    /// <summary>The producer's version.</summary>
    public string ProducerVersion { get; set; } = "";
    /// <summary>The graph's name.</summary>
    public string GraphName { get; set; } = "";
    /// <summary>The nodes, in topological order.</summary>
    public List<OnnxNode> Nodes { get; } = [];
    /// <summary>The initializers (weights).</summary>
    public List<OnnxTensor> Initializers { get; } = [];
    /// <summary>The graph's inputs.</summary>
    public List<OnnxValueInfo> Inputs { get; } = [];
    /// <summary>The graph's outputs.</summary>
    public List<OnnxValueInfo> Outputs { get; } = [];
    /// <summary>The model's metadata_props.</summary>
    public Dictionary<string, string> Metadata { get; } = [];

    /// <summary>The encoded model.</summary>
    public byte[] ToBytes() => OnnxWriter.Message(o =>
    {
        o.WriteTag(1, WireFormat.WireType.Varint);
        o.WriteInt64(IrVersion);
        o.WriteTag(2, WireFormat.WireType.LengthDelimited);
        o.WriteString(ProducerName);
        o.WriteTag(3, WireFormat.WireType.LengthDelimited);
        o.WriteString(ProducerVersion);
        o.WriteTag(7, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(OnnxWriter.Message(g =>
        {
            foreach (var n in Nodes) { g.WriteTag(1, WireFormat.WireType.LengthDelimited); g.WriteBytes(OnnxWriter.Message(n.Write)); }
            g.WriteTag(2, WireFormat.WireType.LengthDelimited);
            g.WriteString(GraphName);
            foreach (var t in Initializers)
            {
                g.WriteTag(5, WireFormat.WireType.LengthDelimited); g.WriteBytes(OnnxWriter.Message(
                t.Write));
            }
            foreach (var v in Inputs) { g.WriteTag(11, WireFormat.WireType.LengthDelimited); g.WriteBytes(OnnxWriter.Message(v.Write)); }
            foreach (var v in Outputs) { g.WriteTag(12, WireFormat.WireType.LengthDelimited); g.WriteBytes(OnnxWriter.Message(v.Write)); }
        }));
        foreach (var (key, value) in Metadata)
        {
            o.WriteTag(14, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(OnnxWriter.Message(e =>
            {
                e.WriteTag(1, WireFormat.WireType.LengthDelimited);
                e.WriteString(key);
                e.WriteTag(2, WireFormat.WireType.LengthDelimited);
                e.WriteString(value);
            }));
        }
        o.WriteTag(8, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(OnnxWriter.Message(op =>
        {
            op.WriteTag(1, WireFormat.WireType.LengthDelimited);
            op.WriteString("");
            op.WriteTag(2, WireFormat.WireType.Varint);
            op.WriteInt64(Opset);
        }));
    }).ToByteArray();

    /// <summary>Reads a model from its bytes; <paramref name="where"/> names it in errors.</summary>
    /// <exception cref="InvalidFileException">Truncated, corrupted or unsupported input.</exception>
    public static OnnxModel Parse(ReadOnlySpan<byte> bytes, string where, OnnxLimits? limits = null)
    {
        limits ??= new OnnxLimits();
        var m = new OnnxModel { Opset = 0 };
        bool graph = false;
        var r = new OnnxReader(bytes, where);
        while (r.Next(out int field, out var wire))
        {
            switch (field)
            {
                case 1: m.IrVersion = r.Int64(); break;
                case 2: m.ProducerName = r.String(); break;
                case 3: m.ProducerVersion = r.String(); break;
                case 7: ReadGraph(m, r.Bytes(), where, limits); graph = true; break;
                case 8:
                    var op = new OnnxReader(r.Bytes(), where);
                    string domain = "";
                    long version = 0;
                    while (op.Next(out int f, out var w))
                    {
                        if (f == 1) domain = op.String();
                        else if (f == 2) version = op.Int64();
                        else op.Skip(w);
                    }
                    if (domain is "" or "ai.onnx") m.Opset = version;
                    break;
                case 14:
                    var entry = new OnnxReader(r.Bytes(), where);
                    string key = "", value = "";
                    while (entry.Next(out int f, out var w))
                    {
                        if (f == 1) key = entry.String();
                        else if (f == 2) value = entry.String();
                        else entry.Skip(w);
                    }
                    if (m.Metadata.Count < 1000) m.Metadata[key] = value;
                    break;
                default: r.Skip(wire); break;
            }
        }
        if (!graph) throw new InvalidFileException($"{where}: not an ONNX model (no graph)");
        if (m.Opset == 0) throw new InvalidFileException($"{where}: the model names no opset of the standard ONNX domain");
        return m;
    }

    private static void ReadGraph(OnnxModel m, ReadOnlySpan<byte> bytes, string where, OnnxLimits limits)
    {
        var r = new OnnxReader(bytes, where);
        long elements = 0;
        while (r.Next(out int field, out var wire))
        {
            switch (field)
            {
                case 1: m.Nodes.Add(OnnxNode.Read(r.Bytes(), where, limits)); break;
                case 2: m.GraphName = r.String(); break;
                case 5:
                    var t = OnnxTensor.Read(r.Bytes(), where, limits);
                    elements += t.Count;
                    if (elements > limits.MaxElements)
                        throw new InvalidFileException($"{where}: the initializers hold more than {limits.MaxElements} values in all");
                    m.Initializers.Add(t);
                    break;
                case 11: m.Inputs.Add(OnnxValueInfo.Read(r.Bytes(), where)); break;
                case 12: m.Outputs.Add(OnnxValueInfo.Read(r.Bytes(), where)); break;
                case 15: throw new InvalidFileException($"{where}: sparse initializers are not supported");
                default: r.Skip(wire); break;
            }
            if (m.Nodes.Count > limits.MaxNodes) throw new InvalidFileException($"{where}: more than {limits.MaxNodes} nodes");
        }
    }
}

/// <summary>What an ONNX file may hold before it is refused.</summary>
internal sealed record OnnxLimits(long MaxElements = 1L << 30, int MaxNodes = 100_000);

internal static class OnnxWriter
{
    public static ByteString Message(Action<CodedOutputStream> body)
    {
        using var ms = new MemoryStream();
        using (var o = new CodedOutputStream(ms, leaveOpen: true))
        {
            body(o);
            o.Flush();
        }
        return ByteString.CopyFrom(ms.ToArray());
    }
}

// A bounds-checked protobuf reader over one message's bytes: every length is checked against what remains.
internal ref struct OnnxReader(ReadOnlySpan<byte> data, string where)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;

    public bool Next(out int field, out WireFormat.WireType wire)
    {
        field = 0;
        wire = 0;
        if (_pos >= _data.Length) return false;
        ulong tag = Varint();
        field = (int)(tag >> 3);
        wire = (WireFormat.WireType)(tag & 7);
        if (field <= 0 || tag >> 3 > int.MaxValue) throw Bad("a field number of 0 or out of range");
        return true;
    }

    public ulong Varint()
    {
        ulong v = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= _data.Length) throw Bad("a number cut short (the file is truncated)");
            byte b = _data[_pos++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
        }
        throw Bad("a number longer than ten bytes");
    }

    public long Int64() => (long)Varint();

    public float Float()
    {
        if (_data.Length - _pos < 4) throw Bad("a float cut short (the file is truncated)");
        float f = BitConverter.ToSingle(_data.Slice(_pos, 4));
        _pos += 4;
        return f;
    }

    public double Double()
    {
        if (_data.Length - _pos < 8) throw Bad("a double cut short (the file is truncated)");
        double d = BitConverter.ToDouble(_data.Slice(_pos, 8));
        _pos += 8;
        return d;
    }

    public ReadOnlySpan<byte> Bytes()
    {
        ulong n = Varint();
        if (n > (ulong)(_data.Length - _pos)) throw Bad(
            $"a field of {n} bytes where {_data.Length - _pos} remain (truncated or corrupted)");
        var s = _data.Slice(_pos, (int)n);
        _pos += (int)n;
        return s;
    }

    public string String()
    {
        var b = Bytes();
        if (b.Length > 1 << 20) throw Bad("a name longer than 1 MiB");
        try { return new System.Text.UTF8Encoding(false, true).GetString(b); }
        catch (System.Text.DecoderFallbackException) { throw Bad("a name that is not UTF-8"); }
    }

    public void Repeated(WireFormat.WireType wire, List<long> into)
    {
        if (wire == WireFormat.WireType.LengthDelimited)
        {
            var packed = new OnnxReader(Bytes(), where);
            while (packed._pos < packed._data.Length) into.Add(packed.Int64());
        }
        else if (wire == WireFormat.WireType.Varint) into.Add(Int64());
        else throw Bad($"an integer list with wire type {wire}");
    }

    public void RepeatedFixed32(WireFormat.WireType wire, List<double> into)
    {
        if (wire == WireFormat.WireType.LengthDelimited)
        {
            var b = Bytes();
            if (b.Length % 4 != 0) throw Bad("a float list whose length is not a multiple of 4");
            for (int i = 0; i < b.Length; i += 4) into.Add(BitConverter.ToSingle(b.Slice(i, 4)));
        }
        else if (wire == WireFormat.WireType.Fixed32) into.Add(Float());
        else throw Bad($"a float list with wire type {wire}");
    }

    public void RepeatedFixed64(WireFormat.WireType wire, List<double> into)
    {
        if (wire == WireFormat.WireType.LengthDelimited)
        {
            var b = Bytes();
            if (b.Length % 8 != 0) throw Bad("a double list whose length is not a multiple of 8");
            for (int i = 0; i < b.Length; i += 8) into.Add(BitConverter.ToDouble(b.Slice(i, 8)));
        }
        else if (wire == WireFormat.WireType.Fixed64) into.Add(Double());
        else throw Bad($"a double list with wire type {wire}");
    }

    public void Skip(WireFormat.WireType wire)
    {
        switch (wire)
        {
            case WireFormat.WireType.Varint: Varint(); break;
            case WireFormat.WireType.Fixed64: if (_data.Length - _pos < 8) throw Bad("truncated"); _pos += 8; break;
            case WireFormat.WireType.Fixed32: if (_data.Length - _pos < 4) throw Bad("truncated"); _pos += 4; break;
            case WireFormat.WireType.LengthDelimited: Bytes(); break;
            default: throw Bad($"wire type {(int)wire}, which ONNX does not use (the file is corrupted or not ONNX)");
        }
    }

    private readonly InvalidFileException Bad(string what) => new($"{where}: not a valid ONNX file: {what}");
}
