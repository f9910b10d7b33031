using System.Text;

namespace Ras.Tokenizers.SentencePiece;

/// <summary>
/// sentencepiece 0.1.97's unigram segmentation (<c>unigram::Model::EncodeOptimized</c>, unigram_model.cc): a Viterbi
/// pass over the normalized UTF-8 bytes, then <see cref="SegmentationOutput"/>'s unknown-run and byte-fallback handling.
/// </summary>
internal sealed class UnigramModel : ISentencePieceSegmenter
{
    /// <summary><c>kUnkPenalty</c>: an unknown character scores this much below the worst piece.</summary>
    private const float UnknownPenalty = 10.0f;

    private readonly PieceIndex index;
    private readonly Dictionary<long, int> children = [];   // (node << 8 | byte) → child node
    private readonly List<int> terminalIds = [-1];          // node → piece id, or -1
    private readonly float minScore = float.MaxValue;
    private readonly float maxScore = 1.17549435E-38f;      // FLT_MIN, as the C++ initialises it

    /// <summary>Indexes the pieces of a UNIGRAM model.</summary>
    public UnigramModel(PieceIndex index)
    {
        this.index = index;
        for (int id = 0; id < index.Pieces.Count; id++)
        {
            SentencePieceEntry entry = index.Pieces[id];
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
            }
        }
    }

    /// <inheritdoc />
    public List<SentencePieceToken> Encode(byte[] normalized) =>
        SegmentationOutput.Build(normalized, BestPath(normalized), index);

    /// <summary>The best-scoring segmentation as (id, start, end) byte ranges, in order.</summary>
    private List<Segment> BestPath(byte[] text)
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
            int charLength = Math.Min(SegmentationOutput.Utf8CharLength(text[start]), size - start);
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
                double score = index.Pieces[id].Type == SentencePieceType.UserDefined ? (double)(length * maxScore) - 0.1 : index.Pieces[id].Score;
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
                    ids[end] = index.UnknownId;
                }
            }

            start += charLength;
        }

        var path = new List<Segment>();
        for (int end = size; end > 0; end = startsAt[end])
        {
            path.Add(new Segment(ids[end], startsAt[end], end));
        }

        path.Reverse();
        return path;
    }

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
