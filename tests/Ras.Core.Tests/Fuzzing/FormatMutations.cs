using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ras.Tests.Fuzzing;

/// <summary>Format-aware mutations: they know where a format keeps its lengths, offsets, types and shapes.</summary>
public static class FormatMutations
{
    // ---- safetensors: u64 header length + JSON header + data ----

    public static IReadOnlyList<Func<byte[], Random, byte[]>> Safetensors { get; } =
    [
        (d, r) => EditSafetensorsHeader(d, r, (header, names) => SetField(header, names, r, "data_offsets", OffsetsMutation(header, names, r))),
        (d, r) => EditSafetensorsHeader(d, r, (header, names) => SetField(header, names, r, "dtype", JsonValue.Create(
            new[] { "F32", "F16", "BF16", "F64", "I64", "I32", "F8_E4M3", "F8_E5M2", "U8", "BOOL", "F8_E4M3FNUZ", "", "f32" }[r.Next(13)]))),
        (d, r) => EditSafetensorsHeader(d, r, (header, names) => SetField(header, names, r, "shape", ShapeMutation(r))),
        (d, r) => EditSafetensorsHeader(d, r, (header, names) => SetField(header, names, r, new[] { "dtype", "shape", "data_offsets" }[r.Next(3)], Mutations.RandomJson(r))),
        (d, r) => EditSafetensorsHeader(d, r, (header, names) =>
        {
            header["__metadata__"] = r.Next(3) switch { 0 => Mutations.RandomJson(r), 1 => new JsonObject { ["x"] = 1 }, _ => new JsonObject { ["format"] = new JsonObject() } };
        }),
        (d, r) => EditSafetensorsHeader(d, r, (header, names) =>
        {
            if (names.Count > 0)
            {
                header.Remove(names[r.Next(names.Count)]);
            }
        }),
        (d, r) => EditSafetensorsHeader(d, r, (header, names) =>
        {
            if (names.Count > 0)
            {
                header[names[r.Next(names.Count)] + ".scale_weight"] = new JsonObject
                {
                    ["dtype"] = "F32", ["shape"] = new JsonArray(r.Next(4)), ["data_offsets"] = new JsonArray(0, 4),
                };
            }
        }),
        (d, r) => ReplaceSafetensorsHeader(d, Mutations.Utf8(Mutations.DeeplyNested(r.Next(60, 100_000), r.Next(2) == 0)), r),
        (d, r) => ReplaceSafetensorsHeader(d, Mutations.Utf8(new[] { "[]", "\"x\"", "null", "{\"a\":1}", "{\"a\":{\"dtype\":\"F32\"}}", "{", "" }[r.Next(7)]), r),
        (d, r) => ReplaceSafetensorsHeader(d, Mutations.InsertNotUtf8(HeaderOf(d), r), r),
        (d, r) => DuplicateFirstEntry(d, r),
        (d, r) =>
        {
            // The header length field itself.
            byte[] copy = d.Length >= 8 ? [.. d] : new byte[8];
            ulong length = d.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(d) : 0;
            ulong[] choices = [0, 1, length - 1, length + 1, (ulong)d.Length, (ulong)d.Length - 8, 100_000_001, ulong.MaxValue, 1UL << 63];
            BinaryPrimitives.WriteUInt64LittleEndian(copy, choices[r.Next(choices.Length)]);
            return copy;
        },
    ];

    private static byte[] HeaderOf(byte[] data)
    {
        if (data.Length < 8)
        {
            return [];
        }

        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(data);
        return length > (ulong)(data.Length - 8) ? [] : data.AsSpan(8, (int)length).ToArray();
    }

    private static byte[] DataOf(byte[] data)
    {
        byte[] header = HeaderOf(data);
        return data.Length >= 8 + header.Length ? data[(8 + header.Length)..] : [];
    }

    private static byte[] ReplaceSafetensorsHeader(byte[] data, byte[] header, Random random)
    {
        byte[] result = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)header.Length);
        header.CopyTo(result, 8);
        return [.. result, .. DataOf(data)];
    }

    private static byte[] EditSafetensorsHeader(byte[] data, Random random, Action<JsonObject, List<string>> edit)
    {
        try
        {
            if (JsonNode.Parse(HeaderOf(data)) is not JsonObject header)
            {
                return Mutations.Generic(data, random);
            }

            List<string> names = header.Where(kv => kv.Key != "__metadata__" && kv.Value is JsonObject).Select(kv => kv.Key).ToList();
            edit(header, names);
            return ReplaceSafetensorsHeader(data, Mutations.Utf8(header.ToJsonString()), random);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException or FormatException)
        {
            return Mutations.Generic(data, random);   // an earlier mutation broke the header (JsonNode parses lazily)
        }
    }

    private static void SetField(JsonObject header, List<string> names, Random random, string field, JsonNode? value)
    {
        if (names.Count > 0 && header[names[random.Next(names.Count)]] is JsonObject entry)
        {
            entry[field] = value;
        }
    }

    private static JsonNode OffsetsMutation(JsonObject header, List<string> names, Random random)
    {
        var ranges = names.Select(n => header[n]?["data_offsets"] as JsonArray)
            .Where(a => a is { Count: 2 } && a[0] is JsonValue x && x.TryGetValue(out long _) && a[1] is JsonValue y && y.TryGetValue(out long _))
            .Select(a => (a![0]!.GetValue<long>(), a[1]!.GetValue<long>())).ToList();
        var (b, e) = ranges.Count > 0 ? ranges[random.Next(ranges.Count)] : (0L, 4L);
        return random.Next(9) switch
        {
            0 => new JsonArray(e, b),                                   // reversed
            1 => new JsonArray(0, long.MaxValue),                       // out of range
            2 => new JsonArray(b + 1, e + 1),                           // shifted: overlaps the next tensor, maybe out of range
            3 => new JsonArray(-4, e),
            4 => new JsonArray(b, e, e),
            5 => new JsonArray(1.5, 9),
            6 => new JsonArray(ulong.MaxValue, ulong.MaxValue),
            7 => new JsonArray(b, b),                                   // zero bytes for a non-empty shape
            _ => new JsonArray(0, e - b),                               // overlaps the first tensor
        };
    }

    private static JsonNode ShapeMutation(Random random) => random.Next(9) switch
    {
        0 => new JsonArray(1L << 32, 1L << 32),                          // product overflows 2^63 × element size
        1 => new JsonArray(-1),
        2 => new JsonArray(),                                           // scalar
        3 => new JsonArray(Enumerable.Range(0, random.Next(17, 100)).Select(_ => (JsonNode?)JsonValue.Create(1)).ToArray()),
        4 => new JsonArray(long.MaxValue, 2),
        5 => new JsonArray(0, 1L << 62),
        6 => new JsonArray("a"),
        7 => new JsonArray(random.Next(1, 9), random.Next(1, 9)),
        _ => new JsonArray(3037000500L, 3037000500L),                  // product just over 2^63
    };

    private static byte[] DuplicateFirstEntry(byte[] data, Random random)
    {
        string header = Encoding.UTF8.GetString(HeaderOf(data));
        int start = header.Length > 1 ? header.IndexOf('"', 1) : -1;
        int end = header.IndexOf('}', Math.Max(0, start));
        if (start < 0 || end < 0)
        {
            return Mutations.Generic(data, random);
        }

        string entry = header[start..(end + 1)];
        return ReplaceSafetensorsHeader(data, Mutations.Utf8(header.Insert(start, entry + ",")), random);
    }

    // ---- GGUF: fields located by walking the header ----

    public static IReadOnlyList<Func<byte[], Random, byte[]>> Gguf { get; } =
    [
        (d, r) => GgufField(d, r, _ => true),
        (d, r) => GgufField(d, r, f => f.Kind is GgufFieldKind.Count or GgufFieldKind.Length),
        (d, r) => GgufField(d, r, f => f.Kind is GgufFieldKind.Offset or GgufFieldKind.Ne or GgufFieldKind.Dims or GgufFieldKind.TensorType),
        (d, r) => GgufField(d, r, f => f.Kind is GgufFieldKind.ValueType or GgufFieldKind.Version or GgufFieldKind.Alignment),
        (d, r) => d.Length > 24 ? Mutations.InsertNotUtf8(d, r, 24, Math.Min(d.Length, 400)) : d,
    ];

    private enum GgufFieldKind
    {
        Version,
        Count,
        Length,
        ValueType,
        Dims,
        Ne,
        TensorType,
        Offset,
        Alignment,
    }

    private sealed record GgufFieldAt(int Position, int Size, GgufFieldKind Kind, ulong Value);

    private static byte[] GgufField(byte[] data, Random random, Func<GgufFieldAt, bool> pick)
    {
        var fields = WalkGguf(data).Where(pick).ToList();
        if (fields.Count == 0)
        {
            return Mutations.Generic(data, random);
        }

        GgufFieldAt f = fields[random.Next(fields.Count)];
        ulong offsetOfOther = fields.Where(x => x.Kind == GgufFieldKind.Offset).Select(x => x.Value).DefaultIfEmpty(0UL).ElementAt(0);
        ulong value = f.Kind switch
        {
            GgufFieldKind.Version => new ulong[] { 0, 1, 2, 3, 4, 0x03000000, 0x02000000, uint.MaxValue }[random.Next(8)],
            GgufFieldKind.ValueType => (ulong)random.Next(0, 16),
            GgufFieldKind.Dims => (ulong)random.Next(0, 7),
            GgufFieldKind.TensorType => new ulong[] { 0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 23, 24, 28, 30, 31, 34, 36, 99, uint.MaxValue }[random.Next(24)],
            GgufFieldKind.Offset => random.Next(5) switch
            {
                0 => offsetOfOther,                       // overlap
                1 => f.Value + 1,                         // misaligned
                2 => f.Value + 32,
                3 => (ulong)data.Length,                  // out of range
                _ => Mutations.Extremes[random.Next(Mutations.Extremes.Length)],
            },
            GgufFieldKind.Ne => random.Next(4) switch
            {
                0 => f.Value * 2,
                1 => f.Value + 1,                         // not a whole number of blocks
                2 => 0,
                _ => Mutations.Extremes[random.Next(Mutations.Extremes.Length)],
            },
            GgufFieldKind.Alignment => new ulong[] { 0, 1, 3, 48, 64, 1UL << 31, uint.MaxValue }[random.Next(7)],
            _ => random.Next(3) == 0 ? f.Value + (ulong)random.Next(1, 9) : Mutations.Extremes[random.Next(Mutations.Extremes.Length)],
        };
        byte[] copy = [.. data];
        if (f.Size == 4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(f.Position), (uint)value);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(f.Position), value);
        }

        return copy;
    }

    /// <summary>The positions of a GGUF header's integer fields, as far as the header can be walked.</summary>
    private static List<GgufFieldAt> WalkGguf(byte[] d)
    {
        var fields = new List<GgufFieldAt>();
        int p = 4;
        bool Has(int n) => p + n <= d.Length;
        ulong U32(GgufFieldKind kind)
        {
            ulong v = BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(p));
            fields.Add(new(p, 4, kind, v));
            p += 4;
            return v;
        }

        ulong U64(GgufFieldKind kind)
        {
            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(p));
            fields.Add(new(p, 8, kind, v));
            p += 8;
            return v;
        }

        bool Str(out string text)
        {
            text = string.Empty;
            if (!Has(8))
            {
                return false;
            }

            ulong n = U64(GgufFieldKind.Length);
            if (n > (ulong)(d.Length - p))
            {
                return false;
            }

            text = Encoding.UTF8.GetString(d, p, (int)n);
            p += (int)n;
            return true;
        }

        bool Value(ulong type, bool alignment)
        {
            int[] sizes = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
            if (type > 12)
            {
                return false;
            }

            if (type == 8)
            {
                return Str(out _);
            }

            if (type == 9)
            {
                if (!Has(12))
                {
                    return false;
                }

                ulong element = U32(GgufFieldKind.ValueType);
                ulong count = U64(GgufFieldKind.Count);
                for (ulong i = 0; i < count && i < 100_000; i++)
                {
                    if (!Value(element, false))
                    {
                        return false;
                    }
                }

                return true;
            }

            if (!Has(sizes[type]))
            {
                return false;
            }

            if (alignment && type == 4)
            {
                U32(GgufFieldKind.Alignment);
                return true;
            }

            p += sizes[type];
            return true;
        }

        try
        {
            if (d.Length < 24)
            {
                return fields;
            }

            U32(GgufFieldKind.Version);
            ulong tensors = U64(GgufFieldKind.Count);
            ulong kvs = U64(GgufFieldKind.Count);
            for (ulong i = 0; i < kvs && i < 10_000; i++)
            {
                if (!Str(out string key) || !Has(4))
                {
                    return fields;
                }

                ulong type = U32(GgufFieldKind.ValueType);
                if (!Value(type, key == "general.alignment"))
                {
                    return fields;
                }
            }

            for (ulong i = 0; i < tensors && i < 10_000; i++)
            {
                if (!Str(out _) || !Has(4))
                {
                    return fields;
                }

                ulong dims = U32(GgufFieldKind.Dims);
                for (ulong k = 0; k < dims && k < 8; k++)
                {
                    if (!Has(8))
                    {
                        return fields;
                    }

                    U64(GgufFieldKind.Ne);
                }

                if (!Has(12))
                {
                    return fields;
                }

                U32(GgufFieldKind.TensorType);
                U64(GgufFieldKind.Offset);
            }
        }
        catch (ArgumentException)
        {
            // a mutated header: stop where it stops making sense
        }

        return fields;
    }

    // ---- JSON configs ----

    public static IReadOnlyList<Func<byte[], Random, byte[]>> Json { get; } =
    [
        (d, r) => EditJson(d, r, (root, rr) => ReplaceRandomValue(root, rr)),
        (d, r) => EditJson(d, r, (root, rr) => ReplaceRandomValue(root, rr)),
        (d, r) => EditJson(d, r, (root, rr) =>
        {
            var keys = root.Select(kv => kv.Key).ToList();
            if (keys.Count > 0)
            {
                root.Remove(keys[rr.Next(keys.Count)]);
            }
        }),
        (d, r) => EditJson(d, r, (root, rr) => root["_class_name"] = Mutations.RandomJson(rr)),
        (d, r) => Mutations.Utf8(Mutations.DeeplyNested(r.Next(60, 200_000), r.Next(2) == 0)),
        (d, r) => Mutations.Utf8(new[] { "[]", "\"x\"", "null", "1e999", "{\"a\": NaN}", "{\"a\": 1e999}", "{\"a\": -1e999}", "{\"a\": 1,}", "\uFEFF{}", "{\"a\":1,\"a\":2}" }[r.Next(10)]),
        (d, r) => Mutations.InsertNotUtf8(d, r),
        (d, r) => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(d).Replace("\": ", "\":" + new string(' ', 0), StringComparison.Ordinal)
            .Replace(",", ",\"" + new string('k', r.Next(1, 300)) + "\":" + Mutations.RandomJson(r)?.ToJsonString() + ",", StringComparison.Ordinal)),
    ];

    private static byte[] EditJson(byte[] data, Random random, Action<JsonObject, Random> edit)
    {
        try
        {
            if (JsonNode.Parse(data) is not JsonObject root)
            {
                return Mutations.Generic(data, random);
            }

            edit(root, random);
            return Mutations.Utf8(root.ToJsonString());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException or FormatException)
        {
            return Mutations.Generic(data, random);   // an earlier mutation broke the JSON (JsonNode parses lazily)
        }
    }

    private static void ReplaceRandomValue(JsonObject root, Random random)
    {
        var keys = root.Select(kv => kv.Key).ToList();
        if (keys.Count == 0)
        {
            root["x"] = Mutations.RandomJson(random);
            return;
        }

        string key = keys[random.Next(keys.Count)];
        if (root[key] is JsonObject inner && random.Next(2) == 0)
        {
            ReplaceRandomValue(inner, random);
            return;
        }

        if (root[key] is JsonArray array && array.Count > 0 && random.Next(2) == 0)
        {
            array[random.Next(array.Count)] = Mutations.RandomJson(random);
            return;
        }

        root[key] = Mutations.RandomJson(random);
    }

    // ---- CLIP merges.txt: line edits ----

    public static IReadOnlyList<Func<byte[], Random, byte[]>> Lines { get; } =
    [
        (d, r) => EditLines(d, r, (lines, rr) => { if (lines.Count > 0) { lines.RemoveAt(rr.Next(lines.Count)); } }),
        (d, r) => EditLines(d, r, (lines, rr) => { if (lines.Count > 0) { lines.Insert(rr.Next(lines.Count), lines[rr.Next(lines.Count)]); } }),
        (d, r) => EditLines(d, r, (lines, rr) => lines.Insert(rr.Next(lines.Count + 1),
            new[] { "a", "a b c", "zz yy", "", " ", "#version: 0.2", "t\th", new string('q', 10_000) + " x", "\u0100 \u0101", "<|endoftext|> a" }[rr.Next(10)])),
        (d, r) => EditLines(d, r, (lines, rr) => { if (lines.Count > 1) { int a = rr.Next(lines.Count); (lines[0], lines[a]) = (lines[a], lines[0]); } }),
        (d, r) => Mutations.InsertNotUtf8(d, r),
        (d, r) => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(d).Replace("\n", r.Next(2) == 0 ? "\r\n" : "\r", StringComparison.Ordinal)),
    ];

    private static byte[] EditLines(byte[] data, Random random, Action<List<string>, Random> edit)
    {
        var lines = Encoding.UTF8.GetString(data).Split('\n').ToList();
        edit(lines, random);
        return Mutations.Utf8(string.Join('\n', lines));
    }

    // ---- protobuf (SentencePiece .model): varints located by walking the wire format ----

    public static IReadOnlyList<Func<byte[], Random, byte[]>> Protobuf { get; } =
    [
        (d, r) => ProtobufVarint(d, r, lengthsOnly: true),
        (d, r) => ProtobufVarint(d, r, lengthsOnly: false),
        (d, r) => Mutations.InsertNotUtf8(d, r),
    ];

    private static byte[] ProtobufVarint(byte[] data, Random random, bool lengthsOnly)
    {
        var varints = new List<(int Start, int Length, bool IsLength)>();
        WalkProtobuf(data, 0, data.Length, varints, 0);
        var picks = varints.Where(v => !lengthsOnly || v.IsLength).ToList();
        if (picks.Count == 0)
        {
            return Mutations.Generic(data, random);
        }

        var (start, length, _) = picks[random.Next(picks.Count)];
        ulong value = Mutations.Extremes[random.Next(Mutations.Extremes.Length)];
        var encoded = new List<byte>();
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            encoded.Add(value != 0 ? (byte)(b | 0x80) : b);
        }
        while (value != 0);

        if (random.Next(6) == 0)
        {
            encoded = [.. Enumerable.Repeat((byte)0xFF, 11)];   // an over-long varint
        }

        return [.. data[..start], .. encoded, .. data[(start + length)..]];
    }

    private static void WalkProtobuf(byte[] d, int start, int end, List<(int, int, bool)> varints, int depth)
    {
        int p = start;
        while (p < end && varints.Count < 20_000)
        {
            int tagAt = p;
            if (!Varint(d, ref p, end, out ulong tag))
            {
                return;
            }

            varints.Add((tagAt, p - tagAt, false));
            switch (tag & 7)
            {
                case 0:
                    int valueAt = p;
                    if (!Varint(d, ref p, end, out _))
                    {
                        return;
                    }

                    varints.Add((valueAt, p - valueAt, false));
                    break;
                case 1: p += 8; break;
                case 5: p += 4; break;
                case 2:
                    int lengthAt = p;
                    if (!Varint(d, ref p, end, out ulong length) || length > (ulong)(end - p))
                    {
                        return;
                    }

                    varints.Add((lengthAt, p - lengthAt, true));
                    if (depth < 3)
                    {
                        var inner = new List<(int, int, bool)>();
                        WalkProtobuf(d, p, p + (int)length, inner, depth + 1);
                        varints.AddRange(inner);
                    }

                    p += (int)length;
                    break;
                default: return;
            }
        }
    }

    private static bool Varint(byte[] d, ref int p, int end, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64 && p < end; shift += 7)
        {
            byte b = d[p++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }

        return false;
    }

    // ---- PNG and JPEG: dimensions, chunk / segment lengths, markers ----

    public static IReadOnlyList<Func<byte[], Random, byte[]>> Images { get; } =
    [
        (d, r) => ImageDimensions(d, r),
        (d, r) => ImageDimensions(d, r),
        (d, r) => ImageSegmentLength(d, r),
        (d, r) => JpegMarker(d, r),
    ];

    private static byte[] ImageDimensions(byte[] data, Random random)
    {
        byte[] copy = [.. data];
        uint[] sizes = [0, 1, 2, 255, 65535, 16384, 16385, 50000, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 24, 3000];
        if (copy.Length >= 33 && copy.AsSpan(12, 4).SequenceEqual("IHDR"u8))
        {
            BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(16 + 4 * random.Next(2)), sizes[random.Next(sizes.Length)]);
            if (random.Next(2) == 0)
            {
                copy[24 + random.Next(5)] = (byte)random.Next(256);   // bit depth, colour type, compression, filter, interlace
            }

            if (random.Next(3) != 0)
            {
                BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(29), Crc32Png(copy.AsSpan(12, 17)));   // keep the CRC valid
            }

            return copy;
        }

        int sof = FindMarker(copy, m => m is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC);
        if (sof >= 0 && sof + 9 <= copy.Length)
        {
            BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(sof + 5 + 2 * random.Next(2)), (ushort)sizes[random.Next(sizes.Length)]);
            if (random.Next(3) == 0)
            {
                copy[sof + 9 < copy.Length ? sof + 9 : sof + 4] = (byte)random.Next(0, 6);   // component count
            }

            return copy;
        }

        return Mutations.Generic(data, random);
    }

    private static byte[] ImageSegmentLength(byte[] data, Random random)
    {
        byte[] copy = [.. data];
        if (copy.Length > 16 && copy.AsSpan(1, 3).SequenceEqual("PNG"u8))
        {
            var chunks = new List<int>();
            for (int p = 8; p + 8 <= copy.Length;)
            {
                chunks.Add(p);
                long length = BinaryPrimitives.ReadUInt32BigEndian(copy.AsSpan(p));
                if (length > copy.Length)
                {
                    break;
                }

                p += 12 + (int)length;
            }

            int at = chunks[random.Next(chunks.Count)];
            BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(at), (uint)Mutations.Extremes[random.Next(Mutations.Extremes.Length)]);
            return copy;
        }

        int marker = FindMarker(copy, m => m is not (0xD8 or 0xD9 or 0x00 or 0xFF));
        if (marker >= 0 && marker + 4 <= copy.Length)
        {
            BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(marker + 2), (ushort)random.Next(0, 65536));
            return copy;
        }

        return Mutations.Generic(data, random);
    }

    private static byte[] JpegMarker(byte[] data, Random random)
    {
        byte[] copy = [.. data];
        int marker = FindMarker(copy, m => m is >= 0xC0 and <= 0xFE);
        if (marker < 0)
        {
            return Mutations.Generic(data, random);
        }

        copy[marker + 1] = new byte[] { 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xDA, 0xDB, 0xDD, 0xE0, 0xFE, 0xD9 }[random.Next(11)];
        return copy;
    }

    private static int FindMarker(byte[] d, Func<byte, bool> which)
    {
        var found = new List<int>();
        for (int i = 0; i + 1 < d.Length; i++)
        {
            if (d[i] == 0xFF && which(d[i + 1]))
            {
                found.Add(i);
            }
        }

        return found.Count == 0 ? -1 : found[new Random(d.Length).Next(found.Count)];
    }

    /// <summary>The PNG chunk CRC (CRC-32, polynomial 0xEDB88320).</summary>
    private static uint Crc32Png(ReadOnlySpan<byte> typeAndData)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in typeAndData)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }
}
