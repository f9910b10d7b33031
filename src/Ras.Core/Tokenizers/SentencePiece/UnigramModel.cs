using System.Text;
using Ras.Errors;

namespace Ras.Tokenizers.SentencePiece;

/// <summary>
/// sentencepiece 0.1.97's unigram segmentation (<c>unigram::Model::EncodeOptimized</c>, unigram_model.cc) and the
/// post-processing of <c>SentencePieceProcessor::Encode</c>: a Viterbi pass over the normalized UTF-8 bytes, then
/// runs of unknown pieces merged into one (or, with byte fallback, split into byte pieces).
/// </summary>
internal sealed class UnigramModel
{
    /// <summary><c>kUnkPenalty</c>: an unknown character scores this much below the worst piece.</summary>
    private const float UnknownPenalty = 10.0f;

    private readonly List<SentencePieceEntry> pieces;
    private readonly Dictionary<long, int> children = [];   // (node << 8 | byte) → child node
    private readonly List<int> terminalIds = [-1];          // node → piece id, or -1
    private readonly int[] byteIds = new int[256];
    private readonly float minScore = float.MaxValue;
    private readonly float maxScore = 1.17549435E-38f;      // FLT_MIN, as the C++ initialises it
    private readonly bool byteFallback;

    /// <summary>Indexes the pieces of <paramref name="model"/> (a UNIGRAM model).</summary>
    public UnigramModel(ModelProto model, string source)
    {
        if (model.ModelType != ModelProto.Unigram)
        {
            throw new ConfigException(source, "trainer_spec.model_type", $"is {model.ModelTypeName}; only UNIGRAM SentencePiece models are supported");
        }

        pieces = model.Pieces;
        byteFallback = model.ByteFallback;
        UnknownId = -1;
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var byteIdsByPiece = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < pieces.Count; id++)
        {
            SentencePieceEntry entry = pieces[id];
            if (!seen.TryAdd(entry.Piece, id))
            {
                throw new ConfigException(source, $"pieces[{id}]", $"'{entry.Piece}' is already piece {seen[entry.Piece]}");
            }

            switch (entry.Type)
            {
                case SentencePieceType.Normal:
                    minScore = Math.Min(minScore, entry.Score);
                    maxScore = Math.Max(maxScore, entry.Score);
                    AddToTrie(entry.Piece, id);
                    break;
                case SentencePieceType.UserDefined:
                    AddToTrie(entry.Piece, id);
                    break;
                case SentencePieceType.Unused:
                    AddToTrie(entry.Piece, -1); // in the trie but never chosen
                    break;
                case SentencePieceType.Unknown:
                    UnknownId = UnknownId < 0 ? id : throw new ConfigException(source, $"pieces[{id}]", $"is a second unknown piece (the first is {UnknownId})");
                    break;
                case SentencePieceType.Byte:
                    if (!byteFallback)
                    {
                        throw new ConfigException(source, $"pieces[{id}]", "is a byte piece but trainer_spec.byte_fallback is false");
                    }

                    if (entry.Piece.Length != 6 || !entry.Piece.StartsWith("<0x", StringComparison.Ordinal) || entry.Piece[5] != '>'
                        || !byte.TryParse(entry.Piece.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out _))
                    {
                        throw new ConfigException(source, $"pieces[{id}]", $"is a byte piece but '{entry.Piece}' is not of the form <0xXX>");
                    }

                    byteIdsByPiece[entry.Piece] = id;
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
            byteIds[b] = byteIdsByPiece.GetValueOrDefault($"<0x{b:X2}>", UnknownId);
        }
    }

    /// <summary>The unknown piece's id (the UNKNOWN-typed piece, whatever <c>trainer_spec.unk_id</c> says).</summary>
    public int UnknownId { get; }

    /// <summary>Segments normalized text (UTF-8) into pieces.</summary>
    public List<SentencePieceToken> Encode(byte[] normalized)
    {
        var path = BestPath(normalized);
        var tokens = new List<SentencePieceToken>(path.Count);
        bool previousUnknown = false;
        foreach (var (id, start, end) in path)
        {
            bool unknown = id == UnknownId;
            if (unknown && byteFallback)
            {
                for (int i = start; i < end; i++)
                {
                    int byteId = byteIds[normalized[i]];
                    tokens.Add(new SentencePieceToken(byteId, pieces[byteId].Piece));
                }
            }
            else if (unknown && previousUnknown)
            {
                // Consecutive unknown pieces become one, covering all their text.
                var last = tokens[^1];
                tokens[^1] = last with { Piece = last.Piece + Encoding.UTF8.GetString(normalized, start, end - start) };
            }
            else
            {
                tokens.Add(new SentencePieceToken(id, unknown ? Encoding.UTF8.GetString(normalized, start, end - start) : pieces[id].Piece));
            }

            previousUnknown = unknown;
        }

        return tokens;
    }

    /// <summary>The best-scoring segmentation as (id, start, end) byte ranges, in order.</summary>
    private List<(int Id, int Start, int End)> BestPath(byte[] text)
    {
        int size = text.Length;
        var bestScore = new float[size + 1];
        var startsAt = new int[size + 1];
        var ids = new int[size + 1];
        Array.Fill(startsAt, -1);
        float unknownScore = minScore - UnknownPenalty;

        for (int start = 0; start < size;)
        {
            float scoreTillHere = bestScore[start];
            int charLength = Math.Min(Utf8CharLength(text[start]), size - start);
            bool hasSingleCharPiece = false;
            int node = 0;
            for (int end = start; end < size;)
            {
                if (!children.TryGetValue(((long)node << 8) | text[end], out node))
                {
                    break;
                }

                end++;
                int id = terminalIds[node];
                if (id < 0)
                {
                    continue;
                }

                int length = end - start;

                // C++: `IsUserDefined ? (length * max_score_ - 0.1) : GetScore(id)` is a double expression, and the
                // candidate (score + float) is compared in double before being stored as float. Comparing in float
                // instead changes ties on repetitive text.
                double score = pieces[id].Type == SentencePieceType.UserDefined ? (double)(length * maxScore) - 0.1 : pieces[id].Score;
                double candidate = score + scoreTillHere;
                if (startsAt[end] == -1 || candidate > bestScore[end])
                {
                    bestScore[end] = (float)candidate;
                    startsAt[end] = start;
                    ids[end] = id;
                }

                if (length == charLength)
                {
                    hasSingleCharPiece = true;
                }
            }

            if (!hasSingleCharPiece)
            {
                // No piece covers this character alone: an unknown piece does.
                int end = start + charLength;
                float candidate = unknownScore + scoreTillHere;
                if (startsAt[end] == -1 || candidate > bestScore[end])
                {
                    bestScore[end] = candidate;
                    startsAt[end] = start;
                    ids[end] = UnknownId;
                }
            }

            start += charLength;
        }

        var path = new List<(int, int, int)>();
        for (int end = size; end > 0; end = startsAt[end])
        {
            path.Add((ids[end], startsAt[end], end));
        }

        path.Reverse();
        return path;
    }

    /// <summary>sentencepiece's <c>OneCharLen</c>: the UTF-8 sequence length announced by a lead byte (1 for stray bytes).</summary>
    private static int Utf8CharLength(byte lead) => (lead >> 4) switch
    {
        12 or 13 => 2,
        14 => 3,
        15 => 4,
        _ => 1,
    };

    private void AddToTrie(string piece, int id)
    {
        int node = 0;
        foreach (byte b in Encoding.UTF8.GetBytes(piece))
        {
            long key = ((long)node << 8) | b;
            if (!children.TryGetValue(key, out int child))
            {
                child = terminalIds.Count;
                terminalIds.Add(-1);
                children[key] = child;
            }

            node = child;
        }

        terminalIds[node] = id;
    }
}
