using System.Globalization;
using Microsoft.ML.Tokenizers;

namespace Ras.Tokenizers.Clip;

/// <summary>
/// CLIP's pre-tokenizer regex, <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// with <c>re.IGNORECASE</c> (Python <c>regex</c> module), matched over code points. A .NET <c>Regex</c> sees UTF-16
/// units, so astral letters and digits (𝐀, 𝟏) would fall into the wrong class; hence this hand-written matcher.
/// Runs on cleaned text, which is lower-case and has single spaces only.
/// </summary>
internal sealed class ClipPreTokenizer : PreTokenizer
{
    // The regex's literal alternatives, in its order: CLIP's two special tokens, then the contractions.
    private static readonly string[] Literals = ["<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    /// <summary>The one instance (the pre-tokenizer has no state).</summary>
    public static ClipPreTokenizer Instance { get; } = new();

    /// <inheritdoc/>
    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text.ToString());

    /// <inheritdoc/>
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text);

    /// <summary>The matches of the CLIP regex in <paramref name="text"/>, as (offset, length) in chars.</summary>
    public static List<(int Offset, int Length)> Split(string text)
    {
        var matches = new List<(int, int)>();
        int i = 0;
        while (i < text.Length)
        {
            int length = ClipTextCleaner.CodePointAt(text, i, out int cp, out UnicodeCategory category);
            if (ClipTextCleaner.IsPythonSpace(cp))
            {
                i += length;
                continue;
            }

            // The alternatives in the regex's order: literals first, then the character classes.
            string? literal = Array.Find(Literals, l => LiteralAt(text, i, l));
            if (literal is not null)
            {
                matches.Add((i, literal.Length));
                i += literal.Length;
                continue;
            }

            int end = i + length;
            if (IsLetter(category))
            {
                while (end < text.Length && IsLetter(Next(text, end, out int l2, out _)))
                {
                    end += l2;
                }
            }
            else if (!IsNumber(category))
            {
                // [^\s\p{L}\p{N}]+ : greedy run of everything else ([\p{N}] is one code point on its own).
                while (end < text.Length)
                {
                    UnicodeCategory c2 = Next(text, end, out int l2, out int cp2);
                    if (ClipTextCleaner.IsPythonSpace(cp2) || IsLetter(c2) || IsNumber(c2))
                    {
                        break;
                    }

                    end += l2;
                }
            }

            matches.Add((i, end - i));
            i = end;
        }

        return matches;
    }

    private static UnicodeCategory Next(string text, int index, out int length, out int cp)
    {
        length = ClipTextCleaner.CodePointAt(text, index, out cp, out UnicodeCategory category);
        return category;
    }

    /// <summary>Case-insensitive literal match; the only non-ASCII simple case fold onto these letters is ſ (U+017F) → s.</summary>
    private static bool LiteralAt(string text, int index, string literal)
    {
        if (index + literal.Length > text.Length)
        {
            return false;
        }

        for (int k = 0; k < literal.Length; k++)
        {
            char a = text[index + k], b = literal[k];
            if (a != b && char.ToLowerInvariant(a) != b && !(b == 's' && a == '\u017F'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsLetter(UnicodeCategory c) => c <= UnicodeCategory.OtherLetter; // Lu Ll Lt Lm Lo

    private static bool IsNumber(UnicodeCategory c) =>
        c is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;
}
