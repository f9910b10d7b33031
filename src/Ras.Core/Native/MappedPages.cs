using System.Runtime.InteropServices;

namespace Ras.Native;

/// <summary>
/// Drops pages of a read-only file mapping from this process once their bytes have been copied out, so loading a
/// checkpoint does not keep a second, file-backed copy of the weights in the resident set (the kernel re-reads them
/// from the file if they are ever touched again).
/// </summary>
internal static unsafe partial class MappedPages
{
    private const int MadvDontNeed = 4;
    private static readonly long PageSize = Environment.SystemPageSize;

    /// <summary>Releases the pages spanning <c>[start, start + length)</c> (rounded out to whole pages); a no-op off Linux.</summary>
    public static void Release(byte* start, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return;
        }

        long first = (long)start & ~(PageSize - 1);
        long end = ((long)start + length + PageSize - 1) & ~(PageSize - 1);
        _ = Madvise((nint)first, (nuint)(end - first), MadvDontNeed);   // advisory: failure only costs memory
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
