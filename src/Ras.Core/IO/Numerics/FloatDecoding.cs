using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Ras.IO.Numerics;

/// <summary>
/// Exact conversions of the narrow float formats checkpoints store (IEEE binary16, bfloat16, and the two fp8 formats
/// PyTorch calls <c>float8_e4m3fn</c> and <c>float8_e5m2</c>) to float32, vectorised. Every value of these formats is
/// a float32, so each conversion is exact, subnormals, signed zeros, infinities and NaN included.
/// </summary>
/// <remarks>
/// The vector paths use the classic exponent-rebias trick: the format's exponent and mantissa bits are placed at the
/// top of a float32's exponent/mantissa fields and the result multiplied by a power of two that moves the bias. The
/// multiplication is exact (a power of two, no overflow, no underflow), and it also turns the format's subnormals into
/// float32 normals correctly, because a float32 subnormal times a power of two is exact. Codes whose exponent is all
/// ones (inf/NaN) are patched separately. This relies on float32 subnormals not being flushed to zero, which .NET never
/// does.
/// </remarks>
internal static unsafe class FloatDecoding
{
    // 2^112 = 2^(127 − 15) and 2^120 = 2^(127 − 7): from binary16's and E4M3's exponent bias to float32's.
    private static readonly Vector256<float> Rebias16 = Vector256.Create(BitConverter.UInt32BitsToSingle((127u + 112u) << 23));
    private static readonly Vector256<float> RebiasE4M3 = Vector256.Create(BitConverter.UInt32BitsToSingle((127u + 120u) << 23));

    /// <summary>IEEE binary16 bits to float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Half(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>bfloat16 bits to float32: the 16 bits followed by 16 zero bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>
    /// float8_e4m3fn to float32: sign, 4 exponent bits (bias 7), 3 mantissa bits; exponent 0 is subnormal; no
    /// infinities; <c>0x7F</c> and <c>0xFF</c> are NaN.
    /// </summary>
    public static float E4M3(byte code)
    {
        int magnitude = code & 0x7F;
        if (magnitude == 0x7F)
        {
            return float.NaN;
        }

        int exponent = magnitude >> 3;
        int mantissa = magnitude & 7;
        float value = exponent == 0 ? mantissa * (1f / 512f) : (8 + mantissa) * MathF.ScaleB(1f, exponent - 10);
        return (code & 0x80) != 0 ? -value : value;
    }

    /// <summary>float8_e5m2 to float32: exactly the upper byte of an IEEE binary16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float E5M2(byte code) => Half((ushort)(code << 8));

    /// <summary>Converts <paramref name="count"/> binary16 values.</summary>
    public static void HalfToSingle(ushort* source, float* destination, long count)
    {
        long i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= count; i += 16)
            {
                var (lower, upper) = Vector256.Widen(Vector256.Load(source + i));
                Vector256.Store(HalfBits(lower), destination + i);
                Vector256.Store(HalfBits(upper), destination + i + 8);
            }
        }

        for (; i < count; i++)
        {
            destination[i] = Half(source[i]);
        }
    }

    /// <summary>Converts <paramref name="count"/> bfloat16 values.</summary>
    public static void BFloat16ToSingle(ushort* source, float* destination, long count)
    {
        long i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= count; i += 16)
            {
                var (lower, upper) = Vector256.Widen(Vector256.Load(source + i));
                Vector256.Store(Vector256.ShiftLeft(lower, 16).AsSingle(), destination + i);
                Vector256.Store(Vector256.ShiftLeft(upper, 16).AsSingle(), destination + i + 8);
            }
        }

        for (; i < count; i++)
        {
            destination[i] = BFloat16(source[i]);
        }
    }

    /// <summary>Converts <paramref name="count"/> float8_e5m2 values.</summary>
    public static void E5M2ToSingle(byte* source, float* destination, long count)
    {
        long i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 32 <= count; i += 32)
            {
                var (low, high) = Vector256.Widen(Vector256.Load(source + i));
                var (a, b) = Vector256.Widen(Vector256.ShiftLeft(low, 8));
                var (c, d) = Vector256.Widen(Vector256.ShiftLeft(high, 8));
                Vector256.Store(HalfBits(a), destination + i);
                Vector256.Store(HalfBits(b), destination + i + 8);
                Vector256.Store(HalfBits(c), destination + i + 16);
                Vector256.Store(HalfBits(d), destination + i + 24);
            }
        }

        for (; i < count; i++)
        {
            destination[i] = E5M2(source[i]);
        }
    }

    /// <summary>Converts <paramref name="count"/> float8_e4m3fn values.</summary>
    public static void E4M3ToSingle(byte* source, float* destination, long count)
    {
        long i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 32 <= count; i += 32)
            {
                var (low, high) = Vector256.Widen(Vector256.Load(source + i));
                var (a, b) = Vector256.Widen(low);
                var (c, d) = Vector256.Widen(high);
                Vector256.Store(E4M3Bits(a), destination + i);
                Vector256.Store(E4M3Bits(b), destination + i + 8);
                Vector256.Store(E4M3Bits(c), destination + i + 16);
                Vector256.Store(E4M3Bits(d), destination + i + 24);
            }
        }

        for (; i < count; i++)
        {
            destination[i] = E4M3(source[i]);
        }
    }

    /// <summary>Eight binary16 codes (one per 32-bit lane) to float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HalfBits(Vector256<uint> bits)
    {
        Vector256<uint> sign = Vector256.ShiftLeft(bits & Vector256.Create(0x8000u), 16);
        Vector256<uint> magnitude = bits & Vector256.Create(0x7FFFu);
        Vector256<uint> finite = (Vector256.ShiftLeft(magnitude, 13).AsSingle() * Rebias16).AsUInt32();
        Vector256<uint> special = Vector256.Create(0x7F800000u) | Vector256.ShiftLeft(magnitude & Vector256.Create(0x3FFu), 13);
        Vector256<uint> isSpecial = Vector256.GreaterThanOrEqual(magnitude, Vector256.Create(0x7C00u));
        return (Vector256.ConditionalSelect(isSpecial, special, finite) | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> E4M3Bits(Vector256<uint> bits)
    {
        Vector256<uint> sign = Vector256.ShiftLeft(bits & Vector256.Create(0x80u), 24);
        Vector256<uint> magnitude = bits & Vector256.Create(0x7Fu);
        Vector256<uint> finite = (Vector256.ShiftLeft(magnitude, 20).AsSingle() * RebiasE4M3).AsUInt32();
        Vector256<uint> isNaN = Vector256.Equals(magnitude, Vector256.Create(0x7Fu));
        return (Vector256.ConditionalSelect(isNaN, Vector256.Create(0x7FC00000u), finite) | sign).AsSingle();
    }
}
