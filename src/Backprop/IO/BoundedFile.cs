namespace Backprop.IO;

/// <summary>
/// Reads whole files with a size limit, refusing what is not a regular file of that size: a device such as /dev/zero
/// reports length 0 and never ends, a FIFO has no length, and either would otherwise be read until memory runs out.
/// </summary>
internal static class BoundedFile
{
    /// <summary>The bytes of <paramref name="path"/>, at most <paramref name="maxBytes"/>.</summary>
    /// <exception cref="InvalidFileException">Missing, unreadable, too large, not a regular file, or changing while read.</exception>
    public static byte[] ReadAllBytes(string path, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new InvalidFileException($"{path}: a folder, not a file");
        if (!File.Exists(path)) throw new InvalidFileException($"{path}: no such file");
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            if (!fs.CanSeek) throw new InvalidFileException($"{path}: not a regular file (a pipe or a device)");
            long length = fs.Length;
            if (length > maxBytes || length > Array.MaxLength)
                throw new InvalidFileException($"{path}: {length} bytes exceed the limit of {Math.Min(maxBytes, Array.MaxLength)} bytes");
            var bytes = new byte[length];
            fs.ReadExactly(bytes);
            if (fs.ReadByte() >= 0) throw new InvalidFileException($"{path}: not a regular file (it reads past its length of {length} " +
                $"bytes)");
            return bytes;
        }
        catch (EndOfStreamException) { throw new InvalidFileException($"{path}: the file shrank while it was read"); }
        catch (UnauthorizedAccessException e) { throw new InvalidFileException($"{path}: {e.Message}", e); }
        catch (IOException e) { throw new InvalidFileException($"{path}: {e.Message}", e); }
    }

    /// <summary>
    /// <paramref name="path"/> opened for reading after the same checks (a regular file, at most <paramref name="maxBytes"/>),
    /// for readers that stream a large file instead of holding its bytes.
    /// </summary>
    public static FileStream OpenRead(string path, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new InvalidFileException($"{path}: a folder, not a file");
        if (!File.Exists(path)) throw new InvalidFileException($"{path}: no such file");
        FileStream? fs = null;
        try
        {
            fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            if (!fs.CanSeek || (fs.Length == 0 && new FileInfo(path).Attributes.HasFlag(FileAttributes.Device)))
                throw new InvalidFileException($"{path}: not a regular file (a pipe or a device)");
            if (fs.Length > maxBytes) throw new InvalidFileException($"{path}: {fs.Length} bytes exceed the limit of {maxBytes} bytes");
            var opened = fs;
            fs = null;
            return opened;
        }
        catch (UnauthorizedAccessException e) { throw new InvalidFileException($"{path}: {e.Message}", e); }
        catch (IOException e) { throw new InvalidFileException($"{path}: {e.Message}", e); }
        finally { fs?.Dispose(); }
    }

    /// <summary>The text of <paramref name="path"/> (UTF-8, a byte-order mark dropped), at most <paramref name="maxBytes"/>
    /// bytes.</summary>
    public static string ReadAllText(string path, long maxBytes) => Text(ReadAllBytes(path, maxBytes), path);

    /// <summary>Everything a reader gives, at most <paramref name="maxChars"/> characters; a byte-order mark dropped.</summary>
    /// <exception cref="InvalidInputException">More than <paramref name="maxChars"/> characters.</exception>
    public static string ReadToEnd(TextReader reader, long maxChars, string what)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var sb = new System.Text.StringBuilder();
        var buffer = new char[1 << 16];
        int n;
        while ((n = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            sb.Append(buffer, 0, n);
            if (sb.Length > maxChars) throw new InvalidInputException($"{what} is longer than the limit of {maxChars} characters");
        }
        if (sb.Length > 0 && sb[0] == '\uFEFF') sb.Remove(0, 1);
        return sb.ToString();
    }

    private static string Text(byte[] bytes, string path)
    {
        try
        {
            var s = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            return s.Length > 0 && s[0] == '\uFEFF' ? s[1..] : s;
        }
        catch (System.Text.DecoderFallbackException) { throw new InvalidFileException($"{path}: not UTF-8 text"); }
    }
}
