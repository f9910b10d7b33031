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
}
