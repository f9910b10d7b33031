using Ras.Native;

namespace Ras.Tests.Native;

public sealed class ElfVersionPatcherTests
{
    private static string Wrapper => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void Marks_the_glibcxx_requirement_weak_once_and_changes_nothing_else()
    {
        Assert.True(File.Exists(Wrapper), $"TorchSharp's wrapper not found at {Wrapper}");
        byte[] original = File.ReadAllBytes(Wrapper);
        byte[] bytes = (byte[])original.Clone();

        Assert.Equal(ElfPatchResult.Patched, ElfVersionPatcher.MarkVersionWeak(bytes, "GLIBCXX_3.4.32"));
        int[] changed = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] != original[i]).ToArray();
        Assert.Single(changed);                                          // one byte of one vna_flags field
        Assert.Equal(0x2, bytes[changed[0]] ^ original[changed[0]]);     // VER_FLG_WEAK

        Assert.Equal(ElfPatchResult.AlreadyWeak, ElfVersionPatcher.MarkVersionWeak(bytes, "GLIBCXX_3.4.32"));
        Assert.Equal(ElfPatchResult.NotRequired, ElfVersionPatcher.MarkVersionWeak(bytes, "GLIBCXX_9.9.99"));
    }

    [Fact]
    public void Lists_the_direct_dependencies()
    {
        var needed = ElfVersionPatcher.NeededLibraries(File.ReadAllBytes(Wrapper));
        Assert.Equal(["libtorch.so", "libc10.so", "libtorch_cpu.so", "libstdc++.so.6"], needed.Take(4));
    }

    [Fact]
    public void Rejects_files_that_are_not_elf64()
    {
        Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.MarkVersionWeak(new byte[100], "GLIBCXX_3.4.32"));
    }

    [Fact]
    public void Loader_reports_what_it_did()
    {
        TorchNative.EnsureLoadable();
        Assert.Matches("^(not needed|patched copy loaded)", TorchNative.Status);
    }
}
