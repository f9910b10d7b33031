using System.Buffers.Binary;
using System.Text;
using Ras.IO.Gguf;

namespace Ras.Tests.TestSupport;

/// <summary>
/// Writes GGUF files for tests, byte by byte from the format description (header, metadata pairs, tensor infos,
/// padding, data): well-formed by default, and with hooks to break any part of them.
/// </summary>
#pragma warning disable CA1720 // The value writers are named after the GGUF value types they write.
public sealed class GgufWriter
{
    private readonly List<(string Key, GgufValueType Type, Action<BinaryWriter> Write)> metadata = [];
    private readonly List<TensorSpec> tensors = [];

    /// <summary>The version written (3 by default).</summary>
    public uint Version { get; set; } = 3;

    /// <summary>The alignment used for padding and offsets; written as <c>general.alignment</c> when not 32.</summary>
    public int Alignment { get; set; } = 32;

    /// <summary>One tensor: its name, type, ne (innermost first), data, and an optional forced offset.</summary>
    public sealed record TensorSpec(string Name, GgufTensorType Type, long[] Ne, byte[] Data)
    {
        /// <summary>Overrides the offset written (else the next aligned position).</summary>
        public long? Offset { get; init; }

        /// <summary>Overrides the type id written.</summary>
        public uint? TypeId { get; init; }

        /// <summary>Overrides n_dims written (the ne written are still <see cref="Ne"/>).</summary>
        public uint? Dims { get; init; }
    }

    public GgufWriter String(string key, string value) => Add(key, GgufValueType.String, w => WriteString(w, value));

    public GgufWriter UInt32(string key, uint value) => Add(key, GgufValueType.UInt32, w => w.Write(value));

    public GgufWriter Int32(string key, int value) => Add(key, GgufValueType.Int32, w => w.Write(value));

    public GgufWriter Float32(string key, float value) => Add(key, GgufValueType.Float32, w => w.Write(value));

    public GgufWriter Bool(string key, bool value) => Add(key, GgufValueType.Bool, w => w.Write((byte)(value ? 1 : 0)));

    public GgufWriter UInt8(string key, byte value) => Add(key, GgufValueType.UInt8, w => w.Write(value));

    public GgufWriter Int8(string key, sbyte value) => Add(key, GgufValueType.Int8, w => w.Write(value));

    public GgufWriter UInt16(string key, ushort value) => Add(key, GgufValueType.UInt16, w => w.Write(value));

    public GgufWriter Int16(string key, short value) => Add(key, GgufValueType.Int16, w => w.Write(value));

    public GgufWriter UInt64(string key, ulong value) => Add(key, GgufValueType.UInt64, w => w.Write(value));

    public GgufWriter Int64(string key, long value) => Add(key, GgufValueType.Int64, w => w.Write(value));

    public GgufWriter Float64(string key, double value) => Add(key, GgufValueType.Float64, w => w.Write(value));

    /// <summary>An array value: element type, count, then <paramref name="writeElements"/> writes the elements.</summary>
    public GgufWriter Array(string key, GgufValueType elementType, ulong count, Action<BinaryWriter> writeElements) =>
        Add(key, GgufValueType.Array, w =>
        {
            w.Write((uint)elementType);
            w.Write(count);
            writeElements(w);
        });

    public GgufWriter Strings(string key, params string[] values) =>
        Array(key, GgufValueType.String, (ulong)values.Length, w => values.ToList().ForEach(v => WriteString(w, v)));

    public GgufWriter Int32s(string key, params int[] values) =>
        Array(key, GgufValueType.Int32, (ulong)values.Length, w => values.ToList().ForEach(w.Write));

    /// <summary>A raw pair: key, type id and value bytes as given.</summary>
    public GgufWriter Raw(string key, uint typeId, byte[] value) => Add(key, (GgufValueType)typeId, w => w.Write(value));

    /// <summary>Adds a tensor stored as <paramref name="type"/> with the given numpy <paramref name="shape"/> (row-major) and raw data.</summary>
    public GgufWriter Tensor(string name, GgufTensorType type, long[] shape, byte[] data) =>
        Tensor(new TensorSpec(name, type, [.. shape.Reverse()], data));

    public GgufWriter Tensor(TensorSpec spec)
    {
        tensors.Add(spec);
        return this;
    }

    /// <summary>Adds a float tensor quantized to <paramref name="type"/> by <see cref="GgufQuantizer"/>.</summary>
    public GgufWriter Quantized(string name, GgufTensorType type, long[] shape, float[] values) =>
        Tensor(name, type, shape, GgufQuantizer.Quantize(type, values, shape[^1]));

    /// <summary>The file's bytes.</summary>
    public byte[] Build()
    {
        using var stream = new MemoryStream();
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write("GGUF"u8);
        w.Write(Version);
        w.Write((ulong)tensors.Count);
        bool writeAlignment = Alignment != 32 && metadata.All(m => m.Key != "general.alignment");
        w.Write((ulong)(metadata.Count + (writeAlignment ? 1 : 0)));
        if (writeAlignment)
        {
            WriteString(w, "general.alignment");
            w.Write((uint)GgufValueType.UInt32);
            w.Write((uint)Alignment);
        }

        foreach (var (key, type, write) in metadata)
        {
            WriteString(w, key);
            w.Write((uint)type);
            write(w);
        }

        var offsets = new List<long>();
        long next = 0;
        foreach (TensorSpec t in tensors)
        {
            long offset = t.Offset ?? next;
            offsets.Add(offset);
            next = Align(Math.Max(next, offset + t.Data.Length));
            WriteString(w, t.Name);
            w.Write(t.Dims ?? (uint)t.Ne.Length);
            foreach (long n in t.Ne)
            {
                w.Write((ulong)n);
            }

            w.Write(t.TypeId ?? (uint)t.Type);
            w.Write((ulong)offset);
        }

        w.Flush();
        long dataStart = Align(stream.Length);
        stream.SetLength(dataStart);
        stream.Position = dataStart;
        for (int i = 0; i < tensors.Count; i++)
        {
            long end = dataStart + offsets[i] + tensors[i].Data.Length;
            if (stream.Length < end)
            {
                stream.SetLength(end);
            }

            stream.Position = dataStart + offsets[i];
            stream.Write(tensors[i].Data);
        }

        stream.SetLength(dataStart + Align(next == 0 ? 0 : stream.Length - dataStart));
        return stream.ToArray();
    }

    public string Write(string path)
    {
        File.WriteAllBytes(path, Build());
        return path;
    }

    private GgufWriter Add(string key, GgufValueType type, Action<BinaryWriter> write)
    {
        metadata.Add((key, type, write));
        return this;
    }

    private long Align(long offset) => (offset + Alignment - 1) / Alignment * Alignment;

    public static void WriteString(BinaryWriter w, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    /// <summary>Little-endian bytes of float32 values.</summary>
    public static byte[] F32(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        }

        return bytes;
    }
}
#pragma warning restore CA1720
