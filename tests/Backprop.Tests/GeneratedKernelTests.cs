using System.Diagnostics;

namespace Backprop.Tests;

/// <summary>
/// The generated kernels are what their scripts generate: each script, run into a temporary file, reproduces the committed
/// file byte for byte (an edit of the generated file instead of its script fails here).
/// </summary>
public class GeneratedKernelTests
{
    [SkippableTheory]
    [InlineData("tools/gen_microkernels.py", "src/Backprop/Kernels/MicroKernels.Generated.cs")]
    [InlineData("tools/gen_gathered_tiles.py", "src/Backprop/Kernels/Gemm.GatheredTiles.Generated.cs")]
    public void Each_generated_kernel_is_what_its_script_writes(string script, string generated)
    {
        Skip.IfNot(File.Exists("/usr/bin/python3"), "the generators need Debian's python3");
        string root = TestUtil.Root(), output = Path.Combine(Path.GetTempPath(), $"bp-gen-{Guid.NewGuid():N}.cs");
        try
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(Path.Combine(root, script));
            psi.ArgumentList.Add(output);
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            Assert.True(p.WaitForExit(60_000) && p.ExitCode == 0, $"{script}: {err}");
            Assert.True(File.ReadAllBytes(Path.Combine(root, generated)).AsSpan().SequenceEqual(File.ReadAllBytes(output)),
                $"{generated} differs from what {script} writes: edit the script and run it");
        }
        finally { File.Delete(output); }
    }
}
