using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Ras.Tests.TestSupport;

/// <summary>Writes safetensors files from raw bytes and any dtype string (fp8 included, which TorchSharp cannot hold).</summary>
public static class RawSafetensors
{
    /// <summary>One tensor: its key, header dtype name, shape and raw little-endian bytes.</summary>
    public sealed record Entry(string Name, string DType, long[] Shape, byte[] Data);

    public static string Write(string path, IEnumerable<Entry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = entries.ToList();
        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (Entry e in list)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", e.DType);
                json.WriteStartArray("shape");
                e.Shape.ToList().ForEach(json.WriteNumberValue);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + e.Data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += e.Data.Length;
            }

            json.WriteEndObject();
        }

        using var file = new MemoryStream();
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        file.Write(length);
        file.Write(header.ToArray());
        list.ForEach(e => file.Write(e.Data));
        File.WriteAllBytes(path, file.ToArray());
        return path;
    }

    /// <summary>The fp8 E4M3 code nearest below-or-equal in magnitude for small test values (exact for the values tests use).</summary>
    public static byte E4M3(float value)
    {
        for (int code = 0; code < 256; code++)
        {
            if (Ras.IO.Numerics.FloatDecoding.E4M3((byte)code) == value && !(value == 0 && code != 0))
            {
                return (byte)code;
            }
        }

        throw new ArgumentException($"{value} is not an E4M3 value", nameof(value));
    }

    /// <summary>ASCII bytes, for messages.</summary>
    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
}
