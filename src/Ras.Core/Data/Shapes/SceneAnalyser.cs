namespace Ras.Data.Shapes;

/// <summary>What the analyser found for one captioned shape.</summary>
/// <param name="Present">A shape (enough non-background pixels) is in the named cell.</param>
/// <param name="Colour">Its dominant colour is the named one.</param>
/// <param name="Size">Its extent matches the named size.</param>
/// <param name="Kind">Its fill ratio matches the named kind.</param>
/// <param name="DetectedColour">Nearest palette colour of the shape pixels (null when absent).</param>
/// <param name="DetectedKind">Kind read from the fill ratio (null when absent).</param>
/// <param name="DetectedSize">Size read from the extent (null when absent).</param>
public sealed record ShapeReport(bool Present, bool Colour, bool Size, bool Kind, string? DetectedColour, ShapeKind? DetectedKind, ShapeSize? DetectedSize)
{
    /// <summary>Every attribute right.</summary>
    public bool Correct => Present && Colour && Size && Kind;
}

/// <summary>Per-attribute verdicts for one image against its caption's scene.</summary>
/// <param name="Background">Plain/gradient and its colour(s) right.</param>
/// <param name="Shapes">One report per captioned shape.</param>
/// <param name="DetectedTop">Nearest palette colour at the top of the background.</param>
/// <param name="DetectedBottom">Nearest palette colour at the bottom (same as top when plain).</param>
public sealed record SceneReport(bool Background, IReadOnlyList<ShapeReport> Shapes, string DetectedTop, string DetectedBottom)
{
    /// <summary>1 when the background and every attribute of every shape are right.</summary>
    public bool Adherent => Background && Shapes.All(s => s.Correct);

    /// <summary>Share of attributes right (background + 4 per shape).</summary>
    public double AttributeScore => (Convert.ToInt32(Background) + Shapes.Sum(s => Convert.ToInt32(s.Present) + Convert.ToInt32(s.Colour) + Convert.ToInt32(s.Size) + Convert.ToInt32(s.Kind)))
        / (1.0 + (4.0 * Shapes.Count));
}

/// <summary>
/// A deterministic checker of an image against its caption: the background colour(s) are read from pixels no
/// shape can cover (cell corners); in each named cell, the pixels far from the local background give the
/// shape's colour (nearest palette entry), and the cell's coverage map (each pixel's position between the
/// background and that colour) is matched against the renderer's exact masks of every kind and size, shifted
/// by up to ±3 px; the closest mask gives kind and size.
/// </summary>
public static class SceneAnalyser
{
    private const double ForegroundDistance = 30;    // RGB distance (0..441) from the local background; the closest palette pair is 66 apart
    private const double MinimumPixels = 12;         // a small star covers ~29 px at 64×64
    private const int MaxShift = 3;                  // template search window, pixels

    /// <summary>Checks <paramref name="rgb"/> (<c>[S, S, 3]</c> bytes) against <paramref name="scene"/>.</summary>
    public static SceneReport Analyse(byte[] rgb, int size, ShapeScene scene)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        ArgumentNullException.ThrowIfNull(scene);
        double cell = size / 3.0;
        var (top, bottom) = MeasureBackground(rgb, size, cell);
        ShapeColour topColour = Nearest(top, null);
        ShapeColour bottomColour = Nearest(bottom, null);
        bool background = scene.Bottom is null
            ? topColour == scene.Top && bottomColour == scene.Top
            : topColour == scene.Top && bottomColour == scene.Bottom;

        var shapes = scene.Shapes.Select(s => AnalyseShape(rgb, size, cell, s, top, bottom, [topColour, bottomColour])).ToList();
        return new SceneReport(background, shapes, topColour.Name, bottomColour.Name);
    }

    private static ShapeReport AnalyseShape(byte[] rgb, int size, double cell, SceneShape expected, double[] top, double[] bottom, ShapeColour[] backgroundColours)
    {
        int column = expected.Position % 3;
        int row = expected.Position / 3;
        int x0 = (int)Math.Ceiling(column * cell);
        int x1 = (int)Math.Floor((column + 1) * cell) - 1;
        int y0 = (int)Math.Ceiling(row * cell);
        int y1 = (int)Math.Floor((row + 1) * cell) - 1;

        // 1. Colour: mean of the pixels farthest from the local background (the shape's core, not its
        //    anti-aliased rim, which mixes in the background), nearest palette entry.
        var distances = new List<(double Distance, int At)>();
        for (int y = y0; y <= y1; y++)
        {
            double[] local = Background(top, bottom, y, size);
            for (int x = x0; x <= x1; x++)
            {
                int at = ((y * size) + x) * 3;
                double distance = Distance(rgb, at, local);
                if (distance >= ForegroundDistance)
                {
                    distances.Add((distance, at));
                }
            }
        }

        int strong = distances.Count;
        if (strong < MinimumPixels)
        {
            return new ShapeReport(false, false, false, false, null, null, null);
        }

        double cutoff = 0.8 * distances.Max(d => d.Distance);
        var sum = new double[3];
        int core = 0;
        foreach (var (distance, at) in distances.Where(d => d.Distance >= cutoff))
        {
            core++;
            for (int c = 0; c < 3; c++)
            {
                sum[c] += rgb[at + c];
            }
        }

        ShapeColour colour = Nearest([sum[0] / core, sum[1] / core, sum[2] / core], backgroundColours);

        // 2. Coverage map: how far each pixel lies from the local background toward that colour.
        int width = x1 - x0 + 1;
        int height = y1 - y0 + 1;
        var coverage = new double[width * height];
        for (int y = y0; y <= y1; y++)
        {
            double[] local = Background(top, bottom, y, size);
            double[] span = [colour.R - local[0], colour.G - local[1], colour.B - local[2]];
            double length = (span[0] * span[0]) + (span[1] * span[1]) + (span[2] * span[2]);
            for (int x = x0; x <= x1; x++)
            {
                int at = ((y * size) + x) * 3;
                double projection = (((rgb[at] - local[0]) * span[0]) + ((rgb[at + 1] - local[1]) * span[1]) + ((rgb[at + 2] - local[2]) * span[2])) / length;
                coverage[((y - y0) * width) + (x - x0)] = Math.Clamp(projection, 0, 1);
            }
        }

        // 3. Kind and size: the closest rendered template (4 kinds × 2 sizes, shifted up to ±3 px).
        (ShapeKind Kind, ShapeSize Size) best = (ShapeKind.Circle, ShapeSize.Small);
        double bestError = double.MaxValue;
        foreach (ShapeKind kind in Enum.GetValues<ShapeKind>())
        {
            foreach (ShapeSize shapeSize in Enum.GetValues<ShapeSize>())
            {
                for (int dy = -MaxShift; dy <= MaxShift; dy++)
                {
                    for (int dx = -MaxShift; dx <= MaxShift; dx++)
                    {
                        float[] template = Template(size, expected.Position, kind, shapeSize, dx, dy);
                        double error = 0;
                        for (int i = 0; i < coverage.Length && error < bestError; i++)
                        {
                            double d = coverage[i] - template[i];
                            error += d * d;
                        }

                        if (error < bestError)
                        {
                            (best, bestError) = ((kind, shapeSize), error);
                        }
                    }
                }
            }
        }

        return new ShapeReport(true, colour == expected.Colour, best.Size == expected.Size, best.Kind == expected.Kind, colour.Name, best.Kind, best.Size);
    }

    /// <summary>The renderer's coverage of a cell by a shape shifted by (dx, dy), cached: the templates never change.</summary>
    private static float[] Template(int size, int position, ShapeKind kind, ShapeSize shapeSize, int dx, int dy) =>
        Templates.GetOrAdd((size, position, kind, shapeSize, dx, dy), key =>
        {
            double cell = key.Size / 3.0;
            int column = key.Position % 3;
            int row = key.Position / 3;
            int x0 = (int)Math.Ceiling(column * cell);
            int x1 = (int)Math.Floor((column + 1) * cell) - 1;
            int y0 = (int)Math.Ceiling(row * cell);
            int y1 = (int)Math.Floor((row + 1) * cell) - 1;
            double radius = ShapeRenderer.HalfExtent(key.ShapeSize) * cell;
            double centreX = ((column + 0.5) * cell) + key.Dx;
            double centreY = ((row + 0.5) * cell) + key.Dy;
            var map = new float[(x1 - x0 + 1) * (y1 - y0 + 1)];
            for (int y = y0; y <= y1; y++)
            {
                for (int x = x0; x <= x1; x++)
                {
                    map[((y - y0) * (x1 - x0 + 1)) + (x - x0)] = ShapeRenderer.PixelCoverage(key.Kind, x, y, centreX, centreY, radius);
                }
            }

            return map;
        });

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int Size, int Position, ShapeKind Kind, ShapeSize ShapeSize, int Dx, int Dy), float[]> Templates = new();

    private static double[] Background(double[] top, double[] bottom, int y, int size)
    {
        double t = (y + 0.5) / size;
        return [(top[0] * (1 - t)) + (bottom[0] * t), (top[1] * (1 - t)) + (bottom[1] * t), (top[2] * (1 - t)) + (bottom[2] * t)];
    }

    private static double Distance(byte[] rgb, int at, double[] colour) =>
        Math.Sqrt(Math.Pow(rgb[at] - colour[0], 2) + Math.Pow(rgb[at + 1] - colour[1], 2) + Math.Pow(rgb[at + 2] - colour[2], 2));

    /// <summary>Mean colour of the cell corners (never covered by a shape) in the top and bottom pixel rows of each cell row.</summary>
    private static (double[] Top, double[] Bottom) MeasureBackground(byte[] rgb, int size, double cell)
    {
        // Corners 1 px in from each cell's corner; the top row of cells gives the top colour, the bottom row the bottom one.
        double[] Mean(IEnumerable<(int X, int Y)> points)
        {
            var sum = new double[3];
            int count = 0;
            foreach (var (x, y) in points)
            {
                int at = ((y * size) + x) * 3;
                sum[0] += rgb[at];
                sum[1] += rgb[at + 1];
                sum[2] += rgb[at + 2];
                count++;
            }

            return [sum[0] / count, sum[1] / count, sum[2] / count];
        }

        int last = size - 1;
        var topPoints = Enumerable.Range(0, 3).SelectMany(c => new[] { ((int)Math.Ceiling(c * cell) + 1, 1), ((int)Math.Floor((c + 1) * cell) - 2, 1) });
        var bottomPoints = Enumerable.Range(0, 3).SelectMany(c => new[] { ((int)Math.Ceiling(c * cell) + 1, last - 1), ((int)Math.Floor((c + 1) * cell) - 2, last - 1) });
        return (Mean(topPoints), Mean(bottomPoints));
    }

    private static ShapeColour Nearest(double[] rgb, ShapeColour[]? excluded)
    {
        ShapeColour best = ShapeVocabulary.Colours[0];
        double bestDistance = double.MaxValue;
        foreach (ShapeColour colour in ShapeVocabulary.Colours)
        {
            if (excluded is not null && excluded.Contains(colour))
            {
                continue;
            }

            double d = Math.Pow(rgb[0] - colour.R, 2) + Math.Pow(rgb[1] - colour.G, 2) + Math.Pow(rgb[2] - colour.B, 2);
            if (d < bestDistance)
            {
                (best, bestDistance) = (colour, d);
            }
        }

        return best;
    }
}
