using System.Globalization;
using Ras.Evaluation.Sweeps;
using Ras.IO.Files;
using Ras.IO.Images;

namespace Ras.Evaluation.Plots;

/// <summary>
/// The sweep plot: adherence vs compute and SSIM vs compute (compute = transformer FLOPs ÷ the dense reference run's), one
/// colour per family, each family's Pareto frontier drawn as a line. Written as SVG and as PNG (same layout, drawn by our
/// own code).
/// </summary>
public static class FrontierPlot
{
    private const int PanelWidth = 560, PanelHeight = 430, Left = 70, Top = 60, Gap = 90, LegendHeight = 30;

    private static readonly Rgb Ink = new(40, 40, 40), Grid = new(225, 225, 225), Background = new(255, 255, 255);

    private static readonly Rgb[] Palette =
    [
        new(20, 20, 20), new(214, 39, 40), new(31, 119, 180), new(44, 160, 44), new(255, 127, 14), new(148, 103, 189), new(140, 86, 75),
        new(227, 119, 194), new(23, 190, 207), new(188, 189, 34),
    ];

    /// <summary>Writes <paramref name="svgPath"/> and a PNG beside it (same name, <c>.png</c>).</summary>
    public static void Write(string svgPath, IReadOnlyList<EvalRow> rows, string title)
    {
        ArgumentNullException.ThrowIfNull(svgPath);
        ArgumentNullException.ThrowIfNull(rows);
        var families = rows.Select(r => r.Family ?? r.Method).Distinct().ToList();
        int width = Left + (2 * PanelWidth) + Gap + 30;
        int height = Top + PanelHeight + 60 + (LegendHeight * ((families.Count + 2) / 3));

        var svg = new SvgCanvas(width, height);
        svg.Rectangle(0, 0, width, height, Background);
        Draw(svg, rows, families, title);
        AtomicFile.WriteText(svgPath, svg.Document());

        var raster = new RasterCanvas(width, height, Background);
        Draw(raster, rows, families, title);
        PngWriter.Write(Path.ChangeExtension(svgPath, ".png"), raster.Pixels, width, height, new Dictionary<string, string> { ["Title"] = title });
    }

    private static void Draw(ICanvas canvas, IReadOnlyList<EvalRow> rows, List<string> families, string title)
    {
        canvas.Text(Left, 28, title, 11, Ink, TextAnchor.Start);
        double minAdherence = Math.Floor(rows.Min(r => r.Adherence) * 10) / 10;
        double minSsim = Math.Floor(rows.Min(r => r.Ssim ?? 1.0) * 10) / 10;
        Panel(canvas, rows, families, Left, "adherence (share of images matching their caption)", r => r.Adherence, Math.Min(minAdherence, 0.9));
        Panel(canvas, rows, families, Left + PanelWidth + Gap, "SSIM vs the dense reference", r => r.Ssim ?? 1.0, Math.Min(minSsim, 0.9));

        // Legend: three per line under the panels.
        double y = Top + PanelHeight + 62;
        for (int i = 0; i < families.Count; i++)
        {
            double x = Left + (i % 3 * 360);
            double line = y + (i / 3 * LegendHeight);
            canvas.Circle(x + 6, line - 5, 5, Colour(i), true);
            canvas.Line(x + 16, line - 5, x + 36, line - 5, Colour(i), 2);
            canvas.Text(x + 44, line, families[i], 10, Ink, TextAnchor.Start);
        }
    }

    private static void Panel(ICanvas canvas, IReadOnlyList<EvalRow> rows, List<string> families, double left, string yLabel, Func<EvalRow, double> quality, double yMin)
    {
        double X(double cost) => left + (cost / 1.05 * PanelWidth);
        double Y(double q) => Top + PanelHeight - ((q - yMin) / (1.0 - yMin) * PanelHeight);

        // Grid and axes.
        for (double t = 0; t <= 1.0001; t += 0.1)
        {
            canvas.Line(X(t), Top, X(t), Top + PanelHeight, Grid, 1);
            canvas.Text(X(t), Top + PanelHeight + 18, t.ToString("0.0", CultureInfo.InvariantCulture), 8, Ink, TextAnchor.Middle);
        }

        for (double q = yMin; q <= 1.0001; q += 0.1)
        {
            canvas.Line(left, Y(q), left + PanelWidth, Y(q), Grid, 1);
            canvas.Text(left - 8, Y(q) + 4, q.ToString("0.0", CultureInfo.InvariantCulture), 8, Ink, TextAnchor.End);
        }

        canvas.Line(left, Top + PanelHeight, left + PanelWidth, Top + PanelHeight, Ink, 1.5);
        canvas.Line(left, Top, left, Top + PanelHeight, Ink, 1.5);
        canvas.Text(left + (PanelWidth / 2), Top + PanelHeight + 40, "transformer FLOPs per image / dense reference", 9, Ink, TextAnchor.Middle);
        canvas.Text(left - 45, Top + (PanelHeight / 2), yLabel, 9, Ink, TextAnchor.Middle, vertical: true);

        // Points, then each family's frontier on top.
        for (int f = 0; f < families.Count; f++)
        {
            var members = rows.Where(r => (r.Family ?? r.Method) == families[f]).ToList();
            foreach (EvalRow r in members)
            {
                canvas.Circle(X(1 / r.FlopsRatio), Y(quality(r)), 3.5, Colour(f), filled: false);
            }

            var frontier = ParetoFrontier.Indices([.. members.Select(r => (1 / r.FlopsRatio, quality(r)))]).Select(i => members[i]).ToList();
            for (int i = 0; i + 1 < frontier.Count; i++)
            {
                canvas.Line(X(1 / frontier[i].FlopsRatio), Y(quality(frontier[i])), X(1 / frontier[i + 1].FlopsRatio), Y(quality(frontier[i + 1])), Colour(f), 2);
            }

            foreach (EvalRow r in frontier)
            {
                canvas.Circle(X(1 / r.FlopsRatio), Y(quality(r)), 4.5, Colour(f), filled: true);
            }
        }
    }

    private static Rgb Colour(int family) => Palette[family % Palette.Length];
}
