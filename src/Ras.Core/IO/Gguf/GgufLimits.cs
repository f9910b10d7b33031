namespace Ras.IO.Gguf;

/// <summary>
/// What a GGUF header may claim before it is refused as corrupt or hostile. Each count and length is checked against
/// these caps and against the bytes left in the file before anything is allocated for it, so a header cannot make the
/// reader allocate much more than the file's own size.
/// </summary>
public static class GgufLimits
{
    /// <summary>Most tensors a file may declare (real image and language models have a few thousand).</summary>
    public const long MaxTensors = 65_536;

    /// <summary>Most metadata pairs a file may declare.</summary>
    public const long MaxKeyValues = 65_536;

    /// <summary>Longest key or tensor name, in bytes (llama.cpp allows 63, ComfyUI-GGUF 127).</summary>
    public const long MaxNameBytes = 65_535;

    /// <summary>Longest string value, in bytes.</summary>
    public const long MaxStringBytes = 64L << 20;

    /// <summary>Most elements of one array value (a large language model's vocabulary has ~256 k).</summary>
    public const long MaxArrayElements = 1L << 24;

    /// <summary>Most array elements in all metadata together.</summary>
    public const long MaxTotalArrayElements = 1L << 25;

    /// <summary>Deepest nesting of arrays in arrays (llama.cpp allows none).</summary>
    public const int MaxArrayDepth = 8;

    /// <summary>Most dimensions of a tensor (<c>GGML_MAX_DIMS</c>).</summary>
    public const int MaxDims = 4;
}
