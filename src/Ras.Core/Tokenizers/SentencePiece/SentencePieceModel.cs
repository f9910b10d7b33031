using System.Text;
using Ras.Errors;

namespace Ras.Tokenizers.SentencePiece;

/// <summary>
/// A SentencePiece UNIGRAM or BPE model (<c>spiece.model</c>, <c>tokenizer.model</c>: a serialized <c>ModelProto</c>) that
/// encodes text exactly as <c>sentencepiece.SentencePieceProcessor(model_file=…).encode(text)</c> does in sentencepiece
/// 0.1.97: the model's own normalizer (precompiled charsmap, whitespace handling, dummy prefix), Viterbi segmentation
/// (unigram) or score-ordered merges (BPE), runs of unknown characters as one unknown piece, byte fallback when the
/// model enables it. No BOS/EOS is added.
/// </summary>
public sealed class SentencePieceModel
{
    private readonly ModelProto proto;
    private readonly SentencePieceNormalizer normalizer;
    private readonly PieceIndex index;
    private readonly ISentencePieceSegmenter segmenter;
    private readonly Dictionary<string, int> ids;

    private SentencePieceModel(ModelProto proto, string source)
    {
        this.proto = proto;
        normalizer = new SentencePieceNormalizer(proto, source);
        index = new PieceIndex(proto, source);
        segmenter = proto.ModelType switch
        {
            ModelProto.Unigram => new UnigramModel(index),
            ModelProto.Bpe => new BpeModel(index),
            _ => throw new ConfigException(source, "trainer_spec.model_type", $"is {proto.ModelTypeName}; only UNIGRAM and BPE SentencePiece models are supported"),
        };
        ids = [];
        for (int id = 0; id < proto.Pieces.Count; id++)
        {
            ids.TryAdd(proto.Pieces[id].Piece, id);
        }

        Source = source;
    }

    /// <summary>The file (or name) the model was read from.</summary>
    public string Source { get; }

    /// <summary>The vocabulary; an entry's id is its index.</summary>
    public IReadOnlyList<SentencePieceEntry> Pieces => proto.Pieces;

    /// <summary>The segmentation algorithm (<c>trainer_spec.model_type</c>).</summary>
    public SentencePieceModelType ModelType => (SentencePieceModelType)proto.ModelType;

    /// <summary>Id of the unknown piece.</summary>
    public int UnknownId => index.UnknownId;

    /// <summary><c>trainer_spec.bos_id</c>, or -1 when the model has no BOS.</summary>
    public int BosId => proto.BosId;

    /// <summary><c>trainer_spec.eos_id</c>, or -1 when the model has no EOS.</summary>
    public int EosId => proto.EosId;

    /// <summary><c>trainer_spec.pad_id</c>, or -1 when the model has no padding piece.</summary>
    public int PadId => proto.PadId;

    /// <summary>Whether unknown characters become UTF-8 byte pieces instead of the unknown piece.</summary>
    public bool ByteFallback => proto.ByteFallback;

    /// <summary>Largest <c>.model</c> file read (T5's is 0.8 MB, Gemma's 4 MB).</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>Reads a <c>.model</c> file.</summary>
    /// <exception cref="ConfigException">The file is missing, malformed, or neither a unigram nor a BPE model (the message names it).</exception>
    public static SentencePieceModel Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new ConfigException(path, null, "file not found");
        }

        long length = new FileInfo(path).Length;
        if (length > MaxFileBytes)
        {
            throw new ConfigException(path, null, $"is {length} bytes, more than the {MaxFileBytes} a SentencePiece model may have");
        }

        return FromBytes(File.ReadAllBytes(path), path);
    }

    /// <summary>Reads a serialized <c>ModelProto</c>; <paramref name="source"/> names it in errors.</summary>
    public static SentencePieceModel FromBytes(ReadOnlySpan<byte> data, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new SentencePieceModel(ModelProto.Parse(data, source), source);
    }

    /// <summary>The id of <paramref name="piece"/>, or null when the vocabulary lacks it.</summary>
    public int? PieceToId(string piece) => ids.TryGetValue(piece, out int id) ? id : null;

    /// <summary>The ids of <paramref name="text"/> (<c>encode(text, out_type=int)</c>).</summary>
    public int[] Encode(string text) => EncodeToPieces(text).Select(t => t.Id).ToArray();

    /// <summary>The pieces of <paramref name="text"/> with their ids (<c>encode(text, out_type=str)</c> gives the piece strings).</summary>
    public IReadOnlyList<SentencePieceToken> EncodeToPieces(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return segmenter.Encode(normalizer.Normalize(text));
    }

    /// <summary>
    /// <c>decode(ids)</c>: pieces joined, <c>▁</c> read as a space (the first one dropped when the model adds a dummy
    /// prefix), control pieces silent, unknown pieces as the model's unknown surface (" ⁇ "), byte pieces as bytes.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    public string Decode(IEnumerable<int> pieceIds)
    {
        ArgumentNullException.ThrowIfNull(pieceIds);
        var bytes = new List<byte>();
        bool first = true;
        foreach (int id in pieceIds)
        {
            if (id < 0 || id >= Pieces.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(pieceIds), id, $"not an id of {Source} ({Pieces.Count} pieces)");
            }

            SentencePieceEntry entry = Pieces[id];
            switch (entry.Type)
            {
                case SentencePieceType.Control:
                    break;
                case SentencePieceType.Unknown:
                    bytes.AddRange(Encoding.UTF8.GetBytes(proto.UnknownSurface));
                    first = false;
                    break;
                case SentencePieceType.Byte:
                    bytes.Add(Convert.ToByte(entry.Piece[3..5], 16));
                    first = false;
                    break;
                default:
                    // The dummy-prefix space of the text's first piece is not part of the text.
                    string piece = first && proto.AddDummyPrefix && !proto.TreatWhitespaceAsSuffix && entry.Piece[0] == '\u2581' ? entry.Piece[1..] : entry.Piece;
                    bytes.AddRange(Encoding.UTF8.GetBytes(piece.Replace('\u2581', ' ')));
                    first = false;
                    break;
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
