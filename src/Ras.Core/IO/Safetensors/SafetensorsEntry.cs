using TorchSharp;

namespace Ras.IO.Safetensors;

/// <summary>One tensor's header entry: dtype, shape and byte range within the data section.</summary>
/// <param name="Name">The tensor's key.</param>
/// <param name="DType">Its stored dtype.</param>
/// <param name="Shape">Its shape (empty for a scalar).</param>
/// <param name="Begin">First byte, relative to the start of the data section.</param>
/// <param name="End">One past the last byte, relative to the start of the data section.</param>
public sealed record SafetensorsEntry(string Name, torch.ScalarType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of bytes the tensor occupies.</summary>
    public long ByteLength => End - Begin;

    /// <summary>Number of elements (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Shape as <c>[a, b, c]</c>, for messages.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}
