using System.IO.Compression;
using Backprop.Data;

namespace Backprop.Tests;

public class DataTests
{
    private static byte[] IdxBytes(byte type, int[] shape, byte[] data)
    {
        var b = new List<byte> { 0, 0, type, (byte)shape.Length };
        foreach (int d in shape) b.AddRange(BitConverter.GetBytes(d).Reverse());
        b.AddRange(data);
        return b.ToArray();
    }

    private static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        return ms.ToArray();
    }

    [Fact]
    public void Idx_reads_raw_and_gzip_files()
    {
        var raw = IdxBytes(8, [2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
        foreach (var bytes in new[] { raw, Gzip(raw) })
        {
            var a = Idx.Parse(bytes, "t");
            Assert.Equal([2, 2, 3], a.Shape);
            Assert.Equal(255, a.Data[11]);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 8 }, "too short")]
    [InlineData(new byte[] { 1, 0, 8, 1, 0, 0, 0, 1, 5 }, "bad magic number")]
    [InlineData(new byte[] { 0, 0, 13, 1, 0, 0, 0, 1, 5 }, "element type 0x0D")]
    [InlineData(new byte[] { 0, 0, 8, 9, 0, 0, 0, 1, 5 }, "9 dimensions")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0, 0, 0, 1 }, "truncated header")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 3, 5, 6 }, "truncated: the header declares 3 elements")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 1, 5, 6 }, "unexpected bytes")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 0 }, "dimension 0 has size 0")]
    public void Idx_rejects_corrupted_files_clearly(byte[] bytes, string message) =>
        Assert.Contains(message, Assert.Throws<InvalidFileException>(() => Idx.Parse(bytes, "f")).Message);

    [Fact]
    public void Idx_rejects_truncated_gzip()
    {
        var gz = Gzip(IdxBytes(8, [1000], new byte[1000]));
        Assert.Throws<InvalidFileException>(() => Idx.Parse(gz[..(gz.Length / 2)], "f"));
    }

    [Fact]
    public void An_idx_folder_loads_as_train_and_test_with_pixels_in_0_1()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "train-images-idx3-ubyte.gz"), Gzip(IdxBytes(8, [3, 2, 2], [0, 255, 0, 0, 1, 1, 1, 1, 2, 2,
                2, 2])));
            File.WriteAllBytes(Path.Combine(dir, "train-labels-idx1-ubyte.gz"), Gzip(IdxBytes(8, [3], [0, 1, 2])));
            File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte"), IdxBytes(8, [1, 2, 2], [9, 9, 9, 9]));
            File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), IdxBytes(8, [1], [1]));
            var (train, test) = Datasets.LoadIdxFolder(dir, "tiny");
            Assert.Equal(3, train.Count);
            Assert.Equal(4, train.Dim);
            Assert.Equal(1f, train.Features[1]);
            Assert.Equal(1, test.Count);
            File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), IdxBytes(8, [2], [1, 1]));
            Assert.Contains("1 images but 2 labels", Assert.Throws<InvalidFileException>(() =>
                Datasets.LoadIdxFolder(dir, "tiny")).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Spiral_and_splits_are_reproducible()
    {
        var a = Datasets.Spiral(50, 3, seed: 7);
        var b = Datasets.Spiral(50, 3, seed: 7);
        Assert.Equal(a.Features, b.Features);
        var (t1, v1) = a.Split(0.2, 1);
        var (t2, v2) = b.Split(0.2, 1);
        Assert.Equal(30, v1.Count);
        Assert.Equal(v1.Labels, v2.Labels);
        Assert.Equal(t1.Features, t2.Features);
    }
}
