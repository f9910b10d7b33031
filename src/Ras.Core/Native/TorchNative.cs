using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Ras.IO.Files;
using TorchSharp;

namespace Ras.Native;

/// <summary>
/// Makes TorchSharp's native wrapper loadable on systems whose libstdc++ predates GLIBCXX_3.4.32
/// (e.g. Debian 12). <c>libLibTorchSharp.so</c> 0.107 requires that version for one symbol
/// (<c>std::ios_base_library_init</c>) it never calls; a copy whose requirement is marked weak loads
/// and runs correctly. The copy lives in a per-user cache (the NuGet cache is never modified) and is
/// handed to TorchSharp through a DllImport resolver. Runs automatically when this assembly is first
/// used; call <see cref="EnsureLoadable"/> before touching TorchSharp directly.
/// </summary>
public static class TorchNative
{
    private const string WrapperFile = "libLibTorchSharp.so";
    private const string MissingVersion = "GLIBCXX_3.4.32";
    private const string ProbeSymbol = "_ZSt21ios_base_library_initv";
    private static readonly Lock Gate = new();
    private static bool done;

    /// <summary>
    /// True when libtorch's CUDA library (<c>libtorch_cuda.so</c> / <c>torch_cuda.dll</c>) ships with the application, i.e. it
    /// was built with a CUDA TorchSharp package rather than <c>TorchSharp-cpu</c> (whether a GPU is present is another question:
    /// <c>torch.cuda.is_available()</c>).
    /// </summary>
    public static bool HasCudaLibraries => NativeFolders().Any(f => File.Exists(Path.Combine(f, "libtorch_cuda.so")) || File.Exists(Path.Combine(f, "torch_cuda.dll")));

    /// <summary>What the last <see cref="EnsureLoadable"/> call did, for diagnostics (e.g. <c>ras info</c>).</summary>
    public static string Status { get; private set; } = "not checked";

#pragma warning disable CA2255 // A library module initializer is the point: users get the fix without a call.
    [ModuleInitializer]
    internal static void Initialize() => EnsureLoadable();
#pragma warning restore CA2255

    /// <summary>
    /// Idempotent. On Linux, when the system libstdc++ lacks GLIBCXX_3.4.32, loads a patched copy of the
    /// TorchSharp wrapper from <c>$XDG_CACHE_HOME/ras/native</c> (default <c>~/.cache</c>) and routes
    /// TorchSharp's <c>LibTorchSharp</c> imports to it. Does nothing elsewhere.
    /// </summary>
    public static void EnsureLoadable()
    {
        lock (Gate)
        {
            if (done)
            {
                return;
            }

            done = true;
            NativeHeap.Configure();
            try
            {
                Status = Prepare();
            }
#pragma warning disable CA1031 // Never fail here: TorchSharp's own load error is the better message.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Status = $"patch failed: {e.Message}";
            }
        }
    }

    private static string Prepare()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not needed (not Linux)";
        }

        if (SystemLibStdCxxHasVersion())
        {
            return $"not needed (system libstdc++ provides {MissingVersion})";
        }

        string? original = FindWrapper();
        if (original is null)
        {
            return $"{WrapperFile} not found next to the application; left to TorchSharp";
        }

        string patched = PatchedCopyFor(original);

        // The copy sits in another folder, so its $ORIGIN runpath no longer finds libtorch & co.: load its
        // direct dependencies from the package folder first (by full path, so their own $ORIGIN works); the
        // loader then matches the copy's DT_NEEDED entries to them by soname.
        string folder = Path.GetDirectoryName(original)!;
        foreach (string dependency in ElfVersionPatcher.NeededLibraries(File.ReadAllBytes(original)))
        {
            string path = Path.Combine(folder, dependency);
            if (File.Exists(path))
            {
                NativeLibrary.Load(path);
            }
        }

        IntPtr handle = NativeLibrary.Load(patched);
        NativeLibrary.SetDllImportResolver(typeof(torch).Assembly, (name, _, _) =>
            name is "LibTorchSharp" or "libLibTorchSharp" or WrapperFile ? handle : IntPtr.Zero);
        return $"patched copy loaded: {patched}";
    }

    /// <summary>True when the libstdc++ this process uses exports the probe symbol at the needed version.</summary>
    private static bool SystemLibStdCxxHasVersion()
    {
        if (!NativeLibrary.TryLoad("libstdc++.so.6", out IntPtr libstdcxx))
        {
            return false;
        }

        return dlvsym(libstdcxx, ProbeSymbol, MissingVersion) != IntPtr.Zero;
    }

    private static string? FindWrapper() => NativeFolders().Select(f => Path.Combine(f, WrapperFile)).FirstOrDefault(File.Exists);

    /// <summary>The folders the runtime searches for native libraries, then the application's and TorchSharp's.</summary>
    private static List<string> NativeFolders()
    {
        var folders = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searchDirs)
        {
            folders.AddRange(searchDirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        }

        string baseDir = AppContext.BaseDirectory;
        folders.Add(baseDir);
        folders.Add(Path.Combine(baseDir, "runtimes", RuntimeInformation.RuntimeIdentifier, "native"));
        folders.Add(Path.Combine(baseDir, "runtimes", "linux-x64", "native"));
        string? torchDir = Path.GetDirectoryName(typeof(torch).Assembly.Location);
        if (!string.IsNullOrEmpty(torchDir))
        {
            folders.Add(torchDir);
        }

        return folders;
    }

    private static string PatchedCopyFor(string original)
    {
        byte[] bytes = File.ReadAllBytes(original);
        string key = Convert.ToHexString(SHA256.HashData(bytes))[..16].ToLowerInvariant();
        string relative = Path.Combine("native", key);
        foreach (string root in UserCache.Roots)
        {
            string existing = Path.Combine(root, relative, WrapperFile);
            if (File.Exists(existing))
            {
                return existing;
            }
        }

        ElfPatchResult result = ElfVersionPatcher.MarkVersionWeak(bytes, MissingVersion);
        if (result == ElfPatchResult.NotRequired)
        {
            return original;
        }

        // A read-only home (containers, CI sandboxes) falls back to the temp folder.
        string target = Path.Combine(UserCache.CreateFolder(relative).Folder, WrapperFile);
        string temp = $"{target}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, target, overwrite: true); // atomic; concurrent writers produce identical bytes
        return target;
    }

    [DllImport("libc", EntryPoint = "dlvsym")]
#pragma warning disable SYSLIB1054, CA2101 // dlvsym takes narrow C strings; LibraryImport adds nothing here.
    private static extern IntPtr dlvsym(IntPtr handle, [MarshalAs(UnmanagedType.LPStr)] string symbol, [MarshalAs(UnmanagedType.LPStr)] string version);
#pragma warning restore SYSLIB1054, CA2101
}
