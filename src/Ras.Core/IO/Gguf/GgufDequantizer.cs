using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Ras.IO.Numerics;

namespace Ras.IO.Gguf;

/// <summary>
/// Dequantizes ggml blocks to float32, vectorised with <see cref="Vector256"/> (8 floats per operation), exactly as
/// llama.cpp's <c>dequantize_row_*</c> / gguf-py's <c>quants.dequantize</c> define them.
/// </summary>
/// <remarks>
/// Every block type is handled the same way: its packed quants are unpacked 32 at a time into one vector of small
/// signed integers (byte arithmetic), then each run of 8 is widened to int32, converted to float and mapped to
/// <c>a × q + c</c>, with one <c>(a, c)</c> pair per sub-block: <c>a</c> is the (sub-)block scale (<c>d</c>, or
/// <c>d × sc</c> for the K types) and <c>c</c> the offset (<c>m</c>, or <c>−dmin × mn</c>; the symmetric types have
/// none and compute just <c>a × q</c>).
/// <c>a</c>, <c>c</c> and <c>a × q</c> are exact in float32 (products of an f16 and small integers), so the single
/// rounding is the final addition, as in the reference: the result is the reference's float32, bit for bit, whatever
/// the order of the products or whether they are fused. Sub-block scales are decoded with scalar code, once per block.
/// </remarks>
internal static unsafe class GgufDequantizer
{
    /// <summary>Byte <c>k</c> of entry <c>b</c> is 16 when bit <c>k</c> of <c>b</c> is set: a 5th quant bit, spread out.</summary>
    private static readonly ulong[] FifthBits = BuildFifthBits();

    /// <summary>Dequantizes <paramref name="elements"/> values (a whole number of blocks) of <paramref name="type"/>.</summary>
    public static void Dequantize(GgufTensorType type, byte* source, float* destination, long elements)
    {
        long blocks = elements / GgufTensorTypes.BlockElements(type);
        int size = GgufTensorTypes.BlockBytes(type);
        switch (type)
        {
            case GgufTensorType.F32:
                Buffer.MemoryCopy(source, destination, elements * 4, elements * 4);
                return;
            case GgufTensorType.F16:
                FloatDecoding.HalfToSingle((ushort*)source, destination, elements);
                return;
            case GgufTensorType.BF16:
                FloatDecoding.BFloat16ToSingle((ushort*)source, destination, elements);
                return;
        }

        delegate*<byte*, float*, void> block = type switch
        {
            GgufTensorType.Q8_0 => &Q8_0,
            GgufTensorType.Q4_0 => &Q4_0,
            GgufTensorType.Q4_1 => &Q4_1,
            GgufTensorType.Q5_0 => &Q5_0,
            GgufTensorType.Q5_1 => &Q5_1,
            GgufTensorType.Q2_K => &Q2_K,
            GgufTensorType.Q3_K => &Q3_K,
            GgufTensorType.Q4_K => &Q4_K,
            GgufTensorType.Q5_K => &Q5_K,
            GgufTensorType.Q6_K => &Q6_K,
            _ => throw new NotSupportedException($"no dequantizer for {type}"),
        };
        int step = GgufTensorTypes.BlockElements(type);
        for (long b = 0; b < blocks; b++)
        {
            block(source + b * size, destination + b * step);
        }
    }

    // ---- 32-element blocks ----

    private static void Q8_0(byte* p, float* y)
    {
        float d = F16(p);
        Emit32(Vector256.Load((sbyte*)(p + 2)), d, d, y);
    }

    private static void Q4_0(byte* p, float* y)
    {
        float d = F16(p);
        Emit32((Nibbles(p + 2) - Vector256.Create((byte)8)).AsSByte(), d, d, y);
    }

    private static void Q4_1(byte* p, float* y)
    {
        float d = F16(p);
        float m = F16(p + 2);
        Emit32(Nibbles(p + 4).AsSByte(), d, m, d, m, y);
    }

    private static void Q5_0(byte* p, float* y)
    {
        float d = F16(p);
        Vector256<byte> q = Nibbles(p + 6) | FifthBit(BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(p + 2, 4)));
        Emit32((q - Vector256.Create((byte)16)).AsSByte(), d, d, y);
    }

    private static void Q5_1(byte* p, float* y)
    {
        float d = F16(p);
        float m = F16(p + 2);
        Vector256<byte> q = Nibbles(p + 8) | FifthBit(BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(p + 4, 4)));
        Emit32(q.AsSByte(), d, m, d, m, y);
    }

    // ---- 256-element super-blocks ----

    /// <summary>scales[16] at 0, qs[64] at 16, d at 80, dmin at 82; 16 sub-blocks of 16 with 4-bit scale and min.</summary>
    private static void Q2_K(byte* p, float* y)
    {
        float d = F16(p + 80);
        float dmin = F16(p + 82);
        Span<float> a = stackalloc float[16];
        Span<float> c = stackalloc float[16];
        for (int s = 0; s < 16; s++)
        {
            a[s] = d * (p[s] & 15);
            c[s] = -(dmin * (p[s] >> 4));
        }

        for (int h = 0; h < 2; h++)
        {
            Vector256<byte> qs = Vector256.Load(p + 16 + 32 * h);
            for (int j = 0; j < 4; j++)
            {
                int s = 8 * h + 2 * j;
                Emit32((Shr(qs, 2 * j) & Vector256.Create((byte)3)).AsSByte(), a[s], c[s], a[s + 1], c[s + 1], y + 128 * h + 32 * j);
            }
        }
    }

    /// <summary>hmask[32] at 0, qs[64] at 32, scales[12] at 96, d at 108; 16 sub-blocks of 16 with signed 6-bit scales.</summary>
    private static void Q3_K(byte* p, float* y)
    {
        float d = F16(p + 108);
        byte* b = p + 96;
        Span<float> a = stackalloc float[16];
        for (int s = 0; s < 16; s++)
        {
            int low = s < 8 ? b[s] & 15 : b[s - 8] >> 4;
            int high = (b[8 + s % 4] >> (2 * (s / 4))) & 3;
            a[s] = d * ((low | high << 4) - 32);
        }

        Vector256<byte> hmask = Vector256.Load(p);
        for (int h = 0; h < 2; h++)
        {
            Vector256<byte> qs = Vector256.Load(p + 32 + 32 * h);
            for (int j = 0; j < 4; j++)
            {
                // q = low 2 bits − 4 when the high-mask bit is 0, else the low 2 bits: −4..3.
                Vector256<byte> low = Shr(qs, 2 * j) & Vector256.Create((byte)3);
                Vector256<byte> high = Shl(Shr(hmask, 4 * h + j) & Vector256.Create((byte)1), 2);
                int s = 8 * h + 2 * j;
                Emit32((low + high - Vector256.Create((byte)4)).AsSByte(), a[s], a[s + 1], y + 128 * h + 32 * j);
            }
        }
    }

    /// <summary>d at 0, dmin at 2, scales[12] at 4, qs[128] at 16; 8 sub-blocks of 32 with 6-bit scales and mins.</summary>
    private static void Q4_K(byte* p, float* y)
    {
        Span<float> a = stackalloc float[8];
        Span<float> c = stackalloc float[8];
        KScales(p, a, c);
        for (int k = 0; k < 4; k++)
        {
            Vector256<byte> qs = Vector256.Load(p + 16 + 32 * k);
            int s = 2 * k;
            Emit32((qs & Vector256.Create((byte)15)).AsSByte(), a[s], c[s], a[s], c[s], y + 64 * k);
            Emit32((Shr(qs, 4) & Vector256.Create((byte)15)).AsSByte(), a[s + 1], c[s + 1], a[s + 1], c[s + 1], y + 64 * k + 32);
        }
    }

    /// <summary>d at 0, dmin at 2, scales[12] at 4, qh[32] at 16, qs[128] at 48; as Q4_K plus a 5th bit from qh.</summary>
    private static void Q5_K(byte* p, float* y)
    {
        Span<float> a = stackalloc float[8];
        Span<float> c = stackalloc float[8];
        KScales(p, a, c);
        Vector256<byte> qh = Vector256.Load(p + 16);
        for (int k = 0; k < 4; k++)
        {
            Vector256<byte> qs = Vector256.Load(p + 48 + 32 * k);
            int s = 2 * k;
            Vector256<byte> low = (qs & Vector256.Create((byte)15)) | Shl(Shr(qh, s) & Vector256.Create((byte)1), 4);
            Vector256<byte> high = (Shr(qs, 4) & Vector256.Create((byte)15)) | Shl(Shr(qh, s + 1) & Vector256.Create((byte)1), 4);
            Emit32(low.AsSByte(), a[s], c[s], a[s], c[s], y + 64 * k);
            Emit32(high.AsSByte(), a[s + 1], c[s + 1], a[s + 1], c[s + 1], y + 64 * k + 32);
        }
    }

    /// <summary>ql[128] at 0, qh[64] at 128, int8 scales[16] at 192, d at 208; 16 sub-blocks of 16, 6-bit quants − 32.</summary>
    private static void Q6_K(byte* p, float* y)
    {
        float d = F16(p + 208);
        Span<float> a = stackalloc float[16];
        for (int s = 0; s < 16; s++)
        {
            a[s] = d * (sbyte)p[192 + s];
        }

        for (int h = 0; h < 2; h++)
        {
            Vector256<byte> qh = Vector256.Load(p + 128 + 32 * h);
            for (int j = 0; j < 4; j++)
            {
                Vector256<byte> ql = Vector256.Load(p + 64 * h + 32 * (j % 2));
                Vector256<byte> low = Shr(ql, 4 * (j / 2)) & Vector256.Create((byte)15);
                Vector256<byte> high = Shl(Shr(qh, 2 * j) & Vector256.Create((byte)3), 4);
                int s = 8 * h + 2 * j;
                Emit32(((low | high) - Vector256.Create((byte)32)).AsSByte(), a[s], a[s + 1], y + 128 * h + 32 * j);
            }
        }
    }

    // ---- helpers ----

    /// <summary>Q4_K/Q5_K: the 8 six-bit scales and mins packed in the 12 bytes at 4, as <c>d × sc</c> and <c>−dmin × mn</c>.</summary>
    private static void KScales(byte* p, Span<float> a, Span<float> c)
    {
        float d = F16(p);
        float dmin = F16(p + 2);
        byte* b = p + 4;
        for (int s = 0; s < 8; s++)
        {
            int scale = s < 4 ? b[s] & 63 : (b[s + 4] & 15) | (b[s - 4] >> 6) << 4;
            int min = s < 4 ? b[s + 4] & 63 : (b[s + 4] >> 4) | (b[s] >> 6) << 4;
            a[s] = d * scale;
            c[s] = -(dmin * min);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float F16(byte* p) => FloatDecoding.Half((ushort)(p[0] | p[1] << 8));

    /// <summary>16 packed bytes: low nibbles are elements 0–15, high nibbles 16–31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Nibbles(byte* p)
    {
        Vector128<byte> packed = Vector128.Load(p);
        Vector128<byte> low = packed & Vector128.Create((byte)15);
        Vector128<byte> high = Vector128.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & Vector128.Create((byte)15);
        return Vector256.Create(low, high);
    }

    /// <summary>Bit i of <paramref name="qh"/> as the value 16 in byte i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> FifthBit(uint qh) =>
        Vector256.Create(FifthBits[qh & 0xFF], FifthBits[(qh >> 8) & 0xFF], FifthBits[(qh >> 16) & 0xFF], FifthBits[qh >> 24]).AsByte();

    // Byte shifts through 16-bit lanes: every caller masks the result to bits that came from the same byte.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Shr(Vector256<byte> v, int bits) => Vector256.ShiftRightLogical(v.AsUInt16(), bits).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Shl(Vector256<byte> v, int bits) => Vector256.ShiftLeft(v.AsUInt16(), bits).AsByte();

    /// <summary>32 quants → <c>a0 × q + c0</c> for elements 0–15 and <c>a1 × q + c1</c> for 16–31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Emit32(Vector256<sbyte> q, float a0, float c0, float a1, float c1, float* y)
    {
        var (first, second) = Vector256.Widen(q);
        var (q0, q1) = Vector256.Widen(first);
        var (q2, q3) = Vector256.Widen(second);
        Vector256<float> scale0 = Vector256.Create(a0);
        Vector256<float> offset0 = Vector256.Create(c0);
        Vector256<float> scale1 = Vector256.Create(a1);
        Vector256<float> offset1 = Vector256.Create(c1);
        Vector256.Store(Vector256.ConvertToSingle(q0) * scale0 + offset0, y);
        Vector256.Store(Vector256.ConvertToSingle(q1) * scale0 + offset0, y + 8);
        Vector256.Store(Vector256.ConvertToSingle(q2) * scale1 + offset1, y + 16);
        Vector256.Store(Vector256.ConvertToSingle(q3) * scale1 + offset1, y + 24);
    }

    /// <summary>32 quants → <c>a0 × q</c> for elements 0–15 and <c>a1 × q</c> for 16–31 (the symmetric types: no offset to add).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Emit32(Vector256<sbyte> q, float a0, float a1, float* y)
    {
        var (first, second) = Vector256.Widen(q);
        var (q0, q1) = Vector256.Widen(first);
        var (q2, q3) = Vector256.Widen(second);
        Vector256<float> scale0 = Vector256.Create(a0);
        Vector256<float> scale1 = Vector256.Create(a1);
        Vector256.Store(Vector256.ConvertToSingle(q0) * scale0, y);
        Vector256.Store(Vector256.ConvertToSingle(q1) * scale0, y + 8);
        Vector256.Store(Vector256.ConvertToSingle(q2) * scale1, y + 16);
        Vector256.Store(Vector256.ConvertToSingle(q3) * scale1, y + 24);
    }

    private static ulong[] BuildFifthBits()
    {
        var table = new ulong[256];
        for (int b = 0; b < 256; b++)
        {
            for (int k = 0; k < 8; k++)
            {
                table[b] |= (ulong)(((b >> k) & 1) << 4) << (8 * k);
            }
        }

        return table;
    }
}
