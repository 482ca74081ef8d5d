using System.Diagnostics;
using System.Globalization;
using System.Text;
using Backprop.Data;
using SkiaSharp;

namespace Backprop.Tests;

/// <summary>
/// Your own data: CSV files (written here, and by numpy's savetxt), numpy's own .npy and .npz files (written by numpy),
/// and folders of PNG images (written here), read into the values that were written; a training run on each source that
/// reaches what the same images reach from IDX; and every bad file answered with one line on standard error, nothing on
/// standard output and exit code 2.
/// </summary>
public sealed class OwnDataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bp-own-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    // numpy writes the files: the oracle is numpy's own writer, not ours.
    private void Numpy(string script)
    {
        GradeTests.RequirePython();
        var p = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", "import numpy as np, os\nos.chdir(" +
            $"'{_dir}')\n" + script])
        { RedirectStandardError = true })!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
    }

    [Fact]
    public void A_csv_with_quotes_crlf_and_a_named_target_reads_as_written()
    {
        string path = Write("flowers.csv", "petal,\"label, kind\",sepal\r\n1.5,\"10\",2\r\n-0.25,2,3e-2\r\n\r\n7,10,1\r\n");
        var d = Datasets.FromCsv(path, "label, kind");
        Assert.Equal([1.5f, 2f, -0.25f, 0.03f, 7f, 1f], d.Features);
        Assert.Equal(["2", "10"], d.ClassNames);   // whole-number labels in numeric order
        Assert.Equal([1, 0, 1], d.Labels);
        var words = Datasets.FromCsv(Write("words.csv", "x,y\n1,zebra\n2,ant\n3,zebra\n"));
        Assert.Equal(["ant", "zebra"], words.ClassNames);
        Assert.Equal([1, 0, 1], words.Labels);
        var regression = Datasets.FromCsv(Write("reg.csv", "x,y\n1,0.5\n2,-1.5\n"), regression: true);
        Assert.Equal([0.5f, -1.5f], regression.Targets!);
    }

    [Fact]
    public void Files_numpy_wrote_read_as_numpy_holds_them()
    {
        // The values: x[i, j] = i·10 + j + 0.5 (exact in float32), labels i % 3.
        Numpy("""
            x = (np.arange(7)[:, None] * 10 + np.arange(5)[None, :] + 0.5)
            y = np.arange(7) % 3
            np.save('x32.npy', x.astype(np.float32))
            np.save('x64f.npy', np.asfortranarray(x))
            np.save('xu8.npy', x.astype(np.uint8))
            np.save('y.npy', y.astype(np.int64))
            np.save('img.npy', np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4))
            np.save('y2.npy', np.array([0, 1], dtype=np.int32))
            np.savez('both.npz', x=x.astype(np.float32), y=y.astype(np.int16))
            np.savetxt('saved.csv', np.column_stack([x, y]), delimiter=',', header='a,b,c,d,e,label', comments='', fmt='%.6g')
            np.save('big_endian.npy', x.astype('>f4'))
            np.save('complex.npy', x.astype(np.complex64))
            """);
        float[] expected = [.. Enumerable.Range(0, 7).SelectMany(i => Enumerable.Range(0, 5).Select(j => i * 10 + j + 0.5f))];
        int[] labels = [.. Enumerable.Range(0, 7).Select(i => i % 3)];
        foreach (var file in new[] { "x32.npy", "x64f.npy" })
        {
            var d = Datasets.FromNumpy(Path.Combine(_dir, file), Path.Combine(_dir, "y.npy"));
            Assert.Equal(expected, d.Features);
            Assert.Equal(labels, d.Labels);
            Assert.Equal(3, d.Classes);
        }
        Assert.Equal(expected.Select(v => (float)(byte)v), Datasets.FromNumpy(Path.Combine(_dir, "xu8.npy"), Path.Combine(_dir, "y.npy"))
            .Features);
        var images = Datasets.FromNumpy(Path.Combine(_dir, "img.npy"), Path.Combine(_dir, "y2.npy"));
        Assert.Equal([1, 3, 4], images.SampleShape);   // (N, H, W) is one channel of H×W
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (float)i), images.Features);
        var npz = Datasets.FromNumpy(Path.Combine(_dir, "both.npz"));
        Assert.Equal(expected, npz.Features);
        Assert.Equal(labels, npz.Labels);
        var csv = Datasets.FromCsv(Path.Combine(_dir, "saved.csv"));
        Assert.Equal(expected, csv.Features);
        Assert.Equal(labels, csv.Labels);
        var e = Assert.Throws<InvalidFileException>(() => Datasets.FromNumpy(Path.Combine(_dir, "big_endian.npy"), Path.Combine(_dir,
            "y.npy")));
        Assert.Contains("'>f4' is not read", e.Message);
        Assert.Contains("'<c8' is not read", Assert.Throws<InvalidFileException>(() => Datasets.FromNumpy(Path.Combine(_dir,
            "complex.npy"), Path.Combine(_dir, "y.npy"))).Message);
    }

    private static void Png(string path, int width, int height, Func<int, int, SKColor> pixel)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (int r = 0; r < height; r++)
            for (int c = 0; c < width; c++) bitmap.SetPixel(c, r, pixel(r, c));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    [Fact]
    public void An_image_folder_reads_its_classes_in_order_grey_as_one_channel_and_colour_as_three()
    {
        foreach (var c in new[] { "b_second", "a_first" }) Directory.CreateDirectory(Path.Combine(_dir, "grey", c));
        Png(Path.Combine(_dir, "grey", "a_first", "0.png"), 3, 2, (r, c) => new SKColor((byte)(r * 3 + c), (byte)(r * 3 + c),
            (byte)(r * 3 + c)));
        Png(Path.Combine(_dir, "grey", "b_second", "0.png"), 3, 2, (_, _) => new SKColor(255, 255, 255));
        var grey = Datasets.FromImageFolder(Path.Combine(_dir, "grey"), Backprop.Cli.Support.ImageFiles.Decode, 2, 3);
        Assert.Equal(["a_first", "b_second"], grey.ClassNames);
        Assert.Equal([0, 1], grey.Labels);
        Assert.Equal([1, 2, 3], grey.SampleShape);
        Assert.Equal(Enumerable.Range(0, 6).Select(v => v / 255f).Concat(Enumerable.Repeat(1f, 6)), grey.Features);
        Directory.CreateDirectory(Path.Combine(_dir, "colour", "red"));
        Png(Path.Combine(_dir, "colour", "red", "0.png"), 2, 2, (_, _) => new SKColor(255, 0, 51));
        var colour = Datasets.FromImageFolder(Path.Combine(_dir, "colour"), Backprop.Cli.Support.ImageFiles.Decode, 2, 2);
        Assert.Equal([3, 2, 2], colour.SampleShape);
        Assert.Equal([1f, 1, 1, 1, 0, 0, 0, 0, 0.2f, 0.2f, 0.2f, 0.2f], colour.Features);
    }

    [SkippableFact]
    public void Training_on_the_same_images_from_csv_and_png_reaches_what_idx_reaches()
    {
        Skip.IfNot(File.Exists(Path.Combine(Datasets.FashionMnistDir, "train-images-idx3-ubyte.gz")),
            "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        var (idx, _) = Datasets.LoadIdxFolder(Datasets.FashionMnistDir, "fashion", Datasets.FashionClasses);
        const int N = 1000;
        var part = idx.Subset([.. Enumerable.Range(0, N)], "part");
        // The same images as CSV (the float values as text, the class as its number) and as PNG files (a folder per class).
        var csv = new StringBuilder(string.Join(",", Enumerable.Range(0, 784).Select(i => $"p{i}")) + ",label\n");
        for (int i = 0; i < N; i++)
            csv.Append(string.Join(",", part.Features.AsSpan(i * 784, 784).ToArray().Select(v => v.ToString("R",
                CultureInfo.InvariantCulture)))).Append(',').Append(part.Labels[i]).Append('\n');
        string csvPath = Write("fashion.csv", csv.ToString());
        var fromCsv = Datasets.FromCsv(csvPath);
        Assert.Equal(part.Features, fromCsv.Features);   // the same values, to the bit
        for (int i = 0; i < N; i++)
        {
            string cls = Path.Combine(_dir, "png", Datasets.FashionClasses[part.Labels[i]].Replace('/', '-'));
            Directory.CreateDirectory(cls);
            var pixels = part.Features.AsSpan(i * 784, 784).ToArray();
            Png(Path.Combine(cls, $"{i:D4}.png"), 28, 28, (r, c) =>
            {
                byte v = (byte)Math.Round(pixels[r * 28 + c] * 255);
                return new SKColor(v, v, v);
            });
        }
        var fromPng = Datasets.FromImageFolder(Path.Combine(_dir, "png"), Backprop.Cli.Support.ImageFiles.Decode, 28, 28);
        Assert.Equal(N, fromPng.Count);
        double Accuracy(Dataset d)
        {
            var net = new Models.MlpSpec { Sizes = [784, 64, 10] }.Build<float>(new Rng(1));
            var trainer = new Training.Trainer<float>(net, new Optimizers.OptimizerSettings
            {
                Kind = Optimizers.OptimizerKind.Adam,
                LearningRate = 0.001
            }, new Training.TrainerOptions { Batch = 50, Seed = 1 });
            Training.EpochResult r = null!;
            for (int e = 0; e < 5; e++) r = trainer.RunEpoch(d, d, null);
            return r.ValAccuracy!.Value;
        }
        double reference = Accuracy(part);
        Assert.Equal(reference, Accuracy(fromCsv));   // the same samples in the same order: the same run
        // The PNG folder groups the images by class (another order of batches): as good, within a few points.
        double png = Accuracy(fromPng.WithSampleShape(784));
        Assert.True(Math.Abs(png - reference) < 0.08, $"from PNG {png:P1}, from IDX {reference:P1}");
        Assert.True(reference > 0.6, $"{reference:P1}");
    }

    public static TheoryData<string, string> BadFiles() => new()
    {
        { "ragged.csv", "line 3 has 2 fields, the header has 3" },
        { "letters.csv", "line 2, column 'b': the feature 'q' is not a finite number" },
        { "header_only.csv", "a header and no rows" },
        { "lying.npy", "but 8 bytes follow it" },
        { "not_npy.npy", "not an .npy file" },
        { "empty_class", "a class folder with no PNG or JPEG images" },
        { "broken_png", "not an image that decodes" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_bad_file_gets_one_line_and_exit_code_2(string name, string message)
    {
        string data = Path.Combine(_dir, name);
        string[] more = [];
        switch (name)
        {
            case "ragged.csv": Write(name, "a,b,c\n1,2,x\n1,2\n"); break;
            case "letters.csv": Write(name, "a,b,c\n1,q,x\n"); break;
            case "header_only.csv": Write(name, "a,b,c\n"); break;
            case "lying.npy":
                // numpy's header for 4 float32 values, then 8 bytes of data instead of 16
                string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
                header = header.PadRight(118) + "\n";
                File.WriteAllBytes(data, [0x93, .. "NUMPY"u8, 1, 0, (byte)header.Length, 0, .. Encoding.ASCII.GetBytes(header),
                    .. new byte[8]]);
                Write("labels.npy", "");
                more = ["--labels", Path.Combine(_dir, "labels.npy")];
                break;
            case "not_npy.npy":
                Write(name, "hello");
                more = ["--labels", data];
                break;
            case "empty_class":
                Directory.CreateDirectory(Path.Combine(data, "cats"));
                Png(Path.Combine(data, "cats", "0.png"), 2, 2, (_, _) => SKColors.Gray);
                Directory.CreateDirectory(Path.Combine(data, "dogs"));
                break;
            case "broken_png":
                Directory.CreateDirectory(Path.Combine(data, "cats"));
                Write(Path.Combine(name, "cats", "0.png"), "not a png");
                break;
        }
        var (code, stdout, stderr) = TestUtil.Cli("", ["train", "--data", data, "--epochs", "1", .. more]);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains(message, stderr);
    }

    [Fact]
    public void A_csv_over_several_pieces_reads_every_row_and_names_the_first_bad_line_in_file_order()
    {
        // 60 000 rows of 50 features, about 20 MB: more than one 16 MiB piece, each split between the cores.
        const int Rows = 60_000, Dim = 50;
        var sb = new StringBuilder(string.Join(",", Enumerable.Range(0, Dim).Select(i => $"f{i}")) + ",y\n");
        for (int r = 0; r < Rows; r++)
        {
            for (int c = 0; c < Dim; c++) sb.Append((r * 7 + c) % 1000 * 0.25f).Append(',');
            sb.Append(r % 4).Append('\n');
        }
        string good = Write("many.csv", sb.ToString());
        var d = Datasets.FromCsv(good);
        Assert.Equal(Rows, d.Count);
        for (int r = 0; r < Rows; r += 997)
        {
            Assert.Equal((r * 7 + 3) % 1000 * 0.25f, d.Features[(long)r * Dim + 3]);
            Assert.Equal(r % 4, d.Labels[r]);
        }
        // Two bad lines, the later one in an earlier-finishing part perhaps: the error names the first.
        var lines = File.ReadAllLines(good);
        lines[45_001] = "x" + lines[45_001];
        lines[50_001] = lines[50_001] + ",9";
        File.WriteAllLines(good, lines);
        var e = Assert.Throws<InvalidFileException>(() => Datasets.FromCsv(good));
        Assert.Contains("line 45002, column 'f0'", e.Message);
    }

    [Fact]
    public void A_model_trained_on_raw_csv_features_answers_raw_rows_as_it_was_trained()
    {
        // Two classes split by the first feature's sign, on features of scale 1000 around 5000: without standardization the
        // raw scale would swamp the initial weights.
        var sb = new StringBuilder("a,b,label\n");
        var rng = new Random(5);
        for (int i = 0; i < 400; i++)
        {
            double a = rng.NextDouble() * 2 - 1, b = rng.NextDouble() * 2 - 1;
            sb.Append(CultureInfo.InvariantCulture, $"{5000 + 1000 * a},{5000 + 1000 * b},{(a > 0 ? "yes" : "no")}\n");
        }
        string csv = Write("scaled.csv", sb.ToString()), model = Path.Combine(_dir, "scaled.safetensors");
        var (code, _, err) = TestUtil.Cli("", "train", "--data", csv, "--epochs", "30", "--lr", "0.01", "--out", model);
        Assert.True(code == 0, err);
        var contents = Models.ModelFile.Read(model);
        var scale = Training.Trainer<float>.StandardizationOf(contents, model)!;
        // fitted on the training split: about the data's mean, and 1000/√3 ≈ 577 the deviation of a uniform spread of ±1000
        Assert.InRange(scale.Mean[0], 4900, 5100);
        Assert.InRange(scale.Std[0], 520, 640);
        // Raw rows in: the class a > 0 ("yes", class 1 alphabetically) for 5900, "no" for 4100.
        var (pc, json, perr) = TestUtil.Cli("{\"x\": [[5900, 5000], [4100, 5000]]}", "predict", "--model", model, "--json");
        Assert.True(pc == 0, perr);
        Assert.Equal([1, 0], System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("class").EnumerateArray()
            .Select(v => v.GetInt32()));
        (code, json, _) = TestUtil.Cli("", "eval", "--model", model, "--json", "--split", "train");
        Assert.True(System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("accuracy").GetDouble() > 0.9, json);
        Assert.Equal(0, TestUtil.Cli("", "train", "--data", csv, "--epochs", "1", "--no-standardize", "--out", model).Code);
        Assert.Null(Training.Trainer<float>.StandardizationOf(Models.ModelFile.Read(model), model));
    }

    [Fact]
    public void Predict_takes_an_image_file_and_a_csv_of_rows()
    {
        // Two colours of 6×6 images: the model learns them, then answers a new file of each.
        foreach (var (cls, colour) in new[] { ("blue", new SKColor(20, 30, 220)), ("red", new SKColor(230, 20, 30)) })
        {
            Directory.CreateDirectory(Path.Combine(_dir, "colours", cls));
            for (int i = 0; i < 12; i++)
                Png(Path.Combine(_dir, "colours", cls, $"{i}.png"), 6, 6, (r, c) => new SKColor((byte)(colour.Red - i), colour.Green,
                    (byte)(colour.Blue - i)));
        }
        string model = Path.Combine(_dir, "colours.safetensors");
        var (code, _, err) = TestUtil.Cli("", "train", "--data", Path.Combine(_dir, "colours"), "--image-size", "6,6", "--epochs", "20",
            "--validation", "0", "--out", model);
        Assert.True(code == 0, err);
        string red = Path.Combine(_dir, "new-red.png");
        Png(red, 10, 10, (_, _) => new SKColor(240, 10, 20));   // another size: scaled to the model's 6×6
        var (pc, json, perr) = TestUtil.Cli("", "predict", red, "--model", model, "--json");
        Assert.True(pc == 0, perr);
        Assert.Equal(1, System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("class")[0].GetInt32());   // "red"
        // Rows of a CSV, with the label column or without it.
        string csv = Write("train.csv", "a,b,label\n" + string.Concat(Enumerable.Range(0, 60).Select(i =>
            FormattableString.Invariant($"{i % 2 * 2 - 1 + i * 0.001},{i * 0.01},{(i % 2 == 1 ? "up" : "down")}\n"))));
        string tableModel = Path.Combine(_dir, "table.safetensors");
        Assert.Equal(0, TestUtil.Cli("", "train", "--data", csv, "--epochs", "40", "--lr", "0.01", "--validation", "0", "--out",
            tableModel).Code);
        foreach (var rows in new[] { "a,b,label\n0.9,0.3,up\n-0.9,0.3,down\n", "a,b\n0.9,0.3\n-0.9,0.3\n" })
        {
            (pc, json, perr) = TestUtil.Cli("", "predict", Write("rows.csv", rows), "--model", tableModel, "--json");
            Assert.True(pc == 0, perr);
            Assert.Equal([1, 0], System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("class").EnumerateArray()
                .Select(v => v.GetInt32()));   // "up" is class 1, "down" class 0
        }
    }

    [Fact]
    public void A_network_with_mse_regresses_on_a_csvs_numeric_target()
    {
        // y = 2a − b + 0.5, learned by a small tanh network whose loss is mean squared error.
        var rng = new Random(11);
        var sb = new StringBuilder("a,b,y\n");
        for (int i = 0; i < 300; i++)
        {
            double a = rng.NextDouble() * 2 - 1, b = rng.NextDouble() * 2 - 1;
            sb.Append(CultureInfo.InvariantCulture, $"{a},{b},{2 * a - b + 0.5}\n");
        }
        string csv = Write("line.csv", sb.ToString());
        string description = Write("mse.json", """
            {"version": 2, "dtype": "float32", "layers": [{"kind": "fully_connected", "inputs": 2, "outputs": 16},
             {"kind": "tanh"}, {"kind": "fully_connected", "inputs": 16, "outputs": 1}], "loss": {"kind": "mse"}}
            """);
        var (code, json, err) = TestUtil.Cli("", "train", "--data", csv, "--model", description, "--epochs", "40", "--optimizer", "adam",
            "--lr", "0.01", "--json");
        Assert.True(code == 0, err);
        var rows = json.Trim().Split('\n').Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToArray();
        double first = rows[0].GetProperty("train_loss").GetDouble(), last = rows[^1].GetProperty("train_loss").GetDouble();
        Assert.True(last < first / 20, $"mse from {first} to {last}");
        Assert.False(rows[^1].TryGetProperty("train_accuracy", out _));   // a regression network has no accuracy
    }

    [Fact]
    public void A_missing_label_column_is_named_with_the_columns_there_are()
    {
        string path = Write("cols.csv", "a,b,c\n1,2,x\n");
        var (code, stdout, stderr) = TestUtil.Cli("", "train", "--data", path, "--target", "species");
        Assert.Equal((2, ""), (code, stdout));
        Assert.Contains("no column 'species'; the columns are a, b, c", stderr);
    }
}
