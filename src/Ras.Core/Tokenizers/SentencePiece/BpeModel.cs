using System.Text;

namespace Ras.Tokenizers.SentencePiece;

/// <summary>
/// sentencepiece 0.1.97's BPE segmentation (<c>bpe::Model::SampleEncode</c> without dropout, bpe_model.cc): the
/// normalized text starts as characters (a user-defined symbol is one frozen symbol), then the adjacent pair whose
/// concatenation is a piece with the highest score is merged, the leftmost on ties, until no pair is a piece. Merged
/// pieces of type UNUSED are split back into the two symbols they were made of. Characters no piece covers stay
/// unknown; <see cref="SegmentationOutput"/> merges their runs or applies byte fallback.
/// </summary>
internal sealed class BpeModel : ISentencePieceSegmenter
{
    private readonly PieceIndex index;
    private readonly UserDefinedMatcher? userDefined;

    /// <summary>Indexes a BPE model's pieces.</summary>
    public BpeModel(PieceIndex index)
    {
        this.index = index;
        userDefined = index.UserDefinedSymbols.Count > 0 ? new UserDefinedMatcher(index.UserDefinedSymbols) : null;
    }

    /// <inheritdoc />
    public List<SentencePieceToken> Encode(byte[] normalized)
    {
        if (normalized.Length == 0)
        {
            return [];
        }

        Symbol[] symbols = SplitIntoCharacters(normalized);
        var agenda = new PriorityQueue<Pair, (float Score, int Left)>(PairOrder.Instance);
        var reverseMerges = new Dictionary<string, int>(StringComparer.Ordinal);   // unused piece → byte length of its left part

        void MaybeAddPair(int left, int right)
        {
            if (left < 0 || right < 0 || symbols[left].Frozen || symbols[right].Frozen)
            {
                return;
            }

            int size = symbols[left].Length + symbols[right].Length;
            string piece = Encoding.UTF8.GetString(normalized, symbols[left].Start, size);
            if (!index.TryGetOrdinary(piece, out int id))
            {
                return;
            }

            agenda.Enqueue(new Pair(left, right, size), (index.Pieces[id].Score, left));
            if (index.Pieces[id].Type == SentencePieceType.Unused)
            {
                reverseMerges[piece] = symbols[left].Length;
            }
        }

        for (int i = 1; i < symbols.Length; i++)
        {
            MaybeAddPair(i - 1, i);
        }

        while (agenda.TryDequeue(out Pair top, out _))
        {
            ref Symbol left = ref symbols[top.Left];
            ref Symbol right = ref symbols[top.Right];

            // A queued pair is stale once either side was merged into something else.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != top.Size)
            {
                continue;
            }

            left.Length += right.Length;
            left.Next = right.Next;
            if (right.Next >= 0)
            {
                symbols[right.Next].Previous = top.Left;
            }

            right.Length = 0;
            MaybeAddPair(left.Previous, top.Left);
            MaybeAddPair(top.Left, left.Next);
        }

        var segments = new List<Segment>(symbols.Length);
        for (int i = 0; i >= 0; i = symbols[i].Next)
        {
            Resegment(normalized, symbols[i].Start, symbols[i].Length, reverseMerges, segments);
        }

        return SegmentationOutput.Build(normalized, segments, index);
    }

    /// <summary>One symbol per UTF-8 character, or per user-defined symbol (frozen: never merged).</summary>
    private Symbol[] SplitIntoCharacters(byte[] normalized)
    {
        var symbols = new List<Symbol>();
        for (int at = 0; at < normalized.Length;)
        {
            int length = userDefined?.LongestPrefix(normalized.AsSpan(at)) ?? 0;
            bool frozen = length > 0;
            if (!frozen)
            {
                length = Math.Min(SegmentationOutput.Utf8CharLength(normalized[at]), normalized.Length - at);
            }

            int index = symbols.Count;
            symbols.Add(new Symbol(at, length, index - 1, at + length < normalized.Length ? index + 1 : -1, frozen));
            at += length;
        }

        return [.. symbols];
    }

    /// <summary>Emits a final symbol; an UNUSED piece is replaced, recursively, by the two symbols it was merged from.</summary>
    private void Resegment(byte[] normalized, int start, int length, Dictionary<string, int> reverseMerges, List<Segment> output)
    {
        string piece = Encoding.UTF8.GetString(normalized, start, length);
        int id = index.PieceToId(piece);
        if (index.Pieces[id].Type != SentencePieceType.Unused || !reverseMerges.TryGetValue(piece, out int leftLength))
        {
            output.Add(new Segment(id, start, start + length));
            return;
        }

        Resegment(normalized, start, leftLength, reverseMerges, output);
        Resegment(normalized, start + leftLength, length - leftLength, reverseMerges, output);
    }

    /// <summary>A symbol: bytes <c>[Start, Start + Length)</c> of the normalized text (Length 0 once merged away), linked to its neighbours.</summary>
    private record struct Symbol(int Start, int Length, int Previous, int Next, bool Frozen);

    /// <summary>A candidate merge of adjacent symbols and the byte size of the result when it was queued.</summary>
    private readonly record struct Pair(int Left, int Right, int Size);

    /// <summary>sentencepiece's <c>SymbolPairComparator</c> as a min-queue order: higher score first, then the leftmost pair.</summary>
    private sealed class PairOrder : IComparer<(float Score, int Left)>
    {
        public static readonly PairOrder Instance = new();

        public int Compare((float Score, int Left) x, (float Score, int Left) y) =>
            x.Score != y.Score ? y.Score.CompareTo(x.Score) : x.Left.CompareTo(y.Left);
    }
}
