using System.Diagnostics;
using System.Text.Json;
using Backprop.Models;

namespace Backprop.Tests;

/// <summary>
/// <c>mpirun -np N backprop train --shards S</c> over Open MPI (Debian's openmpi-bin, run as root with the flags that
/// allows, oversubscribed on 2 cores): 1 (without mpirun), 2 and 4 processes, and 2 whose exchange overlaps the
/// backward pass, write the same checkpoint, bit for bit, for an MLP and for a convolutional network with batch
/// normalization and dropout; a checkpoint written by 2 processes resumes on 1 and 4 to the straight run's bits; a
/// process killed mid-run stops the others and leaves the last checkpoint whole.
/// </summary>
public class MpiTrainingTests
{
    private static readonly string? Mpirun = new[] { "/usr/bin/mpirun", "/usr/local/bin/mpirun" }.FirstOrDefault(File.Exists);

    private static string Cli => Path.Combine(AppContext.BaseDirectory, "Backprop.Cli.dll");

    private static ProcessStartInfo Start(int processes, string[] args)
    {
        var psi = new ProcessStartInfo(processes == 1 ? "dotnet" : Mpirun!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (processes > 1)
            foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "-np", $"{processes}", "dotnet" }) psi.ArgumentList.Add(a);
        // Every process runs on this machine: no remote shell is needed, and a machine without ssh must not stop mpirun.
        psi.Environment["OMPI_MCA_plm_rsh_agent"] = "false";
        // Shared-memory copies through a plain buffer: a machine that restricts ptrace (containers) refuses the single-copy one.
        psi.Environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none";
        psi.ArgumentList.Add(Cli);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    private static (int Code, string Stdout, string Stderr) Train(int processes, params string[] args)
    {
        using var p = Process.Start(Start(processes, ["train", "--threads", "1", "--json", .. args]))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    // A checkpoint's tensors and metadata, the epochs' timings left out (the only thing two runs may differ in).
    // (and the test figures where a run was resumed: a run evaluates the test data after its last epoch).
    private static (Dictionary<string, float[]> Tensors, Dictionary<string, string> Meta) Read(string path, bool resumed)
    {
        var c = ModelFile.Read(path);
        var meta = c.Metadata.ToDictionary();
        var history = JsonSerializer.Deserialize<List<Dictionary<string, JsonElement>>>(meta["history"])!;
        foreach (var e in history)
        {
            e.Remove("seconds");
            if (resumed && e["epoch"].GetInt32() < history.Count) e.Remove("test_loss");
            if (resumed && e["epoch"].GetInt32() < history.Count) e.Remove("test_accuracy");
        }
        meta["history"] = JsonSerializer.Serialize(history);
        return (c.Tensors.ToDictionary(e => e.Name, e => e.F32!), meta);
    }

    private static void AssertSameCheckpoint(string a, string b, bool resumed = false)
    {
        var (ta, ma) = Read(a, resumed);
        var (tb, mb) = Read(b, resumed);
        foreach (var key in ma.Keys.Union(mb.Keys))
            Assert.True(ma.GetValueOrDefault(key) == mb.GetValueOrDefault(key),
                $"metadata '{key}': {ma.GetValueOrDefault(key)} against {mb.GetValueOrDefault(key)}");
        Assert.Equal(ta.Keys.Order(), tb.Keys.Order());
        foreach (var (name, values) in ta) Assert.True(values.AsSpan().SequenceEqual(tb[name]), $"tensor {name} differs");
    }

    private static string Temp(string dir, string name) => Path.Combine(dir, name);

    [SkippableFact]
    public void One_two_and_four_processes_write_the_same_checkpoint()
    {
        Skip.If(Mpirun is null, "Open MPI is not installed (apt-get install openmpi-bin libopenmpi-dev)");
        string dir = Directory.CreateTempSubdirectory("bp-mpi-").FullName;
        try
        {
            // the spiral's MLP (Adam), and a convolutional network with batch normalization and dropout on Fashion-MNIST
            File.WriteAllText(Temp(dir, "bn.json"), """
                {"version": 2, "dtype": "float32", "loss": {"kind": "softmax_cross_entropy"}, "layers": [
                  {"kind": "convolution", "filters": 4, "channels": 1, "kernel_h": 5, "kernel_w": 5, "stride": 3},
                  {"kind": "batch_norm_2d", "channels": 4}, {"kind": "relu"}, {"kind": "flatten"}, {"kind": "dropout", "p": 0.3},
                  {"kind": "fully_connected", "inputs": 256, "outputs": 10}]}
                """);
            bool fashion = File.Exists(Path.Combine(Data.Datasets.FashionMnistDir, "train-images-idx3-ubyte.gz"));
            var runs = new List<string[]> { new[] { "--epochs", "3", "--shards", "4" } };
            if (fashion)
                runs.Add(["--model", Temp(dir, "bn.json"), "--dataset", "fashion-mnist", "--limit", "330", "--batch", "50",
                    "--epochs", "2", "--shards", "3", "--optimizer", "sgd"]);
            for (int r = 0; r < runs.Count; r++)
                foreach (var (n, overlap) in new[] { (1, ""), (2, ""), (4, ""), (2, "--overlap") })
                {
                    string name = $"run{r}-np{n}{overlap}.safetensors";
                    var (code, _, err) = Train(n, [.. runs[r], "--out", Temp(dir, name), .. overlap == "" ? [] : new[] { overlap }]);
                    Assert.True(code == 0, $"run {r} on {n} {overlap}: exit {code}: {err}");
                    if (n > 1) AssertSameCheckpoint(Temp(dir, $"run{r}-np1.safetensors"), Temp(dir, name));
                }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [SkippableFact]
    public void A_checkpoint_of_two_processes_resumes_on_one_and_four()
    {
        Skip.If(Mpirun is null, "Open MPI is not installed (apt-get install openmpi-bin libopenmpi-dev)");
        string dir = Directory.CreateTempSubdirectory("bp-mpi-").FullName;
        try
        {
            string[] run = ["--layers", "2,32,32,3", "--dropout", "0.2", "--shards", "3", "--optimizer", "momentum"];
            Assert.Equal(0, Train(1, [.. run, "--epochs", "4", "--out", Temp(dir, "straight.safetensors")]).Code);
            var (code, _, err) = Train(2, [.. run, "--epochs", "2", "--out", Temp(dir, "half.safetensors")]);
            Assert.True(code == 0, err);
            foreach (int n in new[] { 1, 4 })
            {
                File.Copy(Temp(dir, "half.safetensors"), Temp(dir, $"resumed{n}.safetensors"));
                (code, _, err) = Train(n, "--resume", Temp(dir, $"resumed{n}.safetensors"), "--epochs", "4", "--out",
                    Temp(dir, $"resumed{n}.safetensors"));
                Assert.True(code == 0, err);
                AssertSameCheckpoint(Temp(dir, "straight.safetensors"), Temp(dir, $"resumed{n}.safetensors"), resumed: true);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [SkippableFact]
    public void Mismatched_processes_and_a_group_without_shards_are_refused()
    {
        Skip.If(Mpirun is null, "Open MPI is not installed (apt-get install openmpi-bin libopenmpi-dev)");
        var (code, _, err) = Train(2, "--epochs", "1");
        Assert.Equal(2, code);
        Assert.Contains("needs a number of shards per batch (--shards S)", err);
    }

    [SkippableFact]
    public void A_killed_process_stops_the_others_and_leaves_the_checkpoint_whole()
    {
        Skip.If(Mpirun is null, "Open MPI is not installed (apt-get install openmpi-bin libopenmpi-dev)");
        string dir = Directory.CreateTempSubdirectory("bp-mpi-").FullName;
        try
        {
            string path = Temp(dir, "k.safetensors");
            // Far more epochs than the run lives: process 1 is killed once the checkpoint has its first epochs.
            using var p = Process.Start(Start(2, ["train", "--threads", "1", "--epochs", "100000", "--shards", "2", "--out", path]))!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEndAsync();
            int? victim = null;
            while (victim is null && !p.HasExited)
            {
                Thread.Sleep(100);
                // (the file is replaced whole by a rename: a read sees one checkpoint or the next)
                if (!File.Exists(path) || Training.Trainer<float>.LoadCheckpoint(path).Epoch < 2) continue;
                foreach (var dirInfo in new DirectoryInfo("/proc").EnumerateDirectories())
                {
                    if (!int.TryParse(dirInfo.Name, out int pid)) continue;
                    string env;
                    try { env = File.ReadAllText(Path.Combine(dirInfo.FullName, "environ")); }
                    catch (IOException) { continue; }
                    catch (UnauthorizedAccessException) { continue; }
                    if (!env.Split('\0').Contains("OMPI_COMM_WORLD_RANK=1")) continue;
                    string cmd;
                    try { cmd = File.ReadAllText(Path.Combine(dirInfo.FullName, "cmdline")); }
                    catch (IOException) { continue; }
                    if (cmd.Contains(path, StringComparison.Ordinal)) victim = pid;
                }
            }
            if (victim is null) Assert.Fail($"no process 1 found; exit {p.ExitCode}: {stderr.Result}");   // (it ended first)
            Process.GetProcessById(victim.Value).Kill();
            p.WaitForExit();
            Assert.NotEqual(0, p.ExitCode);
            Assert.Contains("rank 1", stderr.Result);
            // The last checkpoint is whole: it loads, with the epochs it had.
            var trainer = Training.Trainer<float>.LoadCheckpoint(path);
            Assert.True(trainer.Epoch >= 2);
            Assert.Equal(2, trainer.Options.Shards);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
