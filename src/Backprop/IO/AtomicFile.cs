namespace Backprop.IO;

/// <summary>
/// Writes a file atomically: to a temporary file in the same folder (<c>.NAME.PID.GUID.tmp</c>), flushed to disk, then
/// renamed over the target, so that a crash or a full disk never leaves a half-written file; the target keeps its last
/// complete version. Temporaries that killed processes left beside the target are removed.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> with what <paramref name="body"/> writes to the stream it is given.</summary>
    /// <exception cref="InvalidInputException">The folder does not exist.</exception>
    /// <exception cref="InvalidFileException">The file could not be written (the target keeps its previous content).</exception>
    public static void Write(string path, Action<Stream> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new InvalidInputException($"cannot save {path}: the folder {dir} does not exist");
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                body(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
            RemoveStaleTemporaries(dir, Path.GetFileName(full));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Disk full, a read-only or vanished folder: the target keeps its last complete version, the temporary goes.
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new InvalidFileException($"cannot save {path}: {e.Message} (the file keeps its previous content)", e);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>
    /// Deletes temporary files that earlier saves to the same target left when their process was killed: only names of
    /// this writer's own pattern (<c>.NAME.PID.GUID.tmp</c>) whose process no longer runs.
    /// </summary>
    private static void RemoveStaleTemporaries(string dir, string name)
    {
        string prefix = $".{name}.";
        try
        {
            foreach (var file in Directory.EnumerateFiles(dir, prefix + "*.tmp"))
            {
                var parts = Path.GetFileName(file)[prefix.Length..].Split('.');
                if (parts.Length != 3 || parts[2] != "tmp" || !int.TryParse(parts[0], out int pid) || parts[1].Length != 32
                    || !Guid.TryParseExact(parts[1], "N", out _))
                    continue;
                if (pid == Environment.ProcessId || Running(pid)) continue;
                try { File.Delete(file); }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static bool Running(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
