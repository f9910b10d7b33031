using System.Globalization;
using Ras.Errors;

namespace Ras.Tokenizers.SentencePiece;

/// <summary>
/// The vocabulary lookups of sentencepiece 0.1.97's <c>ModelInterface::InitializePieces</c> (model_interface.cc), shared
/// by the unigram and BPE models: ordinary pieces (normal, user-defined, unused) and reserved ones (control, unknown,
/// byte) by text, the unknown id and the byte-fallback ids. A model sentencepiece would refuse is refused here too,
/// naming the piece.
/// </summary>
internal sealed class PieceIndex
{
    private readonly Dictionary<string, int> ordinary = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> reserved = new(StringComparer.Ordinal);
    private readonly int[] byteIds = new int[256];

    /// <summary>Indexes the pieces of <paramref name="model"/>; <paramref name="source"/> names it in errors.</summary>
    public PieceIndex(ModelProto model, string source)
    {
        Pieces = model.Pieces;
        ByteFallback = model.ByteFallback;
        UnknownId = -1;
        var userDefined = new List<string>();
        for (int id = 0; id < Pieces.Count; id++)
        {
            SentencePieceEntry entry = Pieces[id];
            bool isOrdinary = entry.Type is SentencePieceType.Normal or SentencePieceType.UserDefined or SentencePieceType.Unused;
            int existing = ordinary.TryGetValue(entry.Piece, out int o) ? o : reserved.GetValueOrDefault(entry.Piece, -1);
            if (existing >= 0)
            {
                throw new ConfigException(source, $"pieces[{id}]", $"'{entry.Piece}' is already piece {existing}");
            }

            (isOrdinary ? ordinary : reserved)[entry.Piece] = id;
            switch (entry.Type)
            {
                case SentencePieceType.UserDefined:
                    userDefined.Add(entry.Piece);
                    break;
                case SentencePieceType.Unknown:
                    UnknownId = UnknownId < 0 ? id : throw new ConfigException(source, $"pieces[{id}]", $"is a second unknown piece (the first is {UnknownId})");
                    break;
                case SentencePieceType.Byte:
                    CheckBytePiece(entry.Piece, id, source);
                    break;
            }
        }

        if (UnknownId < 0)
        {
            throw new ConfigException(source, null, "not a usable SentencePiece model: it has no unknown (<unk>) piece");
        }

        // PieceToId("<0xXX>"): a missing byte piece maps to the unknown id, as in sentencepiece.
        for (int b = 0; b < 256; b++)
        {
            byteIds[b] = reserved.GetValueOrDefault($"<0x{b:X2}>", UnknownId);
        }

        UserDefinedSymbols = userDefined;
    }

    /// <summary>The vocabulary; an entry's id is its index.</summary>
    public IReadOnlyList<SentencePieceEntry> Pieces { get; }

    /// <summary>The unknown piece's id (the UNKNOWN-typed piece, whatever <c>trainer_spec.unk_id</c> says).</summary>
    public int UnknownId { get; }

    /// <summary>Whether unknown pieces are emitted as their UTF-8 bytes.</summary>
    public bool ByteFallback { get; }

    /// <summary>The user-defined pieces, which are always kept whole.</summary>
    public IReadOnlyList<string> UserDefinedSymbols { get; }

    /// <summary><c>ModelInterface::PieceToId</c>: reserved pieces first, then ordinary ones, else the unknown id.</summary>
    public int PieceToId(string piece) =>
        reserved.TryGetValue(piece, out int id) || ordinary.TryGetValue(piece, out id) ? id : UnknownId;

    /// <summary>An ordinary piece (normal, user-defined or unused) by text: what segmentation may produce.</summary>
    public bool TryGetOrdinary(string piece, out int id) => ordinary.TryGetValue(piece, out id);

    /// <summary>The id of byte piece <c>&lt;0xXX&gt;</c> for <paramref name="value"/> (the unknown id if the model lacks it).</summary>
    public int ByteId(byte value) => byteIds[value];

    private void CheckBytePiece(string piece, int id, string source)
    {
        if (!ByteFallback)
        {
            throw new ConfigException(source, $"pieces[{id}]", "is a byte piece but trainer_spec.byte_fallback is false");
        }

        if (piece.Length != 6 || !piece.StartsWith("<0x", StringComparison.Ordinal) || piece[5] != '>'
            || !byte.TryParse(piece.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out _))
        {
            throw new ConfigException(source, $"pieces[{id}]", $"is a byte piece but '{piece}' is not of the form <0xXX>");
        }
    }
}
