using System.Diagnostics;
using System.Globalization;
using System.Text;
using Backprop.Cli.Support;
using Backprop.Data;
using Backprop.Kernels;

namespace Backprop.Cli.Commands;

internal static partial class BenchCommand
{
    /// <summary>
    /// <c>bench --ops data --data FILE.csv</c>: the CSV reader on a file of your choice (the issue's: all 60 000 Fashion-MNIST
    /// training images, 785 columns), five loads: the median and spread of the time, the rate, and the bytes allocated
    /// while loading beyond the float32 features array itself (as a multiple of that array).
    /// </summary>
    private static string DataLoading(Args args)
    {
        string path = args.Value("data") ?? throw new InvalidInputException("bench --ops data needs --data FILE.csv");
        int runs = args.Flag("quick") ? 1 : 5;
        var seconds = new List<double>();
        var beyond = new List<double>();
        Dataset? d = null;
        for (int r = 0; r < runs; r++)
        {
            d = null;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long allocated = GC.GetTotalAllocatedBytes(precise: true);
            var sw = Stopwatch.StartNew();
            d = Datasets.FromCsv(path);
            seconds.Add(sw.Elapsed.TotalSeconds);
            long array = (long)d.Features.Length * sizeof(float);
            beyond.Add((GC.GetTotalAllocatedBytes(precise: true) - allocated - array) / (double)array);
        }
        seconds.Sort();
        long bytes = new FileInfo(path).Length;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"processor: {Processor.Describe()}");
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"{path}: {bytes / 1e6:0.0} MB, {d!.Count} rows of {d.Dim} features and a label; {runs} loads, " +
            $"threads {Parallelism.MaxThreads}");
        sb.AppendLine("| what | median | min | max | rate | allocated beyond the features array |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"| Datasets.FromCsv | {seconds[runs / 2]:0.00} s | {seconds[0]:0.00} s | {seconds[^1]:0.00} s | " +
            $"{bytes / 1e6 / seconds[runs / 2]:0} MB/s | {beyond.Max():0.00}× |");
        return sb.ToString();
    }
}
