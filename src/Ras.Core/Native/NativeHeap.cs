using System.Runtime.InteropServices;

namespace Ras.Native;

/// <summary>
/// Gives freed native heap pages back to the OS. libtorch allocates activations with glibc malloc; the mix
/// of sizes in a diffusion step (and more so under RAS, where token counts change from step to step)
/// fragments glibc's heap so that resident memory creeps up step after step although nothing is live.
/// <c>malloc_trim(0)</c> after each step returns the free pages (<c>madvise</c>), keeping memory flat.
/// </summary>
public static class NativeHeap
{
    private static bool unavailable = !OperatingSystem.IsLinux();

    /// <summary>Releases free heap memory to the OS (glibc); does nothing elsewhere.</summary>
    public static void Trim()
    {
        if (unavailable)
        {
            return;
        }

        try
        {
            _ = malloc_trim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            unavailable = true; // not glibc (e.g. musl)
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
#pragma warning disable SYSLIB1054 // one trivial call; LibraryImport's generator adds nothing here
    private static extern int malloc_trim(nuint pad);
#pragma warning restore SYSLIB1054
}
