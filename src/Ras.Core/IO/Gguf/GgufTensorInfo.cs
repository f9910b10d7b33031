namespace Ras.IO.Gguf;

/// <summary>One tensor's info record, validated against the file.</summary>
/// <param name="Name">The tensor's name (the checkpoint key).</param>
/// <param name="Type">Its ggml type.</param>
/// <param name="Ne">Element counts as stored, innermost (the row) first.</param>
/// <param name="Offset">Byte offset of its data, relative to the start of the data section.</param>
/// <param name="ByteLength">Bytes its data occupies: elements / block size × block bytes.</param>
public sealed record GgufTensorInfo(string Name, GgufTensorType Type, long[] Ne, long Offset, long ByteLength)
{
    /// <summary>The PyTorch / numpy (row-major) shape: <see cref="Ne"/> reversed, with as many dims as stored.</summary>
    public long[] Shape => [.. Ne.Reverse()];

    /// <summary>Number of elements.</summary>
    public long ElementCount => Ne.Aggregate(1L, (a, b) => a * b);

    /// <summary>Shape as <c>[a, b, c]</c>, for messages.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}
