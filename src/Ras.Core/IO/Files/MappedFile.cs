using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace Ras.IO.Files;

/// <summary>
/// A whole file mapped read-only, for the checkpoint readers. The file's size and modification time are taken from the
/// open handle before mapping; <see cref="EnsureUnchanged"/> compares them again, so a file truncated or rewritten on disk
/// after it was opened is reported as an error before its bytes are read (reading pages past a shrunken file's end
/// would otherwise kill the process with SIGBUS) and after they were read (a rewrite during the copy).
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly SafeFileHandle handle;
    private readonly MemoryMappedFile? map;
    private readonly MemoryMappedViewAccessor? view;
    private readonly DateTime lastWrite;
    private readonly Func<string, Exception?, Exception> error;
    private bool disposed;

    private MappedFile(string path, SafeFileHandle handle, long length, DateTime lastWrite, Func<string, Exception?, Exception> error)
    {
        Path = path;
        this.handle = handle;
        Length = length;
        this.lastWrite = lastWrite;
        this.error = error;
        if (length == 0)
        {
            return;   // nothing to map (mmap refuses empty files); Pointer stays null and no byte may be read
        }

        map = MemoryMappedFile.CreateFromFile(handle, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        }
        catch
        {
            map.Dispose();
            throw;
        }

        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        Pointer = pointer + view.PointerOffset;
    }

    /// <summary>The path the file was opened by.</summary>
    public string Path { get; }

    /// <summary>The file's size when it was opened.</summary>
    public long Length { get; }

    /// <summary>The first byte of the mapping (null for an empty file).</summary>
    public byte* Pointer { get; }

    /// <summary>
    /// Opens and maps <paramref name="path"/>; <paramref name="error"/> makes the reader's own exception from a problem
    /// ("file not found", "cannot open (…)") and its cause.
    /// </summary>
    public static MappedFile Open(string path, Func<string, Exception?, Exception> error)
    {
        ArgumentNullException.ThrowIfNull(error);
        SafeFileHandle handle;
        try
        {
            // The length of what the path resolves to: FileInfo.Length of a symbolic link is the link's own size
            // (the Hugging Face cache links every snapshot file to a blob).
            handle = File.OpenHandle(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw error("file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw error($"cannot open ({e.Message})", e);
        }

        try
        {
            return new MappedFile(path, handle, RandomAccess.GetLength(handle), File.GetLastWriteTimeUtc(handle), error);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            handle.Dispose();
            throw error($"cannot open ({e.Message})", e);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// False (the default) releases the mapped pages a read used, so a one-time load never keeps the file resident; true
    /// keeps them, for weights read again at every use (the kernel still reclaims clean file pages under memory pressure).
    /// </summary>
    public bool KeepsPagesMapped { get; set; }

    /// <summary>Stops keeping pages (see <see cref="KeepsPagesMapped"/>) and releases every page of the mapping.</summary>
    public void ReleaseMappedPages()
    {
        KeepsPagesMapped = false;
        Ras.Native.MappedPages.Release(Pointer, Length);
    }

    /// <summary>Releases the pages of a read (<paramref name="start"/>, <paramref name="length"/> bytes) unless <see cref="KeepsPagesMapped"/>.</summary>
    public void ReleasePages(byte* start, long length)
    {
        if (!KeepsPagesMapped)
        {
            Ras.Native.MappedPages.Release(start, length);
        }
    }

    /// <summary>
    /// Throws the reader's exception when the file on disk is no longer what was mapped: a different size (truncated or
    /// grown) or modification time. <paramref name="context"/> says what was being read.
    /// </summary>
    public void EnsureUnchanged(string context)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        long now;
        DateTime written;
        try
        {
            now = RandomAccess.GetLength(handle);
            written = File.GetLastWriteTimeUtc(handle);
        }
        catch (IOException e)
        {
            throw error($"cannot check the file while {context} ({e.Message})", e);
        }

        if (now != Length)
        {
            throw error($"the file changed on disk while {context}: it was {Length} bytes when opened and is {now} bytes now (truncated or rewritten?)", null);
        }

        if (written != lastWrite)
        {
            throw error($"the file changed on disk while {context}: modified at {written:O}, after it was opened (at {lastWrite:O})", null);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (view is not null)
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
        }

        map?.Dispose();
        handle.Dispose();
    }
}
