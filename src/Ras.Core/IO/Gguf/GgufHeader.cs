using System.Buffers.Binary;
using System.Text;
using Ras.Errors;

namespace Ras.IO.Gguf;

/// <summary>
/// Parses and validates a GGUF header (versions 2 and 3) from mapped bytes: magic, version, counts, every metadata
/// pair, every tensor info, the alignment and the data section's start; then checks every tensor's byte range
/// (aligned, inside the file, no overlaps). Nothing is allocated for a count or length before it is checked against
/// <see cref="GgufLimits"/> and the bytes left.
/// </summary>
internal sealed unsafe class GgufHeader
{
    /// <summary>"GGUF" as a little-endian u32.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>The alignment when <c>general.alignment</c> is absent.</summary>
    public const long DefaultAlignment = 32;

    private const string AlignmentKey = "general.alignment";

    // Smallest possible records: a key/name is a u64 length (+ bytes); a pair adds a u32 type and at least one byte;
    // a tensor info adds u32 n_dims, one u64 ne, u32 type and u64 offset.
    private const long MinPairBytes = 8 + 4 + 1;
    private const long MinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly string path;
    private readonly byte* bytes;
    private readonly long length;
    private long position;
    private long arrayElements;

    private GgufHeader(string path, byte* bytes, long length)
    {
        this.path = path;
        this.bytes = bytes;
        this.length = length;
    }

    public uint Version { get; private set; }

    public List<KeyValuePair<string, GgufValue>> Metadata { get; } = [];

    public List<GgufTensorInfo> Tensors { get; } = [];

    public long Alignment { get; private set; } = DefaultAlignment;

    public long DataOffset { get; private set; }

    /// <summary>Parses the header of the <paramref name="length"/> bytes at <paramref name="bytes"/>.</summary>
    /// <exception cref="GgufException">Anything malformed, unsupported or out of bounds (the message says what).</exception>
    public static GgufHeader Parse(string path, byte* bytes, long length)
    {
        var header = new GgufHeader(path, bytes, length);
        header.Read();
        return header;
    }

    private void Read()
    {
        // 1. Fixed header: magic, version, counts.
        if (length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(bytes, 4)) != Magic)
        {
            string start = Convert.ToHexString(new ReadOnlySpan<byte>(bytes, (int)Math.Min(4, length)));
            throw Bad(null, $"not a GGUF file (it starts with bytes {(start.Length == 0 ? "<none>" : start)}, not 47475546 \"GGUF\")");
        }

        if (length < 24)
        {
            throw Bad(null, $"file is {length} bytes, too short for the 24-byte GGUF header (truncated?)");
        }

        position = 4;
        uint version = U32(null);
        if (version is not (2 or 3))
        {
            uint swapped = BinaryPrimitives.ReverseEndianness(version);
            throw Bad(null, swapped is >= 1 and <= 3
                ? $"big-endian GGUF (version reads as 0x{version:X8}, i.e. {swapped} byte-swapped) is not supported; only little-endian files are"
                : version == 1
                    ? "GGUF version 1 (32-bit counts, obsolete) is not supported; versions 2 and 3 are"
                    : $"unsupported GGUF version {version} (versions 2 and 3 are supported)");
        }

        Version = version;
        ulong tensorCount = U64(null);
        ulong kvCount = U64(null);
        CheckCount(tensorCount, GgufLimits.MaxTensors, MinTensorInfoBytes, "tensors");
        CheckCount(kvCount, GgufLimits.MaxKeyValues, MinPairBytes, "metadata pairs");

        // 2. Metadata pairs.
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < kvCount; i++)
        {
            string key = ReadString(null, GgufLimits.MaxNameBytes, $"metadata key {i}");
            if (!keys.Add(key))
            {
                throw Bad(GgufException.Key(key), "appears twice");
            }

            string subject = GgufException.Key(key);
            GgufValueType type = ValueType(subject, U32(subject));
            Metadata.Add(new(key, ReadValue(subject, type, 0)));
        }

        Alignment = ReadAlignment();

        // 3. Tensor infos.
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = ReadString(null, GgufLimits.MaxNameBytes, $"tensor name {i}");
            string subject = GgufException.Tensor(name);
            if (!names.Add(name))
            {
                throw Bad(subject, "appears twice");
            }

            Tensors.Add(ReadTensorInfo(name, subject));
        }

        // 4. Data section: after the padding to the alignment.
        DataOffset = AlignUp(position, Alignment);
        if (Tensors.Count > 0 && DataOffset > length)
        {
            throw Bad(null, $"the data section would start at byte {DataOffset}, past the end of the {length}-byte file (truncated?)");
        }

        CheckDataRanges();
    }

    private GgufTensorInfo ReadTensorInfo(string name, string subject)
    {
        uint dims = U32(subject);
        if (dims is < 1 or > GgufLimits.MaxDims)
        {
            throw Bad(subject, $"n_dims is {dims}; it must be 1 to {GgufLimits.MaxDims}");
        }

        var ne = new long[dims];
        long elements = 1;
        for (int d = 0; d < dims; d++)
        {
            ulong n = U64(subject);
            if (n > long.MaxValue)
            {
                throw Bad(subject, $"ne[{d}] = {n} is negative or too large");
            }

            ne[d] = (long)n;
            elements = elements == 0 || n == 0 ? 0 : MultiplyOrThrow(elements, (long)n, subject, ne);
        }

        uint typeId = U32(subject);
        if (!GgufTensorTypes.IsKnown(typeId))
        {
            throw Bad(subject, $"unknown ggml type id {typeId} (supported: {GgufTensorTypes.SupportedNames})");
        }

        var type = (GgufTensorType)typeId;
        ulong offset = U64(subject);
        int blockElements = GgufTensorTypes.BlockElements(type);
        if (ne[0] % blockElements != 0)
        {
            throw Bad(subject, $"rows of {ne[0]} elements (ne[0]) are not a whole number of {type} blocks of {blockElements}");
        }

        long byteLength = MultiplyOrThrow(elements / blockElements, GgufTensorTypes.BlockBytes(type), subject, ne);
        if (offset > long.MaxValue)
        {
            throw Bad(subject, $"data offset {offset} is out of range");
        }

        return new GgufTensorInfo(name, type, ne, (long)offset, byteLength);
    }

    private void CheckDataRanges()
    {
        long dataLength = length - DataOffset;
        foreach (GgufTensorInfo t in Tensors)
        {
            string subject = GgufException.Tensor(t.Name);
            if (t.Offset % Alignment != 0)
            {
                throw Bad(subject, $"data offset {t.Offset} is not a multiple of the alignment {Alignment}");
            }

            if (t.Offset > dataLength || t.ByteLength > dataLength - t.Offset)
            {
                throw Bad(subject, $"{t.ByteLength} bytes at data offset {t.Offset} lie outside the file's {Math.Max(0, dataLength)} data bytes (file truncated?)");
            }
        }

        GgufTensorInfo? previous = null;
        foreach (GgufTensorInfo t in Tensors.Where(t => t.ByteLength > 0).OrderBy(t => t.Offset))
        {
            if (previous is not null && t.Offset < previous.Offset + previous.ByteLength)
            {
                throw Bad(GgufException.Tensor(t.Name),
                    $"data [{t.Offset}, {t.Offset + t.ByteLength}) overlaps tensor '{previous.Name}' [{previous.Offset}, {previous.Offset + previous.ByteLength})");
            }

            previous = t;
        }
    }

    private long ReadAlignment()
    {
        foreach (var (key, value) in Metadata)
        {
            if (key != AlignmentKey)
            {
                continue;
            }

            if (value.Type != GgufValueType.UInt32)
            {
                throw Bad(GgufException.Key(key), $"must be a UINT32, found {value.Type}");
            }

            uint alignment = (uint)value.Value;
            if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            {
                throw Bad(GgufException.Key(key), $"is {alignment}; it must be a non-zero power of two");
            }

            return alignment;
        }

        return DefaultAlignment;
    }

    private GgufValue ReadValue(string subject, GgufValueType type, int depth)
    {
        switch (type)
        {
            case GgufValueType.UInt8: return new(type, Take(subject, 1)[0]);
            case GgufValueType.Int8: return new(type, (sbyte)Take(subject, 1)[0]);
            case GgufValueType.UInt16: return new(type, BinaryPrimitives.ReadUInt16LittleEndian(Take(subject, 2)));
            case GgufValueType.Int16: return new(type, BinaryPrimitives.ReadInt16LittleEndian(Take(subject, 2)));
            case GgufValueType.UInt32: return new(type, U32(subject));
            case GgufValueType.Int32: return new(type, BinaryPrimitives.ReadInt32LittleEndian(Take(subject, 4)));
            case GgufValueType.Float32: return new(type, BinaryPrimitives.ReadSingleLittleEndian(Take(subject, 4)));
            case GgufValueType.Bool: return new(type, ReadBool(subject));
            case GgufValueType.String: return new(type, ReadString(subject, GgufLimits.MaxStringBytes, "string value"));
            case GgufValueType.UInt64: return new(type, U64(subject));
            case GgufValueType.Int64: return new(type, BinaryPrimitives.ReadInt64LittleEndian(Take(subject, 8)));
            case GgufValueType.Float64: return new(type, BinaryPrimitives.ReadDoubleLittleEndian(Take(subject, 8)));
            default: return ReadArray(subject, depth);
        }
    }

    private GgufValue ReadArray(string subject, int depth)
    {
        if (depth >= GgufLimits.MaxArrayDepth)
        {
            throw Bad(subject, $"arrays are nested more than {GgufLimits.MaxArrayDepth} deep");
        }

        GgufValueType elementType = ValueType(subject, U32(subject));
        ulong count = U64(subject);
        long minBytes = elementType switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            GgufValueType.Array => 12,
            _ => 8,
        };
        long left = length - position;
        if (count > GgufLimits.MaxArrayElements || (long)count > left / minBytes)
        {
            throw Bad(subject, count > GgufLimits.MaxArrayElements
                ? $"an array of {count} elements exceeds the limit of {GgufLimits.MaxArrayElements}"
                : $"an array of {count} {elementType} elements cannot fit in the {left} bytes left (truncated or corrupt)");
        }

        arrayElements += (long)count;
        if (arrayElements > GgufLimits.MaxTotalArrayElements)
        {
            throw Bad(subject, $"the metadata's arrays hold more than {GgufLimits.MaxTotalArrayElements} elements in all");
        }

        int n = (int)count;
        object values;
        switch (elementType)
        {
            case GgufValueType.UInt8: values = Take(subject, n).ToArray(); break;
            case GgufValueType.Int8: values = Fill(n, _ => (sbyte)Take(subject, 1)[0]); break;
            case GgufValueType.UInt16: values = Fill(n, _ => BinaryPrimitives.ReadUInt16LittleEndian(Take(subject, 2))); break;
            case GgufValueType.Int16: values = Fill(n, _ => BinaryPrimitives.ReadInt16LittleEndian(Take(subject, 2))); break;
            case GgufValueType.UInt32: values = Fill(n, _ => U32(subject)); break;
            case GgufValueType.Int32: values = Fill(n, _ => BinaryPrimitives.ReadInt32LittleEndian(Take(subject, 4))); break;
            case GgufValueType.Float32: values = Fill(n, _ => BinaryPrimitives.ReadSingleLittleEndian(Take(subject, 4))); break;
            case GgufValueType.Bool: values = Fill(n, _ => ReadBool(subject)); break;
            case GgufValueType.String: values = Fill(n, i => ReadString(subject, GgufLimits.MaxStringBytes, $"string element {i}")); break;
            case GgufValueType.UInt64: values = Fill(n, _ => U64(subject)); break;
            case GgufValueType.Int64: values = Fill(n, _ => BinaryPrimitives.ReadInt64LittleEndian(Take(subject, 8))); break;
            case GgufValueType.Float64: values = Fill(n, _ => BinaryPrimitives.ReadDoubleLittleEndian(Take(subject, 8))); break;
            default:
                values = Fill(n, _ => ReadArray(subject, depth + 1));
                break;
        }

        return new GgufValue(GgufValueType.Array, values, elementType);
    }

    private static T[] Fill<T>(int count, Func<int, T> read)
    {
        var values = new T[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = read(i);
        }

        return values;
    }

    private bool ReadBool(string subject)
    {
        byte b = Take(subject, 1)[0];
        return b switch
        {
            0 => false,
            1 => true,
            _ => throw Bad(subject, $"a BOOL holds {b}; it must be 0 or 1"),
        };
    }

    private GgufValueType ValueType(string subject, uint id) =>
        id <= (uint)GgufValueType.Float64 ? (GgufValueType)id : throw Bad(subject, $"unknown metadata value type {id} (0 to 12 are defined)");

    private string ReadString(string? subject, long maxBytes, string what)
    {
        ulong count = U64(subject);
        long left = length - position;
        if (count > (ulong)maxBytes)
        {
            throw Bad(subject, $"{what} claims {count} bytes, more than the limit of {maxBytes}");
        }

        if ((long)count > left)
        {
            throw Bad(subject, $"{what} claims {count} bytes but only {left} are left in the file (truncated?)");
        }

        ReadOnlySpan<byte> utf8 = Take(subject, (int)count);
        try
        {
            return StrictUtf8.GetString(utf8);
        }
        catch (DecoderFallbackException e)
        {
            throw Bad(subject, $"{what} at byte {position - (long)count} is not valid UTF-8", e);
        }
    }

    private uint U32(string? subject) => BinaryPrimitives.ReadUInt32LittleEndian(Take(subject, 4));

    private ulong U64(string? subject) => BinaryPrimitives.ReadUInt64LittleEndian(Take(subject, 8));

    private ReadOnlySpan<byte> Take(string? subject, int count)
    {
        if (count > length - position)
        {
            throw Bad(subject, $"the header is cut off at byte {length} (needs {count} more bytes at byte {position}; file truncated?)");
        }

        var span = new ReadOnlySpan<byte>(bytes + position, count);
        position += count;
        return span;
    }

    private void CheckCount(ulong count, long cap, long minBytes, string what)
    {
        if (count > (ulong)cap)
        {
            throw Bad(null, $"header claims {count} {what}, more than the limit of {cap}");
        }

        long left = length - position;
        if ((long)count > left / minBytes)
        {
            throw Bad(null, $"header claims {count} {what}, which cannot fit in the {left} bytes left (truncated or corrupt)");
        }
    }

    private long MultiplyOrThrow(long a, long b, string subject, long[] ne)
    {
        try
        {
            return checked(a * b);
        }
        catch (OverflowException e)
        {
            throw Bad(subject, $"ne [{string.Join(", ", ne)}] is too large (its size overflows)", e);
        }
    }

    private static long AlignUp(long offset, long alignment) => (offset + alignment - 1) / alignment * alignment;

    private GgufException Bad(string? subject, string problem, Exception? inner = null) => new(path, subject, problem, inner);
}
