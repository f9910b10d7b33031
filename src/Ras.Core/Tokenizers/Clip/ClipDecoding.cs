using System.Text;

namespace Ras.Tokenizers.Clip;

/// <summary>
/// transformers' slow-tokenizer decoding as <c>CLIPTokenizer</c> inherits it (<c>PreTrainedTokenizer._decode</c>,
/// <c>CLIPTokenizer.convert_tokens_to_string</c>, <c>clean_up_tokenization</c>), for the text of truncation warnings.
/// </summary>
internal static class ClipDecoding
{
    /// <summary>Joins token strings: added tokens that are not special stand alone, the rest is decoded byte-level; pieces joined by spaces.</summary>
    public static string Decode(IEnumerable<string> tokens, IReadOnlySet<string> standaloneTokens, bool cleanUpSpaces)
    {
        var parts = new List<string>();
        var current = new List<string>();
        foreach (string token in tokens)
        {
            if (!standaloneTokens.Contains(token))
            {
                current.Add(token);
                continue;
            }

            if (current.Count > 0)
            {
                string text = TokensToString(current);
                if (text.Length > 0)
                {
                    parts.Add(text);
                }

                current.Clear();
            }

            parts.Add(token);
        }

        if (current.Count > 0)
        {
            parts.Add(TokensToString(current));
        }

        string joined = string.Join(' ', parts);
        return cleanUpSpaces ? CleanUpTokenization(joined) : joined;
    }

    /// <summary>
    /// <c>bytearray(byte_decoder[c] for c in "".join(tokens)).decode("utf-8", errors="replace").replace("&lt;/w&gt;", " ").strip()</c>.
    /// A character outside the byte alphabet (Python would raise KeyError) contributes its own UTF-8 bytes.
    /// </summary>
    private static string TokensToString(List<string> tokens)
    {
        var bytes = new List<byte>();
        Span<byte> utf8 = stackalloc byte[4];
        foreach (string token in tokens)
        {
            foreach (Rune rune in token.EnumerateRunes())
            {
                if (rune.IsBmp && ByteLevelAlphabet.TryGetByte((char)rune.Value, out byte b))
                {
                    bytes.Add(b);
                }
                else
                {
                    int n = rune.EncodeToUtf8(utf8);
                    bytes.AddRange(utf8[..n].ToArray());
                }
            }
        }

        // .NET's UTF-8 decoder replaces each maximal invalid subsequence with U+FFFD, as Python's "replace" does.
        string text = Encoding.UTF8.GetString(bytes.ToArray()).Replace("</w>", " ", StringComparison.Ordinal);
        return StripPython(text);
    }

    /// <summary>transformers' <c>clean_up_tokenization</c>: removes the space before punctuation and English contractions.</summary>
    private static string CleanUpTokenization(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal)
        .Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal)
        .Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal)
        .Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);

    /// <summary>Python's <c>str.strip()</c> (whitespace as <c>str.isspace</c> defines it; all of it is in the BMP).</summary>
    private static string StripPython(string text)
    {
        int start = 0, end = text.Length;
        while (start < end && ClipTextCleaner.IsPythonSpace(text[start]))
        {
            start++;
        }

        while (end > start && ClipTextCleaner.IsPythonSpace(text[end - 1]))
        {
            end--;
        }

        return text[start..end];
    }
}
