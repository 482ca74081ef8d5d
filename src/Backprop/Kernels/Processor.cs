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

    /// <summary>The data cache sizes of one core, in bytes: L1d and L2 (CPUID's deterministic cache parameters, leaf 4 on
    /// Intel and 0x8000001D on AMD; 48 KiB and 1 MiB where the processor does not report them).</summary>
    public static (int L1, int L2) Caches { get; } = ReadCaches();

    /// <summary>One line: model, vendor, widest vector path, caches, logical cores.</summary>
    public static string Describe() =>
        $"{Model} ({Vendor}); {Gemm.BestPath} path; L1d {Caches.L1 / 1024} KiB, L2 {Caches.L2 / 1024} KiB per core; " +
        $"{Environment.ProcessorCount} logical cores; .NET {Environment.Version}";

    private static (int L1, int L2) ReadCaches()
    {
        int l1 = 0, l2 = 0;
        if (X86Base.IsSupported)
        {
            // Both vendors describe each cache in the same four registers; only the leaf differs.
            int leaf = Vendor == "AuthenticAMD" || Vendor == "HygonGenuine" ? unchecked((int)0x8000001D) : 4;
            uint max = (uint)X86Base.CpuId(leaf < 0 ? unchecked((int)0x80000000) : 0, 0).Eax;
            if ((uint)leaf <= max)
                for (int sub = 0; sub < 16; sub++)
                {
                    var (eax, ebx, ecx, _) = X86Base.CpuId(leaf, sub);
                    int type = eax & 0x1F, level = (eax >> 5) & 0x7;
                    if (type == 0) break;
                    if (type != 1 && type != 3) continue;   // data or unified caches only
                    // ways × partitions × line size × sets
                    long size = (long)(((ebx >> 22) & 0x3FF) + 1) * (((ebx >> 12) & 0x3FF) + 1) * ((ebx & 0xFFF) + 1)
                        * ((long)(uint)ecx + 1);
                    if (level == 1 && type == 1) l1 = (int)Math.Min(size, int.MaxValue);
                    if (level == 2) l2 = (int)Math.Min(size, int.MaxValue);
                }
        }
        return (l1 > 0 ? l1 : 48 << 10, l2 > 0 ? l2 : 1 << 20);
    }

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
