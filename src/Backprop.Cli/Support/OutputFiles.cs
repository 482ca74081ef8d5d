namespace Backprop.Cli.Support;

/// <summary>
/// Checks a file a command will write (a model, a plot) before any work starts, so that a bad path fails at once with
/// the option's name rather than after an epoch, or halfway through the demo, with the operating system's words.
/// </summary>
internal static class OutputFiles
{
    public static void Check(string option, string file)
    {
        if (Directory.Exists(file))
            throw new InvalidInputException($"--{option} {file}: that is a folder; give a file name in it, such as " +
                $"{Path.Combine(file, option == "out" ? "model.safetensors" : "curves.png")}");
        string folder = Path.GetDirectoryName(Path.GetFullPath(file))!;
        if (!Directory.Exists(folder)) throw new InvalidInputException($"--{option} {file}: the folder {folder} does not exist");
        // A read-only folder would fail at the first save: find out before the work.
        string probe = Path.Combine(folder, $".{Path.GetFileName(file)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"--{option} {file}: cannot write in the folder {folder} ({e.Message})");
        }
    }

    /// <summary>
    /// Writes what <paramref name="write"/> writes to a scratch file beside <paramref name="file"/>, then removes it: a folder
    /// too full for the first save fails here, before the command prints anything, and not after an epoch.
    /// </summary>
    public static void Probe(string option, string file, Action<string> write)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(file))!;
        string probe = Path.Combine(folder, $".{Path.GetFileName(file)}.{Environment.ProcessId}.{Guid.NewGuid():N}.probe");
        try { write(probe); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"--{option} {file}: cannot write it in {folder} ({e.Message})");
        }
        finally
        {
            try { File.Delete(probe); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
