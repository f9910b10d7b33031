using System.Runtime.InteropServices;

namespace Ras.Native;

/// <summary>
/// Keeps glibc's heap from growing under diffusion workloads. libtorch allocates activations with malloc;
/// the mix of sizes in a step (more so under RAS, where token counts change from step to step) fragments
/// the heap, and glibc's dynamic mmap threshold moves large blocks onto it, so resident memory creeps up
/// step after step although nothing is live (measured: +25 MB/step dense, +85 MB/step RAS at 1024² before
/// this). Two remedies: a fixed 16 MiB mmap threshold (big activations are mapped and unmapped, never left
/// on the heap) set once at load, and <see cref="Trim"/> after each step. Both return memory to the OS that the
/// next step must fault in again; that is cheap next to 1024² matmuls but not for small models, so loops with
/// fixed shapes (training) opt out with <see cref="ReuseFreedMemory"/>.
/// Set <c>RAS_KEEP_MALLOC_SETTINGS=1</c> to leave the allocator alone.
/// </summary>
public static class NativeHeap
{
    /// <summary>The fixed mmap threshold applied by <see cref="Configure"/>.</summary>
    public const int MmapThresholdBytes = 16 << 20;

    private const int MallocTrimThreshold = -1; // M_TRIM_THRESHOLD
    private const int MallocMmapThreshold = -3; // M_MMAP_THRESHOLD
    private const int MallocMmapMax = -4;       // M_MMAP_MAX
    private const int GlibcDefaultMmapMax = 65536;
    private const int GlibcDefaultTrimThreshold = 128 * 1024;
    private static readonly Lock Gate = new();
    private static int leases;
    private static bool unavailable = !OperatingSystem.IsLinux()
        || Environment.GetEnvironmentVariable("RAS_KEEP_MALLOC_SETTINGS") == "1";

    /// <summary>True when the allocator settings were applied (glibc, not opted out).</summary>
    public static bool Configured { get; private set; }

    /// <summary>Applies the fixed mmap threshold (idempotent; glibc only). Called by <see cref="TorchNative.EnsureLoadable"/>.</summary>
    public static void Configure()
    {
        if (unavailable || Configured)
        {
            return;
        }

        try
        {
            Configured = mallopt(MallocMmapThreshold, MmapThresholdBytes) == 1;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            unavailable = true; // not glibc (e.g. musl)
        }
    }

    /// <summary>
    /// For loops whose every iteration allocates the same tensor shapes (training): until the returned lease is
    /// disposed, every allocation is served from the heap and freed memory stays there, so the next iteration
    /// reuses it instead of mapping, faulting in and zeroing fresh pages; resident memory stays at one
    /// iteration's peak. Disposing the last lease restores the settings of <see cref="Configure"/> and trims.
    /// </summary>
    public static IDisposable ReuseFreedMemory()
    {
        Configure();
        if (!Configured)
        {
            return new Lease(false);
        }

        lock (Gate)
        {
            if (leases++ == 0)
            {
                _ = mallopt(MallocMmapMax, 0);
                _ = mallopt(MallocTrimThreshold, int.MaxValue);
            }
        }

        return new Lease(true);
    }

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

    /// <summary>
    /// Between jobs of a long-running process (a server, a loop of library calls): collects the managed garbage and runs its
    /// finalizers, then trims the native heap. TorchSharp creates a native object for every number passed to an operation
    /// (<c>x.mul(0.5f)</c> makes a <c>Scalar</c>); those are freed only by their finalizers, and a generation allocates so
    /// little managed memory that collections are rare, so thousands of small native blocks stay scattered over pages the
    /// tensors freed and keep them resident (a server grew 16 MB per 150-step job; 200 library calls +24 %). The pipelines call
    /// it after their denoising loop; A1111 likewise collects after each job.
    /// </summary>
    public static void ReleaseGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Trim();
    }

    private sealed class Lease(bool active) : IDisposable
    {
        private bool active = active;

        public void Dispose()
        {
            if (!active)
            {
                return;
            }

            active = false;
            lock (Gate)
            {
                if (--leases == 0)
                {
                    _ = mallopt(MallocMmapMax, GlibcDefaultMmapMax);
                    _ = mallopt(MallocTrimThreshold, GlibcDefaultTrimThreshold); // what a fixed mmap threshold leaves it at
                    Trim();
                }
            }
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
#pragma warning disable SYSLIB1054
    private static extern int mallopt(int parameter, int value);
#pragma warning restore SYSLIB1054

    [DllImport("libc", EntryPoint = "malloc_trim")]
#pragma warning disable SYSLIB1054 // one trivial call; LibraryImport's generator adds nothing here
    private static extern int malloc_trim(nuint pad);
#pragma warning restore SYSLIB1054
}
