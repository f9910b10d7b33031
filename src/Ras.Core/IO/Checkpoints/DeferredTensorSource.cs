using static TorchSharp.torch;

namespace Ras.IO.Checkpoints;

/// <summary>
/// A source that binds some destinations later: a copy into a tensor <paramref name="defer"/> selects is not made but
/// recorded (source key → destination), so a strict binder checks every key and shape while block weights stay in the
/// checkpoint, to be read at use (<see cref="ModelLoader"/>, quantized storage).
/// </summary>
internal sealed class DeferredTensorSource(ITensorSource source, Func<Tensor, bool> defer) : ITensorSource
{
    /// <summary>Destination handle → the source key it is read from.</summary>
    public Dictionary<IntPtr, string> Deferred { get; } = [];

    public string Source => source.Source;

    public IEnumerable<string> Keys => source.Keys;

    public bool Contains(string key) => source.Contains(key);

    public long[] ShapeOf(string key) => source.ShapeOf(key);

    public ScalarType DTypeOf(string key) => source.DTypeOf(key);

    public void CopyInto(string key, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (defer(destination))
        {
            Deferred[destination.Handle] = key;
            return;
        }

        source.CopyInto(key, destination);
    }

    public void CopyRowsInto(string key, long start, Tensor destination) => source.CopyRowsInto(key, start, destination);

    public string? FormatOf(string key) => source.FormatOf(key);

    public IDisposable? Retain(bool keepPagesMapped = true) => source.Retain(keepPagesMapped);
}
