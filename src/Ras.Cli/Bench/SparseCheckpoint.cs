using System.Text;
using System.Text.Json;
using Ras.IO.Gguf;

namespace Ras.Cli.Bench;

/// <summary>
/// All-zero checkpoints written as sparse files (a hole after the header: seconds, no disk space) in the packed forms
/// people download — GGUF (quantized matrices, F32 for what does not fit whole blocks) and fp8 safetensors — for memory
/// and speed runs without a download. Zero bytes are valid values in every one of these types (scale 0, quants 0).
/// </summary>
internal static class SparseCheckpoint
{
    private const int Alignment = 32;

    /// <summary>
    /// Writes a GGUF v3 file: 2-D+ tensors whose rows are whole blocks of <paramref name="type"/> in that type, the rest in
    /// F32 (as ComfyUI-GGUF keeps norms and biases). Returns the data bytes.
    /// </summary>
    public static long WriteGguf(string path, IReadOnlyList<(string Key, long[] Shape)> tensors, GgufTensorType type, string architecture)
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
            offset += (bytes + Alignment - 1) / Alignment * Alignment;
        }

        writer.Flush();
        long dataStart = (header.Length + Alignment - 1) / Alignment * Alignment;
        using var file = File.Create(path);
        header.Position = 0;
        header.CopyTo(file);
        file.SetLength(dataStart + offset);
        return offset;
    }

    /// <summary>Writes an fp8 (<c>F8_E4M3</c>) safetensors file: matrices in fp8, the rest in F32. Returns the data bytes.</summary>
    public static long WriteFp8(string path, IReadOnlyList<(string Key, long[] Shape)> tensors)
    {
        var entries = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
        long offset = 0;
        foreach ((string key, long[] shape) in tensors)
        {
            bool fp8 = shape.Length >= 2;
            long length = shape.Aggregate(1L, (a, b) => a * b) * (fp8 ? 1 : 4);
            entries[key] = new Dictionary<string, object> { ["dtype"] = fp8 ? "F8_E4M3" : "F32", ["shape"] = shape, ["data_offsets"] = new[] { offset, offset + length } };
            offset += length;
        }

        byte[] json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(entries));
        int padded = (json.Length + 7) / 8 * 8;
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((long)padded));
        stream.Write(json);
        stream.Write(Enumerable.Repeat((byte)' ', padded - json.Length).ToArray());
        stream.SetLength(8 + padded + offset);
        return offset;
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }
}
