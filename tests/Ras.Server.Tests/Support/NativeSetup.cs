using System.Runtime.CompilerServices;
using Ras.Native;

namespace Ras.Server.Tests.Support;

/// <summary>Tests may call TorchSharp before touching any Ras.Core type; make the native fix run first.</summary>
internal static class NativeSetup
{
#pragma warning disable CA2255 // The test assembly's entry point: runs before any test touches TorchSharp.
    [ModuleInitializer]
    internal static void Initialize() => TorchNative.EnsureLoadable();
#pragma warning restore CA2255
}
