using System.Globalization;
using System.Text;

namespace Ras.Tokenizers.Clip;

/// <summary>
/// Python 3.11's <c>str.lower()</c>: the full lowercase mapping, which differs from .NET's
/// <see cref="Rune.ToLowerInvariant"/> in two places: U+0130 (İ) becomes two code points, <c>i</c> + U+0307,
/// and a capital sigma becomes final sigma (ς) at the end of a word (Unicode's Final_Sigma context).
/// Checked against Python for every code point assigned in Unicode 14.0; later code points never get here
/// (the CLIP cleanup drops them as unassigned).
/// </summary>
internal static class PythonLowercase
{
    /// <summary>Lower-cases <paramref name="text"/> as Python does.</summary>
    public static string Lower(string text)
    {
        Rune[] runes = [.. text.EnumerateRunes()];
        var builder = new StringBuilder(text.Length + 2);
        for (int i = 0; i < runes.Length; i++)
        {
            Rune rune = runes[i];
            switch (rune.Value)
            {
                case 0x0130:
                    builder.Append("i\u0307");
                    break;
                case 0x03A3:
                    builder.Append(IsFinalSigma(runes, i) ? 'ς' : 'σ');
                    break;
                default:
                    builder.Append(Rune.ToLowerInvariant(rune).ToString());
                    break;
            }
        }

        return builder.ToString();
    }

    /// <summary>CPython's <c>handle_capital_sigma</c>: cased (case-ignorable)* Σ not followed by (case-ignorable)* cased.</summary>
    private static bool IsFinalSigma(Rune[] runes, int at)
    {
        int j = at - 1;
        while (j >= 0 && IsCaseIgnorable(runes[j]))
        {
            j--;
        }

        if (j < 0 || !IsCased(runes[j]))
        {
            return false;
        }

        j = at + 1;
        while (j < runes.Length && IsCaseIgnorable(runes[j]))
        {
            j++;
        }

        return j == runes.Length || !IsCased(runes[j]);
    }

    /// <summary>Unicode's Cased property: Lu, Ll, Lt, Other_Lowercase, Other_Uppercase (approximated by "has a case mapping").</summary>
    private static bool IsCased(Rune rune)
    {
        UnicodeCategory category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter)
        {
            return true;
        }

        // Other_Lowercase / Other_Uppercase characters without a case mapping.
        if (rune.Value is 0xAA or 0xBA or (>= 0x1F130 and <= 0x1F149) or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189))
        {
            return true;
        }

        return Rune.ToLowerInvariant(rune) != rune || Rune.ToUpperInvariant(rune) != rune;
    }

    /// <summary>Unicode's Case_Ignorable property: Mn, Me, Cf, Lm, Sk and Word_Break MidLetter / MidNumLet / Single_Quote.</summary>
    private static bool IsCaseIgnorable(Rune rune)
    {
        UnicodeCategory category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol)
        {
            return true;
        }

        // U+1171E is Mn in Unicode 14 (Mc in .NET's newer data).
        return rune.Value is 0x27 or 0x2E or 0x3A or 0xB7 or 0x387 or 0x55F or 0x5F4 or 0x2018 or 0x2019 or 0x2024
            or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A or 0x1171E;
    }
}
