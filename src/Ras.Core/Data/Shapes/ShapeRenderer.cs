namespace Ras.Data.Shapes;

/// <summary>
/// Renders a <see cref="ShapeScene"/> into an anti-aliased RGB image (4×4 supersampled coverage), pure
/// managed code so every machine draws the same pixels. Geometry, in units of the grid cell: a shape is
/// centred in its cell; its half-extent is 0.22 (small) or 0.42 (large) of the cell edge.
/// </summary>
public static class ShapeRenderer
{
    /// <summary>Image edge used by the dataset.</summary>
    public const int DefaultSize = 64;

    private const int Subsamples = 4;

    /// <summary>Half-extent of a shape in cell edges.</summary>
    public static double HalfExtent(ShapeSize size) => size == ShapeSize.Small ? 0.22 : 0.42;

    /// <summary>Renders to interleaved RGB floats in [0, 1], row-major <c>[H, W, 3]</c>.</summary>
    public static float[] Render(ShapeScene scene, int size = DefaultSize)
    {
        ArgumentNullException.ThrowIfNull(scene);
        var pixels = new float[size * size * 3];
        for (int y = 0; y < size; y++)
        {
            float t = (y + 0.5f) / size;
            ShapeColour top = scene.Top;
            ShapeColour bottom = scene.Bottom ?? scene.Top;
            for (int x = 0; x < size; x++)
            {
                int at = ((y * size) + x) * 3;
                pixels[at] = Lerp(top.R, bottom.R, t);
                pixels[at + 1] = Lerp(top.G, bottom.G, t);
                pixels[at + 2] = Lerp(top.B, bottom.B, t);
            }
        }

        double cell = size / 3.0;
        foreach (SceneShape shape in scene.Shapes)
        {
            double cx = ((shape.Position % 3) + 0.5) * cell;
            double cy = ((shape.Position / 3) + 0.5) * cell;
            double radius = HalfExtent(shape.Size) * cell;
            int x0 = Math.Max(0, (int)Math.Floor(cx - radius - 1));
            int x1 = Math.Min(size - 1, (int)Math.Ceiling(cx + radius + 1));
            int y0 = Math.Max(0, (int)Math.Floor(cy - radius - 1));
            int y1 = Math.Min(size - 1, (int)Math.Ceiling(cy + radius + 1));
            for (int y = y0; y <= y1; y++)
            {
                for (int x = x0; x <= x1; x++)
                {
                    float coverage = Coverage(shape.Kind, (x - cx) / radius, (y - cy) / radius, 1.0 / radius);
                    if (coverage <= 0)
                    {
                        continue;
                    }

                    int at = ((y * size) + x) * 3;
                    pixels[at] += (shape.Colour.R / 255f - pixels[at]) * coverage;
                    pixels[at + 1] += (shape.Colour.G / 255f - pixels[at + 1]) * coverage;
                    pixels[at + 2] += (shape.Colour.B / 255f - pixels[at + 2]) * coverage;
                }
            }
        }

        return pixels;
    }

    /// <summary>
    /// Coverage in [0, 1] of pixel (<paramref name="x"/>, <paramref name="y"/>) by a shape of
    /// <paramref name="kind"/> centred at (<paramref name="centreX"/>, <paramref name="centreY"/>) with half-extent
    /// <paramref name="radius"/> pixels — exactly what <see cref="Render"/> blends with.
    /// </summary>
    public static float PixelCoverage(ShapeKind kind, int x, int y, double centreX, double centreY, double radius) =>
        Coverage(kind, (x - centreX) / radius, (y - centreY) / radius, 1.0 / radius);

    /// <summary>True when the point (in half-extent units, y down, centred) lies inside the shape.</summary>
    public static bool Inside(ShapeKind kind, double x, double y) => kind switch
    {
        ShapeKind.Circle => (x * x) + (y * y) <= 1,
        ShapeKind.Square => Math.Abs(x) <= 0.85 && Math.Abs(y) <= 0.85,
        ShapeKind.Triangle => InPolygon(Triangle, x, y),
        _ => InPolygon(Star, x, y),
    };

    private static readonly (double X, double Y)[] Triangle = [(0, -1), (1, 0.75), (-1, 0.75)];

    private static readonly (double X, double Y)[] Star = Enumerable.Range(0, 10).Select(i =>
    {
        double angle = (-Math.PI / 2) + (i * Math.PI / 5);
        double r = i % 2 == 0 ? 1.0 : 0.45;
        return (r * Math.Cos(angle), r * Math.Sin(angle));
    }).ToArray();

    /// <summary>Fraction of the pixel (whose top-left corner is at (x, y), edge <paramref name="step"/>) inside the shape.</summary>
    private static float Coverage(ShapeKind kind, double x, double y, double step)
    {
        int inside = 0;
        for (int sy = 0; sy < Subsamples; sy++)
        {
            for (int sx = 0; sx < Subsamples; sx++)
            {
                if (Inside(kind, x + ((sx + 0.5) * step / Subsamples), y + ((sy + 0.5) * step / Subsamples)))
                {
                    inside++;
                }
            }
        }

        return inside / (float)(Subsamples * Subsamples);
    }

    private static bool InPolygon((double X, double Y)[] polygon, double x, double y)
    {
        bool inside = false;
        for (int i = 0, j = polygon.Length - 1; i < polygon.Length; j = i++)
        {
            var (xi, yi) = polygon[i];
            var (xj, yj) = polygon[j];
            if ((yi > y) != (yj > y) && x < ((xj - xi) * (y - yi) / (yj - yi)) + xi)
            {
                inside = !inside;
            }
        }

        return inside;
    }

    private static float Lerp(byte a, byte b, float t) => ((a * (1 - t)) + (b * t)) / 255f;
}
