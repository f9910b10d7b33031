using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Ras.IO.Gguf;

namespace Ras.Cli.Bench;

/// <summary>
/// Checkpoints with no trained values, in the forms people download — GGUF (quantized matrices, F32 for what does not fit
/// whole blocks), fp8 (<c>F8_E4M3</c>) and half / float32 safetensors — for memory and speed runs without a download.
/// Without a <see cref="Random"/> the data is a hole after the header (a sparse all-zero file: seconds, no disk space; zero
/// bytes are valid values in every one of these types). With one, every value is random but finite and small (about
/// ±0.1), so timing runs read and decode real bytes exactly as they would from a downloaded file.
/// </summary>
internal static class SyntheticCheckpoint
{
    private const int Alignment = 32;

    /// <summary>Bytes written per call when filling: large enough to stream, small enough to stay out of the way.</summary>
    private const int FillChunk = 1 << 22;

    /// <summary>
    /// Writes a GGUF v3 file: 2-D+ tensors whose rows are whole blocks of <paramref name="type"/> in that type, the rest in
    /// F32 (as ComfyUI-GGUF keeps norms and biases). Returns the data bytes.
    /// </summary>
    public static long WriteGguf(string path, IReadOnlyList<(string Key, long[] Shape)> tensors, GgufTensorType type, string architecture, Random? fill = null)
    {
        using var header = new MemoryStream();
        using var writer = new BinaryWriter(header, Encoding.UTF8);
        writer.Write("GGUF"u8);
        writer.Write(3u);
        writer.Write((ulong)tensors.Count);
        writer.Write(1ul);
        WriteString(writer, GgufFile.ArchitectureKey);
        writer.Write(8u);   // STRING
        WriteString(writer, architecture);
        long offset = 0;
        var layout = new List<(GgufTensorType Type, long Elements, long Padded)>();
        foreach ((string key, long[] shape) in tensors)
        {
            GgufTensorType stored = shape.Length >= 2 && shape[^1] % GgufTensorTypes.BlockElements(type) == 0 ? type : GgufTensorType.F32;
            long elements = shape.Aggregate(1L, (a, b) => a * b);
            long bytes = elements / GgufTensorTypes.BlockElements(stored) * GgufTensorTypes.BlockBytes(stored);
            WriteString(writer, key);
            writer.Write((uint)shape.Length);
            foreach (long dim in shape.Reverse())
            {
                writer.Write((ulong)dim);   // ne: innermost first
            }

            writer.Write((uint)stored);
            writer.Write((ulong)offset);
            long padded = (bytes + Alignment - 1) / Alignment * Alignment;
            layout.Add((stored, elements, padded));
            offset += padded;
        }

        writer.Flush();
        long dataStart = (header.Length + Alignment - 1) / Alignment * Alignment;
        using var file = File.Create(path);
        header.Position = 0;
        header.CopyTo(file);
        file.SetLength(dataStart);
        file.Position = dataStart;
        if (fill is not null)
        {
            foreach ((GgufTensorType stored, long elements, long padded) in layout)
            {
                long written = WriteRandom(file, fill, stored, elements);
                file.Write(new byte[padded - written]);
            }
        }

        file.SetLength(dataStart + offset);
        return offset;
    }

    /// <summary>
    /// Writes a safetensors file: 2-D+ tensors in <paramref name="matrixDType"/> (<c>F8_E4M3</c>, <c>BF16</c>, <c>F16</c> or
    /// <c>F32</c>), the rest in <paramref name="vectorDType"/>. Returns the data bytes.
    /// </summary>
    public static long WriteSafetensors(string path, IReadOnlyList<(string Key, long[] Shape)> tensors, string matrixDType, string vectorDType = "F32", Random? fill = null)
    {
        var entries = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
        long offset = 0;
        var layout = new List<(string DType, long Elements)>();
        foreach ((string key, long[] shape) in tensors)
        {
            string dtype = shape.Length >= 2 ? matrixDType : vectorDType;
            long elements = shape.Aggregate(1L, (a, b) => a * b);
            long length = elements * SafetensorsElementBytes(dtype);
            entries[key] = new Dictionary<string, object> { ["dtype"] = dtype, ["shape"] = shape, ["data_offsets"] = new[] { offset, offset + length } };
            layout.Add((dtype, elements));
            offset += length;
        }

        byte[] json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(entries));
        int padded = (json.Length + 7) / 8 * 8;
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((long)padded));
        stream.Write(json);
        stream.Write(Enumerable.Repeat((byte)' ', padded - json.Length).ToArray());
        if (fill is not null)
        {
            foreach ((string dtype, long elements) in layout)
            {
                WriteRandom(stream, fill, dtype switch
                {
                    "F8_E4M3" => RandomForm.Fp8E4M3, "BF16" => RandomForm.BFloat16, "F16" => RandomForm.Float16, _ => RandomForm.Float32,
                }, elements);
            }
        }

        stream.SetLength(8 + padded + offset);   // without fill: a hole that reads as zeros and takes no disk space
        return offset;
    }

    private enum RandomForm
    {
        Float32,
        Float16,
        BFloat16,
        Fp8E4M3,
    }

    private static long SafetensorsElementBytes(string dtype) => dtype switch
    {
        "F8_E4M3" => 1, "BF16" or "F16" => 2, "F32" => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a dtype synthetic checkpoints write"),
    };

    private static long WriteRandom(Stream stream, Random random, GgufTensorType type, long elements) => type switch
    {
        GgufTensorType.F32 => WriteRandom(stream, random, RandomForm.Float32, elements),
        GgufTensorType.Q8_0 => WriteBlocks(stream, random, elements / 32, 34, block =>
        {
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)0.003f);   // d; 32 int8 quants: |value| ≤ 0.38
        }),
        GgufTensorType.Q4_K => WriteBlocks(stream, random, elements / 256, 144, block =>
        {
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)1e-4f);            // d
            BinaryPrimitives.WriteHalfLittleEndian(block[2..], (Half)1e-4f);      // dmin; 6-bit scales/mins, 4-bit quants: |value| ≤ 0.1
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a type synthetic checkpoints write"),
    };

    /// <summary>Random blocks: all bytes random (every quant and packed scale is valid), then <paramref name="fix"/> sets the float16 scales.</summary>
    private static long WriteBlocks(Stream stream, Random random, long blocks, int blockBytes, SpanAction fix)
    {
        byte[] buffer = new byte[FillChunk / blockBytes * blockBytes];
        for (long done = 0; done < blocks;)
        {
            int count = (int)Math.Min(buffer.Length / blockBytes, blocks - done);
            Span<byte> span = buffer.AsSpan(0, count * blockBytes);
            random.NextBytes(span);
            for (int b = 0; b < count; b++)
            {
                fix(span.Slice(b * blockBytes, blockBytes));
            }

            stream.Write(span);
            done += count;
        }

        return blocks * blockBytes;
    }

    private static long WriteRandom(Stream stream, Random random, RandomForm form, long elements)
    {
        int size = form switch { RandomForm.Float32 => 4, RandomForm.Float16 or RandomForm.BFloat16 => 2, _ => 1 };
        byte[] buffer = new byte[FillChunk];
        for (long done = 0; done < elements;)
        {
            int count = (int)Math.Min(buffer.Length / size, elements - done);
            Span<byte> span = buffer.AsSpan(0, count * size);
            for (int i = 0; i < count; i++)
            {
                float value = (random.NextSingle() - 0.5f) * 0.2f;
                switch (form)
                {
                    case RandomForm.Float32:
                        BinaryPrimitives.WriteSingleLittleEndian(span[(i * 4)..], value);
                        break;
                    case RandomForm.Float16:
                        BinaryPrimitives.WriteHalfLittleEndian(span[(i * 2)..], (Half)value);
                        break;
                    case RandomForm.BFloat16:
                        BinaryPrimitives.WriteUInt16LittleEndian(span[(i * 2)..], (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16));
                        break;
                    default:
                        // E4M3 bits s eeee mmm, bias 7: exponent field ≤ 3 keeps |value| ≤ 0.12 and away from NaN (0x7F/0xFF).
                        span[i] = (byte)((random.Next(256) & 0x87) | (random.Next(4) << 3));
                        break;
                }
            }

            stream.Write(span);
            done += count;
        }

        return elements * size;
    }

    private delegate void SpanAction(Span<byte> block);

    private static void WriteString(BinaryWriter writer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }
}
