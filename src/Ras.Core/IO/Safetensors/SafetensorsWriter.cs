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

    /// <summary>
    /// Writes the tensors <paramref name="specs"/> describe, producing each one only when its turn comes:
    /// <paramref name="fill"/> receives the tensor's name and a new CPU tensor of its dtype and shape to fill, which is
    /// written and freed before the next, so a checkpoint far larger than memory can be written. Names are written in
    /// ordinal order; <paramref name="written"/> is told after each one. Nothing appears at <paramref name="path"/>
    /// unless the whole file was written.
    /// </summary>
    public static void Write(string path, IReadOnlyList<SafetensorsTensorSpec> specs, Action<string, Tensor> fill,
        IReadOnlyDictionary<string, string>? metadata = null, Action<SafetensorsTensorSpec>? written = null)
    {
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(fill);
        var ordered = specs.OrderBy(s => s.Name, StringComparer.Ordinal).ToArray();
        byte[] header = BuildHeader(ordered.Select(s => (s.Name, s.DType, s.Shape)).ToArray(), metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (SafetensorsTensorSpec spec in ordered)
            {
                using (Tensor tensor = empty(spec.Shape, spec.DType))
                {
                    fill(spec.Name, tensor);
                    WriteData(stream, tensor);
                }

                written?.Invoke(spec);
            }
        });
    }

    private static byte[] BuildHeader(string[] names, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata) =>
        BuildHeader(names.Select(n => (n, tensors[n].dtype, tensors[n].shape)).ToArray(), metadata);

    private static byte[] BuildHeader((string Name, ScalarType DType, long[] Shape)[] tensors, IReadOnlyDictionary<string, string>? metadata)
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
            foreach (var (name, dtype, shape) in tensors)
            {
                long bytes = shape.Aggregate(1L, (a, b) => a * b) * ElementSize(dtype);
                json.WriteStartObject(name);
                json.WriteString("dtype", SafetensorsDType.NameOf(dtype));
                json.WriteStartArray("shape");
                foreach (long dim in shape)
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

    private static long ElementSize(ScalarType dtype) =>
        SafetensorsDType.TryParse(SafetensorsDType.NameOf(dtype), out _, out int size, out _) ? size : throw new ArgumentException($"dtype {dtype}", nameof(dtype));

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

/// <summary>A tensor to be written by the streaming <see cref="SafetensorsWriter.Write(string, IReadOnlyList{SafetensorsTensorSpec}, Action{string, Tensor}, IReadOnlyDictionary{string, string}?, Action{SafetensorsTensorSpec}?)"/>.</summary>
/// <param name="Name">Its key.</param>
/// <param name="DType">The dtype written (F64/F32/F16/BF16/I64/I32).</param>
/// <param name="Shape">Its shape.</param>
public sealed record SafetensorsTensorSpec(string Name, ScalarType DType, long[] Shape)
{
    /// <summary>Bytes it occupies in the file.</summary>
    public long ByteLength => Shape.Aggregate(1L, (a, b) => a * b) * (DType switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        _ => 2,
    });
}
