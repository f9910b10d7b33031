using Ras.Tests.Tokenizers.SentencePiece;
using Ras.Tokenizers.SentencePiece;

namespace Ras.Tests.TestSupport;

/// <summary>
/// Small SentencePiece models written in memory for unit tests and tiny pipelines, so that nothing outside the
/// golden-fixture suites reads <c>../shared/fixtures</c>: a Gemma-like BPE model and a T5-like unigram model over a
/// few dozen words (every word the tests prompt with is one piece; other characters are single pieces or unknown).
/// </summary>
public static class StandInSentencePiece
{
    /// <summary>Words that tokenize to one piece each (lower case; upper-case letters are unknown characters).</summary>
    private static readonly string[] Words =
    [
        "a", "about", "an", "and", "blue", "blurry", "cat", "circle", "dog", "green", "in", "longer", "low", "much", "of",
        "on", "photo", "prompt", "quality", "red", "rose", "small", "square", "standing", "star", "table", "the", "wooden",
    ];

    private const string Characters = "abcdefghijklmnopqrstuvwxyz0123456789.,!?'-";

    /// <summary>
    /// Gemma's settings (BPE, identity normalizer, no dummy prefix, whitespace kept) with the special pieces of the
    /// transformers stand-in Lumina's fixtures use: <c>&lt;unk&gt;</c> 0, <c>&lt;s&gt;</c> 1, <c>&lt;/s&gt;</c> 2. Every
    /// prefix of a word (bare and after <c>▁</c>) is a piece, so BPE always completes a known word.
    /// </summary>
    public static byte[] GemmaLikeBpe()
    {
        var builder = new SentencePieceProtoBuilder { ModelType = 2, UnkId = 0, BosId = 1, EosId = 2 }
            .Add("<unk>", 0, SentencePieceType.Unknown).Add("<s>", 0, SentencePieceType.Control).Add("</s>", 0, SentencePieceType.Control);
        var added = new HashSet<string>(StringComparer.Ordinal) { "<unk>", "<s>", "</s>" };
        float score = 0;
        void Add(string piece)
        {
            if (added.Add(piece))
            {
                builder.Add(piece, score--);
            }
        }

        Add("\u2581");
        foreach (char c in Characters)
        {
            Add(c.ToString());
        }

        foreach (string word in Words)
        {
            for (int length = 1; length <= word.Length; length++)
            {
                Add(word[..length]);
                Add("\u2581" + word[..length]);
            }
        }

        return builder.Build();
    }

    /// <summary>
    /// T5's settings (unigram, dummy prefix, extra whitespace removed; identity instead of nmt_nfkc) and T5's special
    /// ids: <c>&lt;pad&gt;</c> 0, <c>&lt;/s&gt;</c> 1, <c>&lt;unk&gt;</c> 2, no BOS. Whole words score far above their characters.
    /// </summary>
    public static byte[] T5LikeUnigram()
    {
        var builder = new SentencePieceProtoBuilder { ModelType = 1, UnkId = 2, BosId = -1, EosId = 1, AddDummyPrefix = true, RemoveExtraWhitespaces = true }
            .Add("<pad>", 0, SentencePieceType.Control).Add("</s>", 0, SentencePieceType.Control).Add("<unk>", 0, SentencePieceType.Unknown);
        builder.Add("\u2581", -6);
        foreach (char c in Characters)
        {
            builder.Add(c.ToString(), -8);
        }

        foreach (string word in Words)
        {
            builder.Add("\u2581" + word, -2 - (0.01f * word.Length));
        }

        return builder.Build();
    }
}
