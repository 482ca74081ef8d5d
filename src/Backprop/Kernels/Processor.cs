using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace Backprop.Kernels;

/// <summary>What the machine's processor is, as benchmarks report it: the vendor, the model and the vector widths it accelerates.</summary>
public static class Processor
{
    /// <summary>The vendor: GenuineIntel, AuthenticAMD, … (from CPUID on x86; the architecture elsewhere).</summary>
    public static string Vendor { get; } = ReadVendor();

    /// <summary>The model name (CPUID's brand string on x86, else what the operating system reports).</summary>
    public static string Model { get; } = ReadModel();

    /// <summary>One line: model, vendor, widest vector path, logical cores.</summary>
    public static string Describe() =>
        $"{Model} ({Vendor}); {Gemm.BestPath} path; {Environment.ProcessorCount} logical cores; .NET {Environment.Version}";

    private static string ReadVendor()
    {
        if (!X86Base.IsSupported) return RuntimeInformation.ProcessArchitecture.ToString();
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        var b = new byte[12];
        BitConverter.TryWriteBytes(b.AsSpan(0), ebx);
        BitConverter.TryWriteBytes(b.AsSpan(4), edx);
        BitConverter.TryWriteBytes(b.AsSpan(8), ecx);
        return Encoding.ASCII.GetString(b);
    }

    private static string ReadModel()
    {
        if (X86Base.IsSupported && (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax >= 0x80000004)
        {
            var bytes = new byte[48];
            for (int i = 0; i < 3; i++)
            {
                var (a, b, c, d) = X86Base.CpuId(unchecked((int)0x80000002) + i, 0);
                BitConverter.TryWriteBytes(bytes.AsSpan(16 * i), a);
                BitConverter.TryWriteBytes(bytes.AsSpan(16 * i + 4), b);
                BitConverter.TryWriteBytes(bytes.AsSpan(16 * i + 8), c);
                BitConverter.TryWriteBytes(bytes.AsSpan(16 * i + 12), d);
            }
            string brand = Encoding.ASCII.GetString(bytes).TrimEnd('\0').Trim();
            if (brand.Length > 0) return brand;
        }
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal) || line.StartsWith("Model", StringComparison.Ordinal))
                        return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
