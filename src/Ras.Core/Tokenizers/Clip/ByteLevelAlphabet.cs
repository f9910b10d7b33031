namespace Ras.Tokenizers.Clip;

/// <summary>
/// GPT-2's <c>bytes_to_unicode()</c>, which CLIP's vocabulary is written in: the printable bytes <c>!</c>..<c>~</c>,
/// <c>¡</c>..<c>¬</c>, <c>®</c>..<c>ÿ</c> stand for themselves, the 68 others for U+0100 and up, in byte order.
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>The symbol of each byte value.</summary>
    public static IReadOnlyList<char> Symbols { get; } = BuildSymbols();

    private static readonly Dictionary<char, byte> Bytes = Symbols.Select((symbol, b) => (symbol, b)).ToDictionary(p => p.symbol, p => (byte)p.b);

    /// <summary>The byte a symbol stands for; false for characters outside the alphabet.</summary>
    public static bool TryGetByte(char symbol, out byte value) => Bytes.TryGetValue(symbol, out value);

    private static char[] BuildSymbols()
    {
        var symbols = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
            symbols[b] = printable ? (char)b : (char)next++;
        }

        return symbols;
    }
}
