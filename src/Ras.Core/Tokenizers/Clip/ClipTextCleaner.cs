using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Ras.Tokenizers.Clip;

/// <summary>
/// The text cleanup of transformers' slow <c>CLIPTokenizer</c> when ftfy is not installed:
/// <c>" ".join(BasicTokenizer(do_lower_case=True, strip_accents=False, do_split_on_punc=False).tokenize(text))</c>
/// (transformers/models/bert/tokenization_bert.py). Character classes come from Unicode 14.0, the reference's.
/// </summary>
internal static class ClipTextCleaner
{
    /// <summary>Cleans <paramref name="text"/>: drop controls, whitespace to spaces, CJK spacing, NFC, split, lower, join.</summary>
    public static string Clean(string text)
    {
        // _clean_text + _tokenize_chinese_chars, one code point at a time (Python iterates code points).
        var builder = new StringBuilder(text.Length + 16);
        for (int i = 0; i < text.Length;)
        {
            int length = CodePointAt(text, i, out int cp, out UnicodeCategory category);
            if (cp is 0 or 0xFFFD || IsControl(cp, category))
            {
                // dropped
            }
            else if (cp is '\t' or '\n' or '\r' or ' ' || category == UnicodeCategory.SpaceSeparator)
            {
                builder.Append(' ');
            }
            else if (IsCjkIdeograph(cp))
            {
                builder.Append(' ').Append(text, i, length).Append(' ');
            }
            else
            {
                builder.Append(text, i, length);
            }

            i += length;
        }

        // NFC, then whitespace_tokenize (str.strip().split()), lower-case each word, join with single spaces.
        string normalized = UnicodeNfc.Normalize(builder.ToString());
        var words = new List<string>();
        int start = -1;
        for (int i = 0; i <= normalized.Length;)
        {
            int length = 1;
            bool space = i == normalized.Length;
            if (!space)
            {
                length = CodePointAt(normalized, i, out int cp, out _);
                space = IsPythonSpace(cp);
            }

            if (space && start >= 0)
            {
                words.Add(PythonLowercase.Lower(normalized[start..i]));
                start = -1;
            }
            else if (!space && start < 0)
            {
                start = i;
            }

            i += length;
        }

        return string.Join(' ', words);
    }

    /// <summary>Python's <c>str.isspace()</c> (bidirectional class WS, B or S, or category Zs): what <c>str.split()</c> splits on.</summary>
    public static bool IsPythonSpace(int cp) => cp is (>= 0x09 and <= 0x0D) or (>= 0x1C and <= 0x20) or 0x85 or 0xA0 or 0x1680
        or (>= 0x2000 and <= 0x200A) or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;

    /// <summary>
    /// The code point at <paramref name="index"/> and its Unicode 14.0 category; returns its length in chars. A lone
    /// surrogate is one code point of category Cs, as in a Python string.
    /// </summary>
    public static int CodePointAt(string text, int index, out int cp, out UnicodeCategory category)
    {
        char c = text[index];
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            cp = char.ConvertToUtf32(c, text[index + 1]);
            category = Category(cp);
            return 2;
        }

        cp = c;
        category = char.IsSurrogate(c) ? UnicodeCategory.Surrogate : Category(cp);
        return 1;
    }

    /// <summary>The general category as Unicode 14.0 assigns it (.NET's data is newer: later code points are Cn here).</summary>
    private static UnicodeCategory Category(int cp) =>
        Unicode14.IsUnassigned(cp) ? UnicodeCategory.OtherNotAssigned : CharUnicodeInfo.GetUnicodeCategory(cp);

    /// <summary>BasicTokenizer's <c>_is_control</c>: category C* except tab, newline and carriage return.</summary>
    private static bool IsControl(int cp, UnicodeCategory category) =>
        cp is not ('\t' or '\n' or '\r') && category is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    /// <summary>BasicTokenizer's <c>_is_chinese_char</c>: the CJK Unified / Compatibility Ideograph blocks (not kana, not hangul).</summary>
    private static bool IsCjkIdeograph(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);
}

/// <summary>Plugs <see cref="ClipTextCleaner"/> into Microsoft.ML.Tokenizers' pipeline as its normalizer.</summary>
internal sealed class ClipNormalizer : Normalizer
{
    /// <summary>The one instance (the normalizer has no state).</summary>
    public static ClipNormalizer Instance { get; } = new();

    /// <inheritdoc/>
    public override string Normalize(string original) => ClipTextCleaner.Clean(original);

    /// <inheritdoc/>
    public override string Normalize(ReadOnlySpan<char> original) => ClipTextCleaner.Clean(original.ToString());
}
