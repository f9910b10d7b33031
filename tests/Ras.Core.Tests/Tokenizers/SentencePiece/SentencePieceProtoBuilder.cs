using System.Buffers.Binary;
using System.Text;
using Ras.Tokenizers.SentencePiece;

namespace Ras.Tests.Tokenizers.SentencePiece;

/// <summary>
/// Writes a small serialized sentencepiece <c>ModelProto</c> (protobuf wire format) for unit tests: pieces, trainer
/// spec and normalizer spec with no precompiled charsmap (the identity normalizer, as Gemma's).
/// </summary>
internal sealed class SentencePieceProtoBuilder
{
    private readonly List<(string Piece, float Score, SentencePieceType Type)> pieces = [];

    public int ModelType { get; init; } = 2;

    public bool ByteFallback { get; init; }

    public bool AddDummyPrefix { get; init; }

    public bool RemoveExtraWhitespaces { get; init; }

    public int UnkId { get; init; }

    public int BosId { get; init; } = 1;

    public int EosId { get; init; } = 2;

    public SentencePieceProtoBuilder Add(string piece, float score = 0, SentencePieceType type = SentencePieceType.Normal)
    {
        pieces.Add((piece, score, type));
        return this;
    }

    /// <summary>All 256 byte pieces <c>&lt;0x00&gt;</c> … <c>&lt;0xFF&gt;</c>.</summary>
    public SentencePieceProtoBuilder AddBytes()
    {
        for (int b = 0; b < 256; b++)
        {
            Add($"<0x{b:X2}>", 0, SentencePieceType.Byte);
        }

        return this;
    }

    public byte[] Build()
    {
        var model = new MemoryStream();
        foreach (var (piece, score, type) in pieces)
        {
            var entry = new MemoryStream();
            WriteBytes(entry, 1, Encoding.UTF8.GetBytes(piece));
            WriteTag(entry, 2, 5);
            byte[] scoreBytes = new byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(scoreBytes, score);
            entry.Write(scoreBytes);
            WriteVarintField(entry, 3, (ulong)type);
            WriteBytes(model, 1, entry.ToArray());
        }

        var trainer = new MemoryStream();
        WriteVarintField(trainer, 3, (ulong)ModelType);
        WriteVarintField(trainer, 35, ByteFallback ? 1UL : 0UL);
        WriteVarintField(trainer, 40, (ulong)UnkId);
        WriteVarintField(trainer, 41, unchecked((ulong)BosId));
        WriteVarintField(trainer, 42, unchecked((ulong)EosId));
        WriteBytes(model, 2, trainer.ToArray());

        var normalizer = new MemoryStream();
        WriteVarintField(normalizer, 3, AddDummyPrefix ? 1UL : 0UL);
        WriteVarintField(normalizer, 4, RemoveExtraWhitespaces ? 1UL : 0UL);
        WriteVarintField(normalizer, 5, 1);
        WriteBytes(model, 3, normalizer.ToArray());
        return model.ToArray();
    }

    private static void WriteTag(Stream s, int field, int wire) => WriteVarint(s, ((ulong)field << 3) | (uint)wire);

    private static void WriteVarintField(Stream s, int field, ulong value)
    {
        WriteTag(s, field, 0);
        WriteVarint(s, value);
    }

    private static void WriteBytes(Stream s, int field, byte[] bytes)
    {
        WriteTag(s, field, 2);
        WriteVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void WriteVarint(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        s.WriteByte((byte)value);
    }
}
