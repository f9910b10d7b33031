using Ras.IO.Gguf;

namespace Ras.Tests.TestSupport;

/// <summary>
/// Element-by-element dequantization written straight from the fixtures' README formulas (scalar, in float32, one
/// element at a time): the reference the vectorised kernels are checked against on random blocks.
/// </summary>
public static class GgufReference
{
    public static float[] Dequantize(GgufTensorType type, byte[] data)
    {
        int block = GgufTensorTypes.BlockElements(type);
        int size = GgufTensorTypes.BlockBytes(type);
        int blocks = data.Length / size;
        var y = new float[blocks * block];
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> p = data.AsSpan(b * size, size);
            for (int i = 0; i < block; i++)
            {
                y[b * block + i] = Element(type, p, i);
            }
        }

        return y;
    }

    private static float F16(ReadOnlySpan<byte> p, int o) => (float)BitConverter.UInt16BitsToHalf((ushort)(p[o] | p[o + 1] << 8));

    private static float Element(GgufTensorType type, ReadOnlySpan<byte> p, int i)
    {
        switch (type)
        {
            case GgufTensorType.F32: return BitConverter.ToSingle(p);
            case GgufTensorType.F16: return F16(p, 0);
            case GgufTensorType.BF16: return BitConverter.UInt32BitsToSingle((uint)(p[0] | p[1] << 8) << 16);
            case GgufTensorType.Q8_0: return F16(p, 0) * (sbyte)p[2 + i];
            case GgufTensorType.Q4_0: return F16(p, 0) * (Nibble(p[2..], i) - 8);
            case GgufTensorType.Q4_1: return F16(p, 0) * Nibble(p[4..], i) + F16(p, 2);
            case GgufTensorType.Q5_0: return F16(p, 0) * ((Nibble(p[6..], i) | QhBit(p[2..], i) << 4) - 16);
            case GgufTensorType.Q5_1: return F16(p, 0) * (Nibble(p[8..], i) | QhBit(p[4..], i) << 4) + F16(p, 2);
            case GgufTensorType.Q2_K:
            {
                int s = i / 16;
                int q = (p[16 + 32 * (i / 128) + i % 32] >> (2 * (i % 128 / 32))) & 3;
                return F16(p, 80) * (p[s] & 15) * q - F16(p, 82) * (p[s] >> 4);
            }

            case GgufTensorType.Q3_K:
            {
                int s = i / 16;
                ReadOnlySpan<byte> b = p.Slice(96, 12);
                int low = s < 8 ? b[s] & 15 : b[s - 8] >> 4;
                int high = (b[8 + s % 4] >> (2 * (s / 4))) & 3;
                int sc = (low | high << 4) - 32;
                int ql = (p[32 + 32 * (i / 128) + i % 32] >> (2 * (i % 128 / 32))) & 3;
                int hbit = (p[i % 32] >> (i / 32)) & 1;
                int q = hbit == 0 ? ql - 4 : ql;
                return F16(p, 108) * sc * q;
            }

            case GgufTensorType.Q4_K:
            case GgufTensorType.Q5_K:
            {
                int s = i / 32;
                var (sc, mn) = KScale(p.Slice(4, 12), s);
                int qsAt = type == GgufTensorType.Q4_K ? 16 : 48;
                int q = (p[qsAt + 32 * (s / 2) + i % 32] >> (4 * (s % 2))) & 15;
                if (type == GgufTensorType.Q5_K)
                {
                    q |= ((p[16 + i % 32] >> s) & 1) << 4;
                }

                return F16(p, 0) * sc * q - F16(p, 2) * mn;
            }

            case GgufTensorType.Q6_K:
            {
                int h = i / 128;
                int r = i % 128;
                int low = (p[64 * h + r % 64] >> (4 * (r / 64))) & 15;
                int high = (p[128 + 32 * h + i % 32] >> (2 * (r / 32))) & 3;
                int q = (low | high << 4) - 32;
                return F16(p, 208) * (sbyte)p[192 + i / 16] * q;
            }

            default: throw new NotSupportedException(type.ToString());
        }
    }

    private static int Nibble(ReadOnlySpan<byte> qs, int i) => i < 16 ? qs[i] & 15 : qs[i - 16] >> 4;

    private static int QhBit(ReadOnlySpan<byte> qh, int i) => (int)((BitConverter.ToUInt32(qh) >> i) & 1);

    private static (int Scale, int Min) KScale(ReadOnlySpan<byte> b, int s) => s < 4
        ? (b[s] & 63, b[s + 4] & 63)
        : ((b[s + 4] & 15) | (b[s - 4] >> 6) << 4, (b[s + 4] >> 4) | (b[s] >> 6) << 4);
}
