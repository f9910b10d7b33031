using System.Buffers.Binary;
using Ras.IO.Gguf;

namespace Ras.Tests.TestSupport;

/// <summary>
/// Quantizes float32 rows into ggml blocks, following the block layouts of the fixtures' README (simple round-to-nearest
/// quantizers: valid blocks whose dequantization is close to the input; not llama.cpp's error-minimising search).
/// </summary>
public static class GgufQuantizer
{
    /// <summary>The bytes of <paramref name="values"/> (rows of <paramref name="rowLength"/>) as <paramref name="type"/>.</summary>
    public static byte[] Quantize(GgufTensorType type, float[] values, long rowLength)
    {
        int block = GgufTensorTypes.BlockElements(type);
        if (rowLength % block != 0 || values.Length % block != 0)
        {
            throw new ArgumentException($"rows of {rowLength} are not whole {type} blocks of {block}");
        }

        int blocks = values.Length / block;
        int size = GgufTensorTypes.BlockBytes(type);
        var bytes = new byte[blocks * size];
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<float> x = values.AsSpan(b * block, block);
            Span<byte> o = bytes.AsSpan(b * size, size);
            switch (type)
            {
                case GgufTensorType.F32: BinaryPrimitives.WriteSingleLittleEndian(o, x[0]); break;
                case GgufTensorType.F16: BinaryPrimitives.WriteHalfLittleEndian(o, (Half)x[0]); break;
                case GgufTensorType.BF16: BinaryPrimitives.WriteUInt16LittleEndian(o, BFloat16(x[0])); break;
                case GgufTensorType.Q8_0: Q8_0(x, o); break;
                case GgufTensorType.Q4_0: Q4_0(x, o); break;
                case GgufTensorType.Q4_K: Q4_K(x, o); break;
                default: throw new NotSupportedException($"no test quantizer for {type}");
            }
        }

        return bytes;
    }

    /// <summary>Round to nearest even bfloat16 (finite inputs).</summary>
    public static ushort BFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    private static void Q8_0(ReadOnlySpan<float> x, Span<byte> o)
    {
        float amax = Max(x, Math.Abs);
        Half d = (Half)(amax / 127f);
        BinaryPrimitives.WriteHalfLittleEndian(o, d);
        float inverse = (float)d == 0 ? 0 : 1f / (float)d;
        for (int i = 0; i < 32; i++)
        {
            o[2 + i] = (byte)(sbyte)Math.Clamp(MathF.Round(x[i] * inverse), -127, 127);
        }
    }

    private static void Q4_0(ReadOnlySpan<float> x, Span<byte> o)
    {
        float amax = Max(x, Math.Abs);
        Half d = (Half)(amax / 7f);
        BinaryPrimitives.WriteHalfLittleEndian(o, d);
        float inverse = (float)d == 0 ? 0 : 1f / (float)d;
        for (int j = 0; j < 16; j++)
        {
            int low = Math.Clamp((int)MathF.Round(x[j] * inverse) + 8, 0, 15);
            int high = Math.Clamp((int)MathF.Round(x[j + 16] * inverse) + 8, 0, 15);
            o[2 + j] = (byte)(low | high << 4);
        }
    }

    /// <summary>y = d·sc·q − dmin·mn per 32-element sub-block: sc, mn 6-bit, q 4-bit.</summary>
    private static void Q4_K(ReadOnlySpan<float> x, Span<byte> o)
    {
        var scale = new float[8];
        var offset = new float[8];
        for (int s = 0; s < 8; s++)
        {
            ReadOnlySpan<float> sub = x.Slice(32 * s, 32);
            float min = -Max(sub, v => -v);   // min(0, smallest)
            float max = Max(sub, v => v);
            offset[s] = -min;
            scale[s] = (max - min) / 15f;
        }

        Half d = (Half)(scale.Max() / 63f);
        Half dmin = (Half)(offset.Max() / 63f);
        BinaryPrimitives.WriteHalfLittleEndian(o, d);
        BinaryPrimitives.WriteHalfLittleEndian(o[2..], dmin);
        var sc = new int[8];
        var mn = new int[8];
        for (int s = 0; s < 8; s++)
        {
            sc[s] = (float)d == 0 ? 0 : Math.Clamp((int)MathF.Round(scale[s] / (float)d), 0, 63);
            mn[s] = (float)dmin == 0 ? 0 : Math.Clamp((int)MathF.Round(offset[s] / (float)dmin), 0, 63);
        }

        Span<byte> b = o.Slice(4, 12);
        for (int s = 0; s < 4; s++)
        {
            b[s] = (byte)((sc[s] & 63) | (sc[s + 4] >> 4) << 6);
            b[s + 4] = (byte)((mn[s] & 63) | (mn[s + 4] >> 4) << 6);
            b[s + 8] = (byte)((sc[s + 4] & 15) | (mn[s + 4] & 15) << 4);
        }

        for (int s = 0; s < 8; s++)
        {
            float a = (float)d * sc[s];
            float c = (float)dmin * mn[s];
            for (int l = 0; l < 32; l++)
            {
                int q = a == 0 ? 0 : Math.Clamp((int)MathF.Round((x[32 * s + l] + c) / a), 0, 15);
                int at = 16 + 32 * (s / 2) + l;
                o[at] = (byte)(s % 2 == 0 ? (o[at] & 0xF0) | q : (o[at] & 0x0F) | q << 4);
            }
        }
    }

    private static float Max(ReadOnlySpan<float> x, Func<float, float> f)
    {
        float m = 0;
        foreach (float v in x)
        {
            m = Math.Max(m, f(v));
        }

        return m;
    }
}
