using Ras.Errors;

namespace Ras.Tokenizers.SentencePiece;

/// <summary>
/// The parts of sentencepiece's <c>ModelProto</c> (sentencepiece_model.proto) that encoding needs, with the proto2
/// defaults for absent fields.
/// </summary>
internal sealed class ModelProto
{
    /// <summary><c>TrainerSpec.ModelType.UNIGRAM</c>.</summary>
    public const int Unigram = 1;

    /// <summary><c>TrainerSpec.ModelType.BPE</c>.</summary>
    public const int Bpe = 2;

    private static readonly string[] ModelTypeNames = ["?", "UNIGRAM", "BPE", "WORD", "CHAR"];

    /// <summary>The vocabulary (field 1), id = index.</summary>
    public List<SentencePieceEntry> Pieces { get; } = [];

    /// <summary><c>trainer_spec.model_type</c> (3).</summary>
    public int ModelType { get; private set; } = Unigram;

    /// <summary>Name of <see cref="ModelType"/>.</summary>
    public string ModelTypeName => ModelType >= 0 && ModelType < ModelTypeNames.Length ? ModelTypeNames[ModelType] : ModelType.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary><c>trainer_spec.byte_fallback</c> (35).</summary>
    public bool ByteFallback { get; private set; }

    /// <summary><c>trainer_spec.treat_whitespace_as_suffix</c> (24).</summary>
    public bool TreatWhitespaceAsSuffix { get; private set; }

    /// <summary><c>trainer_spec.unk_id</c> (40).</summary>
    public int UnkId { get; private set; }

    /// <summary><c>trainer_spec.bos_id</c> (41); -1 = none.</summary>
    public int BosId { get; private set; } = 1;

    /// <summary><c>trainer_spec.eos_id</c> (42); -1 = none.</summary>
    public int EosId { get; private set; } = 2;

    /// <summary><c>trainer_spec.pad_id</c> (43); -1 = none.</summary>
    public int PadId { get; private set; } = -1;

    /// <summary><c>trainer_spec.unk_surface</c> (44): what decoding writes for an unknown piece.</summary>
    public string UnknownSurface { get; private set; } = " \u2047 ";

    /// <summary><c>normalizer_spec.precompiled_charsmap</c> (3.2); empty = no normalization rules.</summary>
    public byte[] PrecompiledCharsmap { get; private set; } = [];

    /// <summary><c>normalizer_spec.add_dummy_prefix</c> (3.3).</summary>
    public bool AddDummyPrefix { get; private set; } = true;

    /// <summary><c>normalizer_spec.remove_extra_whitespaces</c> (3.4).</summary>
    public bool RemoveExtraWhitespaces { get; private set; } = true;

    /// <summary><c>normalizer_spec.escape_whitespaces</c> (3.5).</summary>
    public bool EscapeWhitespaces { get; private set; } = true;

    /// <summary>Parses a serialized <c>ModelProto</c>; <paramref name="source"/> names it in errors.</summary>
    public static ModelProto Parse(ReadOnlySpan<byte> data, string source)
    {
        var model = new ModelProto();
        var reader = new ProtoReader(data, source);
        while (reader.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, 2);
                    model.Pieces.Add(ReadPiece(reader.ReadMessage(), source, model.Pieces.Count));
                    break;
                case 2:
                    reader.Expect(field, wire, 2);
                    model.ReadTrainerSpec(reader.ReadMessage());
                    break;
                case 3:
                    reader.Expect(field, wire, 2);
                    model.ReadNormalizerSpec(reader.ReadMessage());
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        if (model.Pieces.Count == 0)
        {
            throw new ConfigException(source, null, "not a valid SentencePiece model: it has no pieces");
        }

        return model;
    }

    private static SentencePieceEntry ReadPiece(ProtoReader reader, string source, int id)
    {
        string? piece = null;
        float score = 0;
        int type = (int)SentencePieceType.Normal;
        while (reader.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, 2);
                    piece = reader.ReadString();
                    break;
                case 2:
                    reader.Expect(field, wire, 5);
                    score = reader.ReadFloat();
                    break;
                case 3:
                    reader.Expect(field, wire, 0);
                    type = reader.ReadInt32();
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        if (string.IsNullOrEmpty(piece))
        {
            throw new ConfigException(source, $"pieces[{id}]", "has no piece text");
        }

        if (type is < 1 or > 6)
        {
            throw new ConfigException(source, $"pieces[{id}]", $"has the unknown type {type}");
        }

        return new SentencePieceEntry(piece, score, (SentencePieceType)type);
    }

    private void ReadTrainerSpec(ProtoReader reader)
    {
        while (reader.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 3: ModelType = ReadVarintField(ref reader, field, wire); break;
                case 24: TreatWhitespaceAsSuffix = ReadVarintField(ref reader, field, wire) != 0; break;
                case 35: ByteFallback = ReadVarintField(ref reader, field, wire) != 0; break;
                case 40: UnkId = ReadVarintField(ref reader, field, wire); break;
                case 41: BosId = ReadVarintField(ref reader, field, wire); break;
                case 42: EosId = ReadVarintField(ref reader, field, wire); break;
                case 43: PadId = ReadVarintField(ref reader, field, wire); break;
                case 44:
                    reader.Expect(field, wire, 2);
                    UnknownSurface = reader.ReadString();
                    break;
                default: reader.Skip(wire); break;
            }
        }
    }

    private void ReadNormalizerSpec(ProtoReader reader)
    {
        while (reader.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 2:
                    reader.Expect(field, wire, 2);
                    PrecompiledCharsmap = reader.ReadBytes().ToArray();
                    break;
                case 3: AddDummyPrefix = ReadVarintField(ref reader, field, wire) != 0; break;
                case 4: RemoveExtraWhitespaces = ReadVarintField(ref reader, field, wire) != 0; break;
                case 5: EscapeWhitespaces = ReadVarintField(ref reader, field, wire) != 0; break;
                default: reader.Skip(wire); break;
            }
        }
    }

    private static int ReadVarintField(ref ProtoReader reader, int field, int wire)
    {
        reader.Expect(field, wire, 0);
        return reader.ReadInt32();
    }
}
