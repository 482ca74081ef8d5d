using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace Backprop.Kernels;

/// <summary>What the machine's processor is, as benchmarks report it: the vendor, the model and the vector widths it accelerates.</summary>
internal static class Processor
{
    /// <summary>The vendor: GenuineIntel, AuthenticAMD, … (from CPUID on x86; the architecture elsewhere).</summary>
    public static string Vendor { get; } = ReadVendor();

    /// <summary>The model name (CPUID's brand string on x86, else what the operating system reports).</summary>
    public static string Model { get; } = ReadModel();

    /// <summary>The data cache sizes of one core, in bytes: L1d and L2 (CPUID's deterministic cache parameters, leaf 4 on
    /// Intel and 0x8000001D on AMD; 48 KiB and 1 MiB where the processor does not report them).</summary>
    public static (int L1, int L2) Caches { get; } = ReadCaches();

    /// <summary>CPUID's display family and model (leaf 1, extended fields folded in); (0, 0) off x86.</summary>
    public static (int Family, int Model) Signature { get; } = ReadSignature();

    /// <summary>
    /// The core's generation where the signature alone tells it, else empty: AMD's family 25 with AVX-512 is Zen 4 (Zen 3
    /// shares the family without it), family 26 is Zen 5. A brand string such as "AMD EPYC" names neither.
    /// </summary>
    public static string Core { get; } = Vendor != "AuthenticAMD" ? "" : Signature.Family switch
    {
        25 => Avx512F.IsSupported ? "Zen 4" : "Zen 3",
        26 => "Zen 5",
        _ => "",
    };

    /// <summary>One line: model, vendor, family and model, widest vector path, caches, logical cores.</summary>
    public static string Describe() =>
        $"{Model} ({Vendor}, family {Signature.Family} model {Signature.Model}{(Core.Length > 0 ? ", " + Core : "")}); " +
        $"{Gemm.BestPath} path; L1d {Caches.L1 / 1024} KiB, L2 {Caches.L2 / 1024} KiB per core; " +
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

    private static (int, int) ReadSignature()
    {
        if (!X86Base.IsSupported) return (0, 0);
        int eax = X86Base.CpuId(1, 0).Eax;
        int family = (eax >> 8) & 0xF, model = (eax >> 4) & 0xF;
        // The extended family adds to family 15; the extended model extends families 6 and 15 and above.
        if (family == 0xF) family += (eax >> 20) & 0xFF;
        if (family == 0x6 || family >= 0xF) model += ((eax >> 16) & 0xF) << 4;
        return (family, model);
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
