using System.Buffers.Binary;
using System.Text;
using Ras.Errors;

namespace Ras.Tokenizers.SentencePiece;

/// <summary>
/// A minimal reader of the protobuf wire format (varint, 64-bit, length-delimited, 32-bit fields), enough for
/// sentencepiece's <c>ModelProto</c>. Every problem is reported against the file with the byte offset.
/// </summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> data;
    private readonly string source;
    private readonly int baseOffset;
    private int position;

    /// <summary>Reads <paramref name="data"/>, which starts at <paramref name="baseOffset"/> of <paramref name="source"/>.</summary>
    public ProtoReader(ReadOnlySpan<byte> data, string source, int baseOffset = 0)
    {
        this.data = data;
        this.source = source;
        this.baseOffset = baseOffset;
    }

    /// <summary>Offset of the next byte in the file (for nested readers and messages).</summary>
    public readonly int FileOffset => baseOffset + position;

    /// <summary>The next field's number and wire type; false at the end of the message.</summary>
    public bool TryReadTag(out int field, out int wireType)
    {
        if (position >= data.Length)
        {
            field = wireType = 0;
            return false;
        }

        ulong tag = ReadVarint();
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        if (field == 0 || tag >> 3 > int.MaxValue)
        {
            throw Malformed($"invalid field number {tag >> 3}");
        }

        return true;
    }

    /// <summary>A base-128 varint.</summary>
    public ulong ReadVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length)
            {
                throw Malformed("truncated varint");
            }

            byte b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw Malformed("varint longer than 10 bytes");
    }

    /// <summary>An <c>int32</c> (negative values are sign-extended to 10-byte varints).</summary>
    public int ReadInt32() => unchecked((int)ReadVarint());

    /// <summary>A <c>bool</c>.</summary>
    public bool ReadBool() => ReadVarint() != 0;

    /// <summary>A <c>float</c> (fixed 32-bit, little-endian).</summary>
    public float ReadFloat() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

    /// <summary>A length-delimited field's bytes.</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(data.Length - position))
        {
            throw Malformed($"field length {length} runs past the end");
        }

        return Take((int)length);
    }

    /// <summary>A <c>string</c> (must be valid UTF-8).</summary>
    public string ReadString()
    {
        int at = FileOffset;
        ReadOnlySpan<byte> bytes = ReadBytes();
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new ConfigException(source, null, $"not a valid SentencePiece model: invalid UTF-8 in a string at byte {at}", e);
        }
    }

    /// <summary>A nested message: a reader over its bytes.</summary>
    public ProtoReader ReadMessage()
    {
        ulong length = ReadVarint();
        int start = FileOffset;
        if (length > (ulong)(data.Length - position))
        {
            throw Malformed($"message length {length} runs past the end");
        }

        return new ProtoReader(Take((int)length), source, start);
    }

    /// <summary>Skips a field of <paramref name="wireType"/> (groups are not supported; sentencepiece has none).</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0:
                ReadVarint();
                break;
            case 1:
                Take(8);
                break;
            case 2:
                ReadBytes();
                break;
            case 5:
                Take(4);
                break;
            default:
                throw Malformed($"unsupported wire type {wireType}");
        }
    }

    /// <summary>Checks that a field has the wire type its declaration implies.</summary>
    public readonly void Expect(int field, int wireType, int expected)
    {
        if (wireType != expected)
        {
            throw Malformed($"field {field} has wire type {wireType}, expected {expected}");
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > data.Length - position)
        {
            throw Malformed("unexpected end of data");
        }

        ReadOnlySpan<byte> slice = data.Slice(position, count);
        position += count;
        return slice;
    }

    private readonly ConfigException Malformed(string problem) =>
        new(source, null, $"not a valid SentencePiece model: {problem} at byte {FileOffset}");
}
