using System.Globalization;
using System.Security;
using System.Text;

namespace Ras.Evaluation.Plots;

/// <summary>Draws into an SVG document.</summary>
internal sealed class SvgCanvas(int width, int height) : ICanvas
{
    private readonly StringBuilder body = new();

    public void Line(double x1, double y1, double x2, double y2, Rgb colour, double width) =>
        body.Append(F($"<line x1=\"{x1:0.##}\" y1=\"{y1:0.##}\" x2=\"{x2:0.##}\" y2=\"{y2:0.##}\" stroke=\"{colour.Hex}\" stroke-width=\"{width:0.##}\" stroke-linecap=\"round\"/>\n"));

    public void Circle(double x, double y, double radius, Rgb colour, bool filled) =>
        body.Append(filled
            ? F($"<circle cx=\"{x:0.##}\" cy=\"{y:0.##}\" r=\"{radius:0.##}\" fill=\"{colour.Hex}\"/>\n")
            : F($"<circle cx=\"{x:0.##}\" cy=\"{y:0.##}\" r=\"{radius:0.##}\" fill=\"none\" stroke=\"{colour.Hex}\" stroke-width=\"1.5\"/>\n"));

    public void Rectangle(double x, double y, double width, double height, Rgb colour) =>
        body.Append(F($"<rect x=\"{x:0.##}\" y=\"{y:0.##}\" width=\"{width:0.##}\" height=\"{height:0.##}\" fill=\"{colour.Hex}\"/>\n"));

    public void Text(double x, double y, string text, double size, Rgb colour, TextAnchor anchor, bool vertical = false)
    {
        string a = anchor switch { TextAnchor.Middle => "middle", TextAnchor.End => "end", _ => "start" };
        string rotate = vertical ? F($" transform=\"rotate(-90 {x:0.##} {y:0.##})\"") : string.Empty;
        body.Append(F($"<text x=\"{x:0.##}\" y=\"{y:0.##}\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"{size * 1.4:0.#}\" fill=\"{colour.Hex}\" text-anchor=\"{a}\"{rotate}>"))
            .Append(SecurityElement.Escape(text)).Append("</text>\n");
    }

    /// <summary>The document.</summary>
    public string Document() =>
        F($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n") + body + "</svg>\n";

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Draws into an RGB raster (text with <see cref="StrokeFont"/>), for the PNG beside the SVG.</summary>
internal sealed class RasterCanvas : ICanvas
{
    public RasterCanvas(int width, int height, Rgb background)
    {
        Width = width;
        Height = height;
        Pixels = new byte[width * height * 3];
        for (int i = 0; i < Pixels.Length; i += 3)
        {
            (Pixels[i], Pixels[i + 1], Pixels[i + 2]) = (background.R, background.G, background.B);
        }
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary><c>[H, W, 3]</c> RGB bytes.</summary>
    public byte[] Pixels { get; }

    public void Line(double x1, double y1, double x2, double y2, Rgb colour, double width)
    {
        double length = Math.Max(Math.Abs(x2 - x1), Math.Abs(y2 - y1));
        int steps = Math.Max(1, (int)Math.Ceiling(length * 2));
        double radius = Math.Max(0.5, width / 2);
        for (int i = 0; i <= steps; i++)
        {
            double t = i / (double)steps;
            Disc(x1 + ((x2 - x1) * t), y1 + ((y2 - y1) * t), radius, colour);
        }
    }

    public void Circle(double x, double y, double radius, Rgb colour, bool filled)
    {
        if (filled)
        {
            Disc(x, y, radius, colour);
            return;
        }

        int segments = Math.Max(12, (int)(radius * 6));
        for (int i = 0; i < segments; i++)
        {
            double a = 2 * Math.PI * i / segments, b = 2 * Math.PI * (i + 1) / segments;
            Line(x + (radius * Math.Cos(a)), y + (radius * Math.Sin(a)), x + (radius * Math.Cos(b)), y + (radius * Math.Sin(b)), colour, 1.5);
        }
    }

    public void Rectangle(double x, double y, double width, double height, Rgb colour)
    {
        for (int py = (int)Math.Round(y); py < (int)Math.Round(y + height); py++)
        {
            for (int px = (int)Math.Round(x); px < (int)Math.Round(x + width); px++)
            {
                Set(px, py, colour);
            }
        }
    }

    public void Text(double x, double y, string text, double size, Rgb colour, TextAnchor anchor, bool vertical = false)
    {
        double scale = size / StrokeFont.CapHeight;
        double width = StrokeFont.Width(text) * scale;
        double start = anchor switch { TextAnchor.Middle => -width / 2, TextAnchor.End => -width, _ => 0 };
        double stroke = Math.Max(1, size / 8);
        for (int i = 0; i < text.Length; i++)
        {
            foreach (var polyline in StrokeFont.Glyph(text[i]))
            {
                for (int j = 0; j + 1 < polyline.Length; j++)
                {
                    var (ax, ay) = Place(polyline[j]);
                    var (bx, by) = Place(polyline[j + 1]);
                    Line(ax, ay, bx, by, colour, stroke);
                }
            }

            (double X, double Y) Place((double X, double Y) p)
            {
                double along = start + (((i * StrokeFont.Advance) + p.X) * scale);
                double across = (p.Y - StrokeFont.CapHeight) * scale;            // baseline at 0, up is negative
                return vertical ? (x + across, y - along) : (x + along, y + across);
            }
        }
    }

    private void Disc(double cx, double cy, double radius, Rgb colour)
    {
        for (int py = (int)Math.Floor(cy - radius); py <= (int)Math.Ceiling(cy + radius); py++)
        {
            for (int px = (int)Math.Floor(cx - radius); px <= (int)Math.Ceiling(cx + radius); px++)
            {
                double dx = px + 0.5 - cx, dy = py + 0.5 - cy;
                if ((dx * dx) + (dy * dy) <= radius * radius)
                {
                    Set(px, py, colour);
                }
            }
        }
    }

    private void Set(int x, int y, Rgb colour)
    {
        if (x < 0 || y < 0 || x >= Width || y >= Height)
        {
            return;
        }

        int i = ((y * Width) + x) * 3;
        (Pixels[i], Pixels[i + 1], Pixels[i + 2]) = (colour.R, colour.G, colour.B);
    }
}
