using System.Text;

namespace Ras.Tokenizers.Clip;

/// <summary>
/// NFC with Unicode 14.0 data, as Python 3.11's <c>unicodedata.normalize("NFC", text)</c>. We cannot use
/// <see cref="string.Normalize()"/>: in globalization-invariant mode (this solution's setting) it leaves
/// non-ASCII text unchanged, and with ICU it would follow the system's Unicode version.
/// </summary>
internal static class UnicodeNfc
{
    private const int HangulSBase = 0xAC00, HangulLBase = 0x1100, HangulVBase = 0x1161, HangulTBase = 0x11A7;
    private const int HangulLCount = 19, HangulVCount = 21, HangulTCount = 28;
    private const int HangulNCount = HangulVCount * HangulTCount, HangulSCount = HangulLCount * HangulNCount;

    /// <summary>The canonical composition of the canonical decomposition of <paramref name="text"/>.</summary>
    public static string Normalize(string text)
    {
        // Below U+0300 every character is a starter that no following character of that range composes with.
        if (text.AsSpan().IndexOfAnyExceptInRange('\0', '\u02FF') < 0)
        {
            return text;
        }

        var codePoints = new List<int>(text.Length + 8);
        foreach (Rune rune in text.EnumerateRunes())
        {
            Decompose(rune.Value, codePoints);
        }

        SortMarks(codePoints);
        Compose(codePoints);
        var builder = new StringBuilder(codePoints.Count + 8);
        foreach (int cp in codePoints)
        {
            builder.Append(new Rune(cp).ToString());
        }

        return builder.ToString();
    }

    private static void Decompose(int cp, List<int> output)
    {
        int s = cp - HangulSBase;
        if (s is >= 0 and < HangulSCount)
        {
            output.Add(HangulLBase + (s / HangulNCount));
            output.Add(HangulVBase + (s % HangulNCount / HangulTCount));
            if (s % HangulTCount != 0)
            {
                output.Add(HangulTBase + (s % HangulTCount));
            }

            return;
        }

        if (Unicode14.TryDecompose(cp, out int first, out int second))
        {
            Decompose(first, output);
            if (second != 0)
            {
                Decompose(second, output);
            }

            return;
        }

        output.Add(cp);
    }

    /// <summary>Canonical ordering: a stable sort of each run of non-starters by combining class.</summary>
    private static void SortMarks(List<int> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int ccc = Unicode14.CombiningClass(cps[i]);
            if (ccc == 0)
            {
                continue;
            }

            int j = i;
            while (j > 0 && Unicode14.CombiningClass(cps[j - 1]) > ccc)
            {
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
                j--;
            }
        }
    }

    /// <summary>The canonical composition algorithm of UAX #15, in place.</summary>
    private static void Compose(List<int> cps)
    {
        if (cps.Count == 0)
        {
            return;
        }

        int starterPos = 0;
        int starter = cps[0];

        // A leading non-starter composes with nothing: give it a class above every real one.
        int lastClass = Unicode14.CombiningClass(starter) == 0 ? 0 : 256;
        int written = 1;
        for (int i = 1; i < cps.Count; i++)
        {
            int cp = cps[i];
            int ccc = Unicode14.CombiningClass(cp);

            // Unblocked: nothing between the starter and cp, or everything between has a lower class.
            if ((lastClass < ccc || lastClass == 0) && TryComposePair(starter, cp, out int composite))
            {
                cps[starterPos] = composite;
                starter = composite;
                continue;
            }

            if (ccc == 0)
            {
                starterPos = written;
                starter = cp;
            }

            lastClass = ccc;
            cps[written++] = cp;
        }

        cps.RemoveRange(written, cps.Count - written);
    }

    private static bool TryComposePair(int first, int second, out int composite)
    {
        int l = first - HangulLBase, v = second - HangulVBase;
        if (l is >= 0 and < HangulLCount && v is >= 0 and < HangulVCount)
        {
            composite = HangulSBase + (((l * HangulVCount) + v) * HangulTCount);
            return true;
        }

        int s = first - HangulSBase, t = second - HangulTBase;
        if (s is >= 0 and < HangulSCount && s % HangulTCount == 0 && t is > 0 and < HangulTCount)
        {
            composite = first + t;
            return true;
        }

        return Unicode14.TryCompose(first, second, out composite);
    }
}
