using Ras.Errors;

namespace Ras.IO.Files;

/// <summary>
/// Writes a file through a temporary sibling and a rename, so readers never see a half-written
/// output and a failed or cancelled write leaves the previous file (if any) untouched.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Fails early, before expensive work, when <paramref name="path"/> could not be written: its folder
    /// is missing or not writable, or the path is a folder.
    /// </summary>
    /// <exception cref="RasInputException">The output cannot be written.</exception>
    public static void EnsureWritable(string path)
    {
        RequirePath(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new RasInputException($"{path}: is a folder, expected a file path");
        }

        string folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
        {
            throw new RasInputException($"{path}: output folder '{folder}' does not exist");
        }

        string probe = Path.Combine(folder, $".ras-write-probe.{Environment.ProcessId}.{Guid.NewGuid():N}");
        try
        {
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RasInputException($"{path}: output folder '{folder}' is not writable ({e.Message})", e);
        }
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8) to <paramref name="path"/> through a temporary file.</summary>
    /// <exception cref="RasInputException">The destination folder does not exist or is not writable.</exception>
    public static void WriteText(string path, string text)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        Write(path, s => s.Write(bytes));
    }

    /// <summary>Writes <paramref name="path"/> by calling <paramref name="write"/> on a temporary stream.</summary>
    /// <exception cref="RasInputException">The destination folder does not exist or is not writable.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        RequirePath(path);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
        {
            throw new RasInputException($"{path}: output folder '{folder}' does not exist");
        }

        string temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or DirectoryNotFoundException)
        {
            throw new RasInputException($"{path}: cannot write ({e.Message})", e);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    private static void RequirePath(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new RasInputException("the output path is empty");
        }
    }
}
