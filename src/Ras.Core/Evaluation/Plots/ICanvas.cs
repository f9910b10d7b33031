namespace Ras.Evaluation.Plots;

/// <summary>An RGB colour.</summary>
/// <param name="R">Red, 0–255.</param>
/// <param name="G">Green, 0–255.</param>
/// <param name="B">Blue, 0–255.</param>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>CSS form, <c>#rrggbb</c>.</summary>
    public string Hex => $"#{R:x2}{G:x2}{B:x2}";
}

/// <summary>Where text is placed relative to its point.</summary>
public enum TextAnchor
{
    /// <summary>The point is the text's left end.</summary>
    Start,

    /// <summary>The point is the text's middle.</summary>
    Middle,

    /// <summary>The point is the text's right end.</summary>
    End,
}

/// <summary>
/// The drawing primitives a chart needs, in pixels (origin top left, y down). One layout routine draws through it, so the
/// SVG and the PNG of a plot are the same picture.
/// </summary>
internal interface ICanvas
{
    /// <summary>A straight line.</summary>
    void Line(double x1, double y1, double x2, double y2, Rgb colour, double width);

    /// <summary>A disc (filled) or a ring.</summary>
    void Circle(double x, double y, double radius, Rgb colour, bool filled);

    /// <summary>A filled rectangle.</summary>
    void Rectangle(double x, double y, double width, double height, Rgb colour);

    /// <summary>Text whose baseline passes through <paramref name="y"/>; <paramref name="size"/> is the cap height in pixels.</summary>
    void Text(double x, double y, string text, double size, Rgb colour, TextAnchor anchor, bool vertical = false);
}
