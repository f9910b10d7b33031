using System.Text;

namespace Ras.Tokenizers.SentencePiece;

/// <summary>One piece of a segmentation: a vocabulary id over the normalized bytes <c>[Start, End)</c>.</summary>
internal readonly record struct Segment(int Id, int Start, int End);

/// <summary>
/// The post-processing of sentencepiece 0.1.97's <c>SentencePieceProcessor::Encode</c> (sentencepiece_processor.cc),
/// the same for every model type: with byte fallback an unknown piece becomes one <c>&lt;0xXX&gt;</c> piece per UTF-8
/// byte; without it, a run of consecutive unknown pieces becomes one unknown piece covering all their text.
/// </summary>
internal static class SegmentationOutput
{
    /// <summary>The tokens of <paramref name="segments"/> over <paramref name="normalized"/>, in order.</summary>
    public static List<SentencePieceToken> Build(byte[] normalized, IReadOnlyList<Segment> segments, PieceIndex index)
    {
        var tokens = new List<SentencePieceToken>(segments.Count);
        bool previousUnknown = false;
        foreach (var (id, start, end) in segments)
        {
            bool unknown = id == index.UnknownId;
            if (unknown && index.ByteFallback)
            {
                for (int i = start; i < end; i++)
                {
                    int byteId = index.ByteId(normalized[i]);
                    tokens.Add(new SentencePieceToken(byteId, index.Pieces[byteId].Piece));
                }
            }
            else if (unknown && previousUnknown)
            {
                SentencePieceToken last = tokens[^1];
                tokens[^1] = last with { Piece = last.Piece + Encoding.UTF8.GetString(normalized, start, end - start) };
            }
            else
            {
                tokens.Add(new SentencePieceToken(id, unknown ? Encoding.UTF8.GetString(normalized, start, end - start) : index.Pieces[id].Piece));
            }

            previousUnknown = unknown;
        }

        return tokens;
    }

    /// <summary>sentencepiece's <c>OneCharLen</c>: the UTF-8 sequence length announced by a lead byte (1 for stray bytes).</summary>
    public static int Utf8CharLength(byte lead) => (lead >> 4) switch
    {
        12 or 13 => 2,
        14 => 3,
        15 => 4,
        _ => 1,
    };
}
