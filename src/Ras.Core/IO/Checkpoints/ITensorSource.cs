using Ras.IO.Safetensors;
using static TorchSharp.torch;

namespace Ras.IO.Checkpoints;

/// <summary>
/// Named tensors a module can be loaded from: a checkpoint as stored (<see cref="TensorStore"/>) or a view of a
/// foreign layout converted on the fly (<see cref="MappedTensorSource"/>). Tensors are produced one at a time.
/// </summary>
public interface ITensorSource
{
    /// <summary>For messages: the file or folder the tensors come from.</summary>
    string Source { get; }

    /// <summary>Every key.</summary>
    IEnumerable<string> Keys { get; }

    /// <summary>True when <paramref name="key"/> exists.</summary>
    bool Contains(string key);

    /// <summary>Shape of <paramref name="key"/>.</summary>
    long[] ShapeOf(string key);

    /// <summary>Stored dtype of <paramref name="key"/>.</summary>
    ScalarType DTypeOf(string key);

    /// <summary>Copies <paramref name="key"/> into <paramref name="destination"/> (same shape, any dtype/device).</summary>
    void CopyInto(string key, Tensor destination);

    /// <summary>
    /// Copies rows <paramref name="start"/> … <paramref name="start"/> + <c>destination.shape[0]</c> − 1 (along dim 0) of
    /// <paramref name="key"/> into <paramref name="destination"/>: a fused projection's part. The default reads the whole
    /// tensor; sources that can address rows (GGUF) read only those.
    /// </summary>
    void CopyRowsInto(string key, long start, Tensor destination) => TensorRows.CopyViaWhole(this, key, start, destination);

    /// <summary>
    /// How <paramref name="key"/> is stored in its file — a GGUF type (<c>Q8_0</c>, <c>Q4_K</c>, …) or a safetensors dtype
    /// (<c>BF16</c>, <c>F8_E4M3</c>, …) — or null when the source does not know (a tensor supplied by rule).
    /// </summary>
    string? FormatOf(string key) => null;

    /// <summary>
    /// Keeps the underlying files open and readable after this source is disposed, until the returned lease is disposed,
    /// so weights can be read at use (<see cref="WeightStorage.Stored"/> for quantized and fp8 files); null when the source
    /// cannot. With <paramref name="keepPagesMapped"/> the pages those reads use stay mapped while the lease is held
    /// (weights read at every step); without, each read releases its pages (weights read about once).
    /// </summary>
    IDisposable? Retain(bool keepPagesMapped = true) => null;
}

/// <summary>Row ranges of a tensor through <see cref="ITensorSource.CopyInto"/> alone.</summary>
public static class TensorRows
{
    /// <summary>Reads all of <paramref name="key"/> and copies the rows <paramref name="destination"/> takes, from <paramref name="start"/>.</summary>
    public static void CopyViaWhole(ITensorSource source, string key, long start, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        using var noGrad = no_grad();
        using Tensor whole = empty(source.ShapeOf(key), source.DTypeOf(key));
        source.CopyInto(key, whole);
        using Tensor part = whole.narrow(0, start, destination.shape[0]);
        destination.copy_(part);
    }
}
