using TorchSharp;

namespace Ras.IO.Safetensors;

/// <summary>One tensor's header entry: dtype, shape and byte range within the data section.</summary>
/// <param name="Name">The tensor's key.</param>
/// <param name="DType">The torch dtype it reads as: the stored dtype, or for fp8 (which TorchSharp lacks) bfloat16, which holds every fp8 value exactly.</param>
/// <param name="Shape">Its shape (empty for a scalar).</param>
/// <param name="Begin">First byte, relative to the start of the data section.</param>
/// <param name="End">One past the last byte, relative to the start of the data section.</param>
/// <param name="StoredDType">The dtype name in the header (<c>F32</c>, <c>BF16</c>, <c>F8_E4M3</c>, …).</param>
public sealed record SafetensorsEntry(string Name, torch.ScalarType DType, long[] Shape, long Begin, long End, string StoredDType)
{
    /// <summary>Number of bytes the tensor occupies.</summary>
    public long ByteLength => End - Begin;

    /// <summary>Number of elements (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Shape as <c>[a, b, c]</c>, for messages.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    /// <summary>True for the fp8 dtypes, whose bytes are decoded rather than copied.</summary>
    public bool IsFloat8 => StoredDType is "F8_E4M3" or "F8_E5M2";
}
