using static TorchSharp.torch;

namespace Ras.IO.Checkpoints;

/// <summary>How one tensor is stored in its file, for listings (<c>ras info</c>) and conversion.</summary>
/// <param name="Name">The key, exactly as stored.</param>
/// <param name="Format">The stored type's name: a safetensors dtype (<c>F32</c>, <c>BF16</c>, <c>F8_E4M3</c>, …) or a GGUF type (<c>Q4_K</c>, …).</param>
/// <param name="Shape">The row-major (PyTorch) shape.</param>
/// <param name="ByteLength">Bytes the data occupies in the file.</param>
/// <param name="DType">The narrowest torch dtype that holds every stored value exactly (float32 for the quantized types).</param>
public sealed record StoredTensor(string Name, string Format, long[] Shape, long ByteLength, ScalarType DType)
{
    /// <summary>Number of elements (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
