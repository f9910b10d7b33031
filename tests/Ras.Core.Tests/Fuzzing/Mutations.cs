using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace Ras.Tests.Fuzzing;

/// <summary>Generic byte-level mutations, and helpers the format-aware ones share.</summary>
public static class Mutations
{
    /// <summary>Integers that break size arithmetic: zero, one, sign bits, all ones, powers of two around 2^31/2^32/2^63.</summary>
    public static readonly ulong[] Extremes =
    [
        0, 1, 2, 7, 8, 31, 32, 33, 63, 64, 255, 256, 4096, 65535, 65536, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue, ulong.MaxValue - 7, 1UL << 40, 1UL << 53, 100_000_001, 1UL << 62,
    ];

    /// <summary>1–3 mutations of <paramref name="seed"/>: format-aware ones (when given) half of the time.</summary>
    public static byte[] Mutate(byte[] seed, Random random, IReadOnlyList<Func<byte[], Random, byte[]>> structured)
    {
        byte[] data = seed;
        int rounds = 1 + random.Next(3);
        for (int r = 0; r < rounds; r++)
        {
            data = structured.Count > 0 && random.Next(2) == 0
                ? structured[random.Next(structured.Count)](data, random)
                : Generic(data, random);
        }

        return data;
    }

    /// <summary>One generic mutation.</summary>
    public static byte[] Generic(byte[] data, Random random)
    {
        switch (random.Next(10))
        {
            case 0: // truncate
                return data[..random.Next(data.Length + 1)];
            case 1: // flip 1–8 bits
            {
                byte[] copy = [.. data];
                for (int i = random.Next(1, 9); i > 0 && copy.Length > 0; i--)
                {
                    copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
                }

                return copy;
            }

            case 2: // overwrite a few bytes with random values
            {
                byte[] copy = [.. data];
                for (int i = random.Next(1, 5); i > 0 && copy.Length > 0; i--)
                {
                    copy[random.Next(copy.Length)] = (byte)random.Next(256);
                }

                return copy;
            }

            case 3: // an extreme integer at a random (often aligned) position, 32 or 64 bits
            {
                if (data.Length < 8)
                {
                    return data;
                }

                byte[] copy = [.. data];
                int at = random.Next(copy.Length - 7);
                at = random.Next(2) == 0 ? at & ~3 : at;
                ulong value = Extremes[random.Next(Extremes.Length)];
                if (random.Next(2) == 0)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(at), (uint)value);
                }
                else
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(at), value);
                }

                return copy;
            }

            case 4: // insert random bytes
            {
                int at = random.Next(data.Length + 1);
                byte[] insert = new byte[random.Next(1, 64)];
                random.NextBytes(insert);
                return [.. data[..at], .. insert, .. data[at..]];
            }

            case 5: // delete a range
            {
                if (data.Length == 0)
                {
                    return data;
                }

                int at = random.Next(data.Length);
                int length = random.Next(1, Math.Min(64, data.Length - at) + 1);
                return [.. data[..at], .. data[(at + length)..]];
            }

            case 6: // duplicate a chunk somewhere else
            {
                if (data.Length == 0)
                {
                    return data;
                }

                int from = random.Next(data.Length);
                int length = random.Next(1, Math.Min(128, data.Length - from) + 1);
                int to = random.Next(data.Length + 1);
                return [.. data[..to], .. data.AsSpan(from, length).ToArray(), .. data[to..]];
            }

            case 7: // random bytes of a random length
            {
                byte[] noise = new byte[random.Next(0, 512)];
                random.NextBytes(noise);
                return noise;
            }

            case 8: // NaN / Inf float32 and float16 patterns over a range (data sections)
            {
                if (data.Length < 8)
                {
                    return data;
                }

                byte[] copy = [.. data];
                int at = random.Next(copy.Length - 4) & ~1;
                uint[] patterns = [0x7FC00000, 0x7F800000, 0xFF800000, 0x7FFFFFFF, 0x7E007E00, 0x7C00FC00, 0xFFFFFFFF, 0x00000001];
                uint pattern = patterns[random.Next(patterns.Length)];
                for (int i = at; i + 4 <= copy.Length && i < at + 64; i += 4)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(i), pattern);
                }

                return copy;
            }

            default: // empty file or a single byte
                return random.Next(2) == 0 ? [] : [(byte)random.Next(256)];
        }
    }

    /// <summary>Bytes that are not UTF-8 (lone continuation bytes, overlong forms, surrogates, 0xFF).</summary>
    public static byte[] NotUtf8(Random random) => random.Next(5) switch
    {
        0 => [0x80],
        1 => [0xC0, 0xAF],
        2 => [0xED, 0xA0, 0x80],
        3 => [0xFF, 0xFE],
        _ => [0xF8, 0x88, 0x80, 0x80, 0x80],
    };

    /// <summary>Inserts non-UTF-8 bytes at a random position of <paramref name="data"/> within [from, to).</summary>
    public static byte[] InsertNotUtf8(byte[] data, Random random, int from = 0, int to = -1)
    {
        to = to < 0 ? data.Length : to;
        int at = from + random.Next(Math.Max(1, to - from));
        at = Math.Min(at, data.Length);
        return [.. data[..at], .. NotUtf8(random), .. data[at..]];
    }

    /// <summary>A JSON value of a random, usually wrong, kind: numbers at the edges, strings, arrays, objects, null, booleans.</summary>
    public static JsonNode? RandomJson(Random random) => random.Next(14) switch
    {
        0 => JsonValue.Create(-1),
        1 => JsonValue.Create(0),
        2 => JsonValue.Create(long.MaxValue),
        3 => JsonValue.Create(ulong.MaxValue),
        4 => JsonValue.Create(1e300),
        5 => JsonValue.Create(-1.5),
        6 => JsonValue.Create("x"),
        7 => JsonValue.Create(new string('a', random.Next(1, 5000))),
        8 => new JsonArray(JsonValue.Create(1), JsonValue.Create("b"), null),
        9 => new JsonObject { ["k"] = 1 },
        10 => null,
        11 => JsonValue.Create(true),
        12 => JsonValue.Create(int.MaxValue),
        _ => new JsonArray(),
    };

    /// <summary>Wraps a JSON text in <paramref name="depth"/> arrays or objects: nesting deeper than any parser should follow.</summary>
    public static string DeeplyNested(int depth, bool objects) => objects
        ? string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth)
        : new string('[', depth) + "1" + new string(']', depth);

    /// <summary>UTF-8 bytes of <paramref name="text"/>.</summary>
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
