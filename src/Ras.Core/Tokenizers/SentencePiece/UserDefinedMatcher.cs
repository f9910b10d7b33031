using System.Text;

namespace Ras.Tokenizers.SentencePiece;

/// <summary>sentencepiece's <c>PrefixMatcher</c>: the longest user-defined symbol at the start of a UTF-8 text.</summary>
internal sealed class UserDefinedMatcher(IEnumerable<string> symbols)
{
    private readonly byte[][] symbols = [.. symbols.Select(s => Encoding.UTF8.GetBytes(s)).OrderByDescending(s => s.Length)];

    /// <summary>Byte length of the longest symbol <paramref name="input"/> starts with; 0 when none.</summary>
    public int LongestPrefix(ReadOnlySpan<byte> input)
    {
        foreach (byte[] symbol in symbols)
        {
            if (input.StartsWith(symbol))
            {
                return symbol.Length;
            }
        }

        return 0;
    }
}
