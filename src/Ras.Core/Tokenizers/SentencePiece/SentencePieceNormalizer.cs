using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Ras.Errors;

namespace Ras.Tokenizers.SentencePiece;

/// <summary>
/// sentencepiece 0.1.97's <c>Normalizer::Normalize</c> (normalizer.cc) over the model's precompiled charsmap: the
/// longest matching rule (a darts-clone double-array trie over UTF-8) replaces each prefix, whitespace is trimmed and
/// collapsed, and spaces become <c>▁</c> with a dummy prefix in front. A rule may map to the empty string (controls,
/// zero-width characters), which deletes the character.
/// </summary>
internal sealed class SentencePieceNormalizer
{
    private static readonly byte[] SpaceSymbol = "\u2581"u8.ToArray();
    private static readonly byte[] ReplacementCharacter = "\uFFFD"u8.ToArray();

    private readonly uint[] trie;
    private readonly byte[] replacements;
    private readonly UserDefinedMatcher? userDefined;
    private readonly string source;
    private readonly bool addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces, treatWhitespaceAsSuffix;

    /// <summary>Builds the normalizer of <paramref name="model"/>; user-defined pieces pass through unnormalized.</summary>
    public SentencePieceNormalizer(ModelProto model, string source)
    {
        this.source = source;
        (trie, replacements) = DecodeCharsmap(model.PrecompiledCharsmap, source);
        var symbols = model.Pieces.Where(p => p.Type == SentencePieceType.UserDefined).Select(p => p.Piece).ToArray();
        userDefined = symbols.Length > 0 ? new UserDefinedMatcher(symbols) : null;
        addDummyPrefix = model.AddDummyPrefix;
        removeExtraWhitespaces = model.RemoveExtraWhitespaces;
        escapeWhitespaces = model.EscapeWhitespaces;
        treatWhitespaceAsSuffix = model.TreatWhitespaceAsSuffix;
    }

    /// <summary>The normalized UTF-8 bytes of <paramref name="text"/>.</summary>
    public byte[] Normalize(string text)
    {
        ReadOnlySpan<byte> input = Encoding.UTF8.GetBytes(text);
        if (input.IsEmpty)
        {
            return [];
        }

        // Leading whitespace is dropped.
        if (removeExtraWhitespaces)
        {
            while (!input.IsEmpty)
            {
                int consumed = NormalizePrefix(input, out ReadOnlySpan<byte> piece);
                if (!piece.SequenceEqual(" "u8))
                {
                    break;
                }

                input = input[consumed..];
            }
        }

        if (input.IsEmpty)
        {
            return [];
        }

        var output = new ArrayBufferWriter<byte>(input.Length * 3);
        ReadOnlySpan<byte> space = escapeWhitespaces ? SpaceSymbol : " "u8;
        if (!treatWhitespaceAsSuffix && addDummyPrefix)
        {
            output.Write(space);
        }

        bool previousWasSpace = removeExtraWhitespaces;
        while (!input.IsEmpty)
        {
            int consumed = NormalizePrefix(input, out ReadOnlySpan<byte> piece);

            // A piece's leading spaces are dropped after a piece that ended with one (collapsing runs).
            while (previousWasSpace && !piece.IsEmpty && piece[0] == (byte)' ')
            {
                piece = piece[1..];
            }

            if (!piece.IsEmpty)
            {
                foreach (byte b in piece)
                {
                    if (escapeWhitespaces && b == (byte)' ')
                    {
                        output.Write(SpaceSymbol);
                    }
                    else
                    {
                        output.Write([b]);
                    }
                }

                previousWasSpace = piece[^1] == (byte)' ';
            }

            input = input[consumed..];
            if (!removeExtraWhitespaces)
            {
                previousWasSpace = false;
            }
        }

        // Trailing whitespace is dropped (any trailing space symbol, including one typed as ▁).
        int length = output.WrittenCount;
        if (removeExtraWhitespaces)
        {
            while (length >= space.Length && output.WrittenSpan[..length].EndsWith(space))
            {
                length -= space.Length;
            }
        }

        byte[] result = output.WrittenSpan[..length].ToArray();
        if (treatWhitespaceAsSuffix && addDummyPrefix)
        {
            result = [.. result, .. space];
        }

        return result;
    }

    /// <summary><c>Normalizer::NormalizePrefix</c>: the replacement of the longest rule at the start; returns the bytes it consumes.</summary>
    private int NormalizePrefix(ReadOnlySpan<byte> input, out ReadOnlySpan<byte> piece)
    {
        if (userDefined is not null && userDefined.LongestPrefix(input) is int symbolLength and > 0)
        {
            piece = input[..symbolLength];
            return symbolLength;
        }

        var (length, value) = LongestRule(input);
        if (length > 0)
        {
            if (value >= replacements.Length)
            {
                throw new ConfigException(source, "normalizer_spec.precompiled_charsmap", $"is malformed (a rule points at byte {value} of {replacements.Length})");
            }

            int end = Array.IndexOf(replacements, (byte)0, value);
            piece = replacements.AsSpan(value, (end < 0 ? replacements.Length : end) - value);
            return length;
        }

        // No rule: one UTF-8 character passes through; a malformed byte becomes U+FFFD and consumes one byte.
        if (Rune.DecodeFromUtf8(input, out _, out int consumed) == OperationStatus.Done)
        {
            piece = input[..consumed];
            return consumed;
        }

        piece = ReplacementCharacter;
        return 1;
    }

    /// <summary>darts-clone <c>commonPrefixSearch</c>, keeping the longest match: (bytes matched, offset of the replacement).</summary>
    private (int Length, int Value) LongestRule(ReadOnlySpan<byte> key)
    {
        if (trie.Length == 0)
        {
            return (0, 0);
        }

        int bestLength = 0, bestValue = 0;
        uint position = Offset(trie[0]);
        for (int i = 0; i < key.Length; i++)
        {
            position ^= key[i];
            if (position >= trie.Length)
            {
                break;
            }

            uint unit = trie[position];
            if (Label(unit) != key[i])
            {
                break;
            }

            position ^= Offset(unit);
            if (HasLeaf(unit))
            {
                if (position >= trie.Length)
                {
                    break;
                }

                bestLength = i + 1;
                bestValue = (int)Value(trie[position]);
            }
        }

        return (bestLength, bestValue);
    }

    // darts-clone's unit layout.
    private static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;

    private static uint Value(uint unit) => unit & ((1U << 31) - 1);

    private static uint Label(uint unit) => unit & ((1U << 31) | 0xFF);

    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1U << 9)) >> 6);

    /// <summary>The charsmap blob: a little-endian uint32 trie size, the trie units, then NUL-terminated replacement strings.</summary>
    private static (uint[] Trie, byte[] Replacements) DecodeCharsmap(byte[] blob, string source)
    {
        if (blob.Length == 0)
        {
            return ([], []);
        }

        uint trieSize = blob.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(blob) : uint.MaxValue;
        if (trieSize > (uint)(blob.Length - 4) || trieSize % 4 != 0)
        {
            throw new ConfigException(source, "normalizer_spec.precompiled_charsmap", $"is malformed (trie size {trieSize}, blob size {blob.Length})");
        }

        var units = new uint[trieSize / 4];
        for (int i = 0; i < units.Length; i++)
        {
            units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4 + (4 * i)));
        }

        return (units, blob[(int)(4 + trieSize)..]);
    }
}
