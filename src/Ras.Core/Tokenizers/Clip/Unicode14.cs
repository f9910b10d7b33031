namespace Ras.Tokenizers.Clip;

/// <summary>
/// Lookups over the Unicode 14.0 tables of the CLIP reference's Python (<c>Unicode14Data.g.cs</c>). .NET's own
/// character data is newer, so code points assigned after 14.0 must still count as unassigned here.
/// </summary>
internal static partial class Unicode14
{
    private static readonly Dictionary<long, int> Compositions = BuildCompositions();

    /// <summary>True for a code point that Unicode 14.0 leaves unassigned (category Cn).</summary>
    public static bool IsUnassigned(int codePoint) => FindRange(UnassignedRanges, 2, codePoint) >= 0;

    /// <summary>The canonical combining class (0 for starters).</summary>
    public static int CombiningClass(int codePoint)
    {
        if (codePoint < 0x300)
        {
            return 0;
        }

        int at = FindRange(CombiningClassRanges, 3, codePoint);
        return at < 0 ? 0 : CombiningClassRanges[at + 2];
    }

    /// <summary>The one-step canonical decomposition of <paramref name="codePoint"/> (second is 0 for singletons); false when it has none.</summary>
    public static bool TryDecompose(int codePoint, out int first, out int second)
    {
        ReadOnlySpan<int> table = CanonicalDecompositions;
        int lo = 0, hi = (table.Length / 3) - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int key = table[mid * 3];
            if (key == codePoint)
            {
                first = table[(mid * 3) + 1];
                second = table[(mid * 3) + 2];
                return true;
            }

            if (key < codePoint)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        first = second = 0;
        return false;
    }

    /// <summary>The primary composite of a starter and the following code point, if NFC forms one (Hangul excluded).</summary>
    public static bool TryCompose(int first, int second, out int composite) =>
        Compositions.TryGetValue(((long)first << 21) | (uint)second, out composite);

    /// <summary>Index of the row of <paramref name="table"/> (rows of <paramref name="width"/>, [first, last, …], ascending) holding the code point; -1 if none.</summary>
    private static int FindRange(ReadOnlySpan<int> table, int width, int codePoint)
    {
        int lo = 0, hi = (table.Length / width) - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int row = mid * width;
            if (codePoint < table[row])
            {
                hi = mid - 1;
            }
            else if (codePoint > table[row + 1])
            {
                lo = mid + 1;
            }
            else
            {
                return row;
            }
        }

        return -1;
    }

    private static Dictionary<long, int> BuildCompositions()
    {
        var excluded = new HashSet<int>(CompositionExclusions.ToArray());
        var map = new Dictionary<long, int>();
        ReadOnlySpan<int> table = CanonicalDecompositions;
        for (int i = 0; i < table.Length; i += 3)
        {
            if (table[i + 2] != 0 && !excluded.Contains(table[i]))
            {
                map[((long)table[i + 1] << 21) | (uint)table[i + 2]] = table[i];
            }
        }

        return map;
    }
}
