using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Ras.IO.Files;
using static TorchSharp.torch;

namespace Ras.IO.Safetensors;

/// <summary>Writes safetensors files atomically (temp file, then rename).</summary>
public static class SafetensorsWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> (any device; stored in their own dtype, which must be one of
    /// F64/F32/F16/BF16/I64/I32) to <paramref name="path"/>. Nothing appears at <paramref name="path"/>
    /// unless the whole file was written.
    /// </summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToArray();
        byte[] header = BuildHeader(names, tensors, metadata);

        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (string name in names)
            {
                using Tensor cpu = tensors[name].detach().cpu().contiguous();
                WriteData(stream, cpu);
            }
        });
    }

    private static byte[] BuildHeader(string[] names, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (string name in names)
            {
                Tensor tensor = tensors[name];
                long bytes = tensor.NumberOfElements * tensor.ElementSize;
                json.WriteStartObject(name);
                json.WriteString("dtype", SafetensorsDType.NameOf(tensor.dtype));
                json.WriteStartArray("shape");
                foreach (long dim in tensor.shape)
                {
                    json.WriteNumberValue(dim);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }

            json.WriteEndObject();
        }

        // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
        int padded = (int)((buffer.Length + 7) / 8 * 8);
        byte[] header = new byte[padded];
        buffer.ToArray().CopyTo(header, 0);
        header.AsSpan((int)buffer.Length).Fill((byte)' ');
        return header;
    }

    private static void WriteData(Stream stream, Tensor cpu)
    {
        const long chunkElements = 1L << 26;
        long count = cpu.NumberOfElements;
        if (count == 0)
        {
            return;
        }

        using Tensor flat = cpu.view(-1);
        for (long start = 0; start < count; start += chunkElements)
        {
            using Tensor part = flat.narrow(0, start, Math.Min(chunkElements, count - start));
            stream.Write(part.bytes);
        }
    }
}
