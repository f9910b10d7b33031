using System.Globalization;

namespace Ras.Evaluation.Plots;

/// <summary>
/// A tiny stroke font for the PNG plots (no font files, no dependencies): each glyph is a few polylines on a 4 × 6 grid
/// (y down, 6 = baseline), advancing 6 units. Lower case is drawn as upper case; unknown characters as a small box.
/// </summary>
internal static class StrokeFont
{
    /// <summary>Units a glyph advances.</summary>
    public const double Advance = 6;

    /// <summary>Units from the baseline to the cap line.</summary>
    public const double CapHeight = 6;

    private static readonly Dictionary<char, string> Glyphs = new()
    {
        ['0'] = "1,0 3,0 4,1 4,5 3,6 1,6 0,5 0,1 1,0|4,1 0,5",
        ['1'] = "1,1 2,0 2,6|1,6 3,6",
        ['2'] = "0,1 1,0 3,0 4,1 4,2 0,6 4,6",
        ['3'] = "0,0 4,0 2,2 3,2 4,3 4,5 3,6 1,6 0,5",
        ['4'] = "3,6 3,0 0,4 4,4",
        ['5'] = "4,0 0,0 0,3 3,3 4,4 4,5 3,6 0,6",
        ['6'] = "3,0 1,0 0,1 0,5 1,6 3,6 4,5 4,4 3,3 0,3",
        ['7'] = "0,0 4,0 1,6",
        ['8'] = "1,0 3,0 4,1 4,2 3,3 1,3 0,4 0,5 1,6 3,6 4,5 4,4 3,3|1,3 0,2 0,1 1,0",
        ['9'] = "4,3 1,3 0,2 0,1 1,0 3,0 4,1 4,5 3,6 1,6",
        ['A'] = "0,6 0,2 2,0 4,2 4,6|0,4 4,4",
        ['B'] = "0,3 0,0 3,0 4,1 4,2 3,3 0,3 0,6 3,6 4,5 4,4 3,3",
        ['C'] = "4,1 3,0 1,0 0,1 0,5 1,6 3,6 4,5",
        ['D'] = "0,0 0,6 2,6 4,4 4,2 2,0 0,0",
        ['E'] = "4,0 0,0 0,6 4,6|0,3 3,3",
        ['F'] = "4,0 0,0 0,6|0,3 3,3",
        ['G'] = "4,1 3,0 1,0 0,1 0,5 1,6 3,6 4,5 4,3 2,3",
        ['H'] = "0,0 0,6|4,0 4,6|0,3 4,3",
        ['I'] = "1,0 3,0|2,0 2,6|1,6 3,6",
        ['J'] = "3,0 3,5 2,6 1,6 0,5",
        ['K'] = "0,0 0,6|4,0 0,4|1,3 4,6",
        ['L'] = "0,0 0,6 4,6",
        ['M'] = "0,6 0,0 2,3 4,0 4,6",
        ['N'] = "0,6 0,0 4,6 4,0",
        ['O'] = "1,0 3,0 4,1 4,5 3,6 1,6 0,5 0,1 1,0",
        ['P'] = "0,6 0,0 3,0 4,1 4,2 3,3 0,3",
        ['Q'] = "1,0 3,0 4,1 4,5 3,6 1,6 0,5 0,1 1,0|2,4 4,6",
        ['R'] = "0,6 0,0 3,0 4,1 4,2 3,3 0,3|2,3 4,6",
        ['S'] = "4,1 3,0 1,0 0,1 0,2 1,3 3,3 4,4 4,5 3,6 1,6 0,5",
        ['T'] = "0,0 4,0|2,0 2,6",
        ['U'] = "0,0 0,5 1,6 3,6 4,5 4,0",
        ['V'] = "0,0 2,6 4,0",
        ['W'] = "0,0 1,6 2,3 3,6 4,0",
        ['X'] = "0,0 4,6|4,0 0,6",
        ['Y'] = "0,0 2,3 4,0|2,3 2,6",
        ['Z'] = "0,0 4,0 0,6 4,6",
        ['.'] = "1.5,5.3 2.5,5.3 2.5,6 1.5,6 1.5,5.3",
        [','] = "2,5 1,7",
        [':'] = "2,1.6 2,2|2,5.6 2,6",
        ['%'] = "0,6 4,0|0,0 1,0 1,1 0,1 0,0|3,5 4,5 4,6 3,6 3,5",
        ['-'] = "1,3 3,3",
        ['+'] = "0.5,3 3.5,3|2,1.5 2,4.5",
        ['='] = "1,2 3,2|1,4 3,4",
        ['('] = "3,0 2,1 2,5 3,6",
        [')'] = "1,0 2,1 2,5 1,6",
        ['['] = "3,0 1,0 1,6 3,6",
        [']'] = "1,0 3,0 3,6 1,6",
        ['/'] = "4,0 0,6",
        ['×'] = "1,2 3,4|3,2 1,4",
        ['÷'] = "1,3 3,3|2,1.6 2,2|2,4 2,4.4",
        ['·'] = "2,2.8 2,3.2",
        ['>'] = "1,1 3,3 1,5",
        ['<'] = "3,1 1,3 3,5",
        ['_'] = "0,6 4,6",
        ['\''] = "2,0 2,1.5",
        ['"'] = "1,0 1,1.5|3,0 3,1.5",
        ['#'] = "1,0 1,6|3,0 3,6|0,2 4,2|0,4 4,4",
        ['&'] = "4,6 1,2 1,1 2,0 3,1 3,2 0,4 0,5 1,6 2,6 4,4",
        ['?'] = "0,1 1,0 3,0 4,1 4,2 2,3 2,4|2,5.6 2,6",
        ['!'] = "2,0 2,4|2,5.6 2,6",
        ['*'] = "2,1 2,5|0,2 4,4|4,2 0,4",
        ['|'] = "2,0 2,6",
        ['~'] = "0,3 1,2 3,4 4,3",
        ['²'] = "1,0.5 1.5,0 2.5,0 3,0.5 1,2.5 3,2.5",
        ['◆'] = "2,1 4,3 2,5 0,3 2,1|2,2 3,3 2,4 1,3 2,2",
        ['◇'] = "2,1 4,3 2,5 0,3 2,1",
        ['°'] = "1,0 2,0 2,1 1,1 1,0",
    };

    private static readonly Dictionary<char, (double X, double Y)[][]> Parsed = Glyphs.ToDictionary(kv => kv.Key, kv => Parse(kv.Value));

    private static readonly (double X, double Y)[][] Unknown = Parse("0.5,1 3.5,1 3.5,6 0.5,6 0.5,1");

    /// <summary>Text width in units.</summary>
    public static double Width(string text) => (text?.Length ?? 0) * Advance;

    /// <summary>The polylines of <paramref name="c"/> in units (empty for a space).</summary>
    public static (double X, double Y)[][] Glyph(char c)
    {
        if (c == ' ')
        {
            return [];
        }

        char upper = char.ToUpperInvariant(c);
        return Parsed.TryGetValue(upper, out var strokes) ? strokes : Unknown;
    }

    private static (double X, double Y)[][] Parse(string strokes) =>
        strokes.Split('|').Select(stroke => stroke.Split(' ').Select(point =>
        {
            string[] xy = point.Split(',');
            return (double.Parse(xy[0], CultureInfo.InvariantCulture), double.Parse(xy[1], CultureInfo.InvariantCulture));
        }).ToArray()).ToArray();
}
