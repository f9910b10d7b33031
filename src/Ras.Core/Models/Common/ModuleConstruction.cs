using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>
/// The device this thread's module constructors allocate weights on: null (libtorch's default, the CPU) except while a
/// loader builds a model on the meta device to skip its random initialisation (<c>UninitializedModules</c>). Every weight
/// factory in the models passes it as <c>device:</c>. It is per thread because libtorch's default device
/// (<c>set_default_device</c>) is process-wide: switching that would hand meta tensors to any other thread creating
/// tensors meanwhile. A module that forgets it is still correct, only built (and randomly initialised) on the CPU.
/// </summary>
public static class ModuleConstruction
{
    [ThreadStatic]
    private static Device? device;

    /// <summary>The device for new weights on this thread, or null for libtorch's default.</summary>
    public static Device? Device => device;

    /// <summary>Builds on <paramref name="target"/> on this thread until the result is disposed (which restores the previous device).</summary>
    internal static IDisposable On(Device target)
    {
        Device? previous = device;
        device = target;
        return new Restore(previous);
    }

    private sealed class Restore(Device? previous) : IDisposable
    {
        public void Dispose() => device = previous;
    }
}
