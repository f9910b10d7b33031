using System.Buffers.Binary;
using Ras.IO.Gguf;
using Ras.IO.Numerics;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.IO.Gguf;

/// <summary>
/// The vectorised dequantizers against the README's formulas evaluated element by element (<see cref="GgufReference"/>),
/// on random blocks whose f16 scales include the special values (subnormals, ±0, 65504, negative, ±inf, NaN), and the
/// narrow float decoders on every code.
/// </summary>
public sealed class GgufDequantizerTests : IDisposable
{
    private static readonly ushort[] SpecialHalves = [0x0001, 0x03FF, 0x0000, 0x8000, 0x7BFF, 0xFBFF, 0xBC00, 0x3C00, 0x7C00, 0xFC00, 0x7E00, 0x0400, 0x8001];

    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData(GgufTensorType.Q8_0, new[] { 0 })]
    [InlineData(GgufTensorType.Q4_0, new[] { 0 })]
    [InlineData(GgufTensorType.Q4_1, new[] { 0, 2 })]
    [InlineData(GgufTensorType.Q5_0, new[] { 0 })]
    [InlineData(GgufTensorType.Q5_1, new[] { 0, 2 })]
    [InlineData(GgufTensorType.Q2_K, new[] { 80, 82 })]
    [InlineData(GgufTensorType.Q3_K, new[] { 108 })]
    [InlineData(GgufTensorType.Q4_K, new[] { 0, 2 })]
    [InlineData(GgufTensorType.Q5_K, new[] { 0, 2 })]
    [InlineData(GgufTensorType.Q6_K, new[] { 208 })]
    [InlineData(GgufTensorType.F16, new int[0])]
    [InlineData(GgufTensorType.BF16, new int[0])]
    [InlineData(GgufTensorType.F32, new int[0])]
    public void Random_blocks_dequantize_exactly_as_the_formulas(GgufTensorType type, int[] halfOffsets)
    {
        int blockElements = GgufTensorTypes.BlockElements(type);
        int blockBytes = GgufTensorTypes.BlockBytes(type);
        int rowBlocks = blockElements == 1 ? 96 : 3;
        int rows = 40;
        var random = new Random((int)type);
        byte[] data = new byte[rows * rowBlocks * blockBytes];
        random.NextBytes(data);
        int block = 0;
        for (int at = 0; at < data.Length; at += blockBytes, block++)
        {
            foreach (int offset in halfOffsets)
            {
                // Every other block gets a special scale; the rest keep moderate finite scales (random exponents 2^-10..2^3).
                ushort half = block % 2 == 0
                    ? SpecialHalves[(block / 2 + offset) % SpecialHalves.Length]
                    : (ushort)(((random.Next(5, 19) << 10) | random.Next(1024)) | (random.Next(4) == 0 ? 0x8000 : 0));
                BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(at + offset), half);
            }
        }

        string path = new GgufWriter().Tensor("t", type, [rows, rowBlocks * blockElements], data).Write(temp.File($"{type}.gguf"));
        using var file = GgufFile.Open(path);
        using Tensor actual = file.Read("t");
        using Tensor expected = tensor(GgufReference.Dequantize(type, data)).reshape(rows, rowBlocks * blockElements);
        TensorAssert.Exact(expected, actual, type.ToString());
    }

    [Fact]
    public unsafe void Every_half_and_bfloat16_code_converts_exactly()
    {
        var codes = new ushort[65536];
        for (int i = 0; i < codes.Length; i++)
        {
            codes[i] = (ushort)i;
        }

        var half = new float[codes.Length];
        var brain = new float[codes.Length];
        fixed (ushort* source = codes)
        fixed (float* h = half, b = brain)
        {
            FloatDecoding.HalfToSingle(source, h, codes.Length);
            FloatDecoding.BFloat16ToSingle(source, b, codes.Length);
        }

        for (int i = 0; i < codes.Length; i++)
        {
            float expectedHalf = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            Assert.True(float.IsNaN(expectedHalf) ? float.IsNaN(half[i]) : BitConverter.SingleToUInt32Bits(expectedHalf) == BitConverter.SingleToUInt32Bits(half[i]), $"f16 0x{i:X4}");
            Assert.Equal((uint)i << 16, BitConverter.SingleToUInt32Bits(brain[i]));
        }
    }

    [Fact]
    public unsafe void Every_fp8_code_decodes_as_defined()
    {
        var codes = new byte[256 * 3];   // three rounds, so the vector path and the scalar tail both see every code
        for (int i = 0; i < codes.Length; i++)
        {
            codes[i] = (byte)i;
        }

        var e4m3 = new float[codes.Length];
        var e5m2 = new float[codes.Length];
        fixed (byte* source = codes)
        fixed (float* a = e4m3, b = e5m2)
        {
            FloatDecoding.E4M3ToSingle(source + 1, a + 1, codes.Length - 1);
            FloatDecoding.E5M2ToSingle(source + 1, b + 1, codes.Length - 1);
            FloatDecoding.E4M3ToSingle(source, a, 1);
            FloatDecoding.E5M2ToSingle(source, b, 1);
        }

        for (int i = 0; i < codes.Length; i++)
        {
            byte c = codes[i];
            AssertSame(E4M3Definition(c), e4m3[i], $"E4M3 0x{c:X2}");
            AssertSame(E5M2Definition(c), e5m2[i], $"E5M2 0x{c:X2}");
        }

        Assert.Equal(448f, FloatDecoding.E4M3(0x7E));
        Assert.Equal(57344f, FloatDecoding.E5M2(0x7B));
        Assert.True(float.IsNaN(FloatDecoding.E4M3(0x7F)) && float.IsNaN(FloatDecoding.E4M3(0xFF)));
        Assert.Equal(float.PositiveInfinity, FloatDecoding.E5M2(0x7C));
        Assert.Equal(float.NegativeInfinity, FloatDecoding.E5M2(0xFC));
        Assert.Equal(0x80000000u, BitConverter.SingleToUInt32Bits(FloatDecoding.E4M3(0x80)));
    }

    private static void AssertSame(double expected, float actual, string what) =>
        Assert.True(double.IsNaN(expected) ? float.IsNaN(actual) : BitConverter.SingleToUInt32Bits((float)expected) == BitConverter.SingleToUInt32Bits(actual),
            $"{what}: {actual:R}, expected {expected:R}");

    /// <summary>float8_e4m3fn from the definition: no infinities, NaN at 0x7F / 0xFF.</summary>
    private static double E4M3Definition(byte c)
    {
        int sign = c >> 7;
        int e = (c >> 3) & 15;
        int m = c & 7;
        if (e == 15 && m == 7)
        {
            return double.NaN;
        }

        double magnitude = e == 0 ? m / 8.0 * Math.Pow(2, -6) : (1 + m / 8.0) * Math.Pow(2, e - 7);
        return sign == 1 ? -magnitude : magnitude;
    }

    /// <summary>float8_e5m2 from the definition: IEEE-like, inf at exponent 31 with mantissa 0, NaN otherwise.</summary>
    private static double E5M2Definition(byte c)
    {
        int sign = c >> 7;
        int e = (c >> 2) & 31;
        int m = c & 3;
        double magnitude = e == 31 ? (m == 0 ? double.PositiveInfinity : double.NaN)
            : e == 0 ? m / 4.0 * Math.Pow(2, -14) : (1 + m / 4.0) * Math.Pow(2, e - 15);
        return sign == 1 ? -magnitude : magnitude;
    }
}
