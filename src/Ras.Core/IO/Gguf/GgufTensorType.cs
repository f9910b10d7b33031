namespace Ras.IO.Gguf;

/// <summary>ggml tensor types by their GGUF id (<c>enum ggml_type</c> in llama.cpp's <c>ggml.h</c>).</summary>
#pragma warning disable CA1707 // The ggml names (Q4_K, IQ2_XXS, …) are what users read in file listings.
public enum GgufTensorType
{
    /// <summary>IEEE binary32.</summary>
    F32 = 0,

    /// <summary>IEEE binary16.</summary>
    F16 = 1,

    /// <summary>32-element blocks: f16 scale, 4-bit quants, offset 8.</summary>
    Q4_0 = 2,

    /// <summary>32-element blocks: f16 scale and min, 4-bit quants.</summary>
    Q4_1 = 3,

    /// <summary>32-element blocks: f16 scale, 5-bit quants, offset 16.</summary>
    Q5_0 = 6,

    /// <summary>32-element blocks: f16 scale and min, 5-bit quants.</summary>
    Q5_1 = 7,

    /// <summary>32-element blocks: f16 scale, int8 quants.</summary>
    Q8_0 = 8,

    /// <summary>An activation format (not read).</summary>
    Q8_1 = 9,

    /// <summary>256-element super-blocks, 2-bit quants with 4-bit scales and mins.</summary>
    Q2_K = 10,

    /// <summary>256-element super-blocks, 3-bit quants with signed 6-bit scales.</summary>
    Q3_K = 11,

    /// <summary>256-element super-blocks, 4-bit quants with 6-bit scales and mins.</summary>
    Q4_K = 12,

    /// <summary>256-element super-blocks, 5-bit quants with 6-bit scales and mins.</summary>
    Q5_K = 13,

    /// <summary>256-element super-blocks, 6-bit quants with int8 scales.</summary>
    Q6_K = 14,

    /// <summary>An intermediate format of the quantizer (not read).</summary>
    Q8_K = 15,

    /// <summary>Not read (an importance-matrix type).</summary>
    IQ2_XXS = 16,

    /// <summary>Not read.</summary>
    IQ2_XS = 17,

    /// <summary>Not read.</summary>
    IQ3_XXS = 18,

    /// <summary>Not read.</summary>
    IQ1_S = 19,

    /// <summary>Not read.</summary>
    IQ4_NL = 20,

    /// <summary>Not read.</summary>
    IQ3_S = 21,

    /// <summary>Not read.</summary>
    IQ2_S = 22,

    /// <summary>Not read.</summary>
    IQ4_XS = 23,

    /// <summary>Not read (integer data).</summary>
    I8 = 24,

    /// <summary>Not read (integer data).</summary>
    I16 = 25,

    /// <summary>Not read (integer data).</summary>
    I32 = 26,

    /// <summary>Not read (integer data).</summary>
    I64 = 27,

    /// <summary>Not read.</summary>
    F64 = 28,

    /// <summary>Not read.</summary>
    IQ1_M = 29,

    /// <summary>bfloat16: the upper 16 bits of an IEEE binary32.</summary>
    BF16 = 30,

    /// <summary>Not read (ternary).</summary>
    TQ1_0 = 34,

    /// <summary>Not read (ternary).</summary>
    TQ2_0 = 35,
}
#pragma warning restore CA1707

/// <summary>Block geometry of each type and whether this reader dequantizes it.</summary>
public static class GgufTensorTypes
{
    private static readonly Dictionary<GgufTensorType, (int BlockElements, int BlockBytes, bool Supported)> Table = new()
    {
        [GgufTensorType.F32] = (1, 4, true),
        [GgufTensorType.F16] = (1, 2, true),
        [GgufTensorType.BF16] = (1, 2, true),
        [GgufTensorType.Q4_0] = (32, 18, true),
        [GgufTensorType.Q4_1] = (32, 20, true),
        [GgufTensorType.Q5_0] = (32, 22, true),
        [GgufTensorType.Q5_1] = (32, 24, true),
        [GgufTensorType.Q8_0] = (32, 34, true),
        [GgufTensorType.Q8_1] = (32, 40, false),
        [GgufTensorType.Q2_K] = (256, 84, true),
        [GgufTensorType.Q3_K] = (256, 110, true),
        [GgufTensorType.Q4_K] = (256, 144, true),
        [GgufTensorType.Q5_K] = (256, 176, true),
        [GgufTensorType.Q6_K] = (256, 210, true),
        [GgufTensorType.Q8_K] = (256, 292, false),
        [GgufTensorType.IQ2_XXS] = (256, 66, false),
        [GgufTensorType.IQ2_XS] = (256, 74, false),
        [GgufTensorType.IQ3_XXS] = (256, 98, false),
        [GgufTensorType.IQ1_S] = (256, 50, false),
        [GgufTensorType.IQ4_NL] = (32, 18, false),
        [GgufTensorType.IQ3_S] = (256, 110, false),
        [GgufTensorType.IQ2_S] = (256, 82, false),
        [GgufTensorType.IQ4_XS] = (256, 136, false),
        [GgufTensorType.I8] = (1, 1, false),
        [GgufTensorType.I16] = (1, 2, false),
        [GgufTensorType.I32] = (1, 4, false),
        [GgufTensorType.I64] = (1, 8, false),
        [GgufTensorType.F64] = (1, 8, false),
        [GgufTensorType.IQ1_M] = (256, 56, false),
        [GgufTensorType.TQ1_0] = (256, 54, false),
        [GgufTensorType.TQ2_0] = (256, 66, false),
    };

    /// <summary>The types this reader dequantizes, for messages.</summary>
    public static string SupportedNames => string.Join(", ", Table.Where(t => t.Value.Supported).Select(t => t.Key.ToString()));

    /// <summary>True when <paramref name="id"/> is a ggml type id this reader knows (read or not).</summary>
    public static bool IsKnown(uint id) => id <= int.MaxValue && Table.ContainsKey((GgufTensorType)id);

    /// <summary>True when tensors of <paramref name="type"/> can be dequantized.</summary>
    public static bool IsSupported(GgufTensorType type) => Table.TryGetValue(type, out var t) && t.Supported;

    /// <summary>Elements per block (1 for the float types).</summary>
    public static int BlockElements(GgufTensorType type) => Table[type].BlockElements;

    /// <summary>Bytes per block.</summary>
    public static int BlockBytes(GgufTensorType type) => Table[type].BlockBytes;

    /// <summary>True for the block-quantized types (everything but F32, F16 and BF16).</summary>
    public static bool IsQuantized(GgufTensorType type) => type is not (GgufTensorType.F32 or GgufTensorType.F16 or GgufTensorType.BF16);
}
