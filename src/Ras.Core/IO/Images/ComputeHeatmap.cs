namespace Ras.IO.Images;

/// <summary>
/// Paints where RAS spent compute: each token's patch is tinted from blue (computed in the fewest steps) to
/// red (every step), blended over the image so the regions stay recognisable.
/// </summary>
public static class ComputeHeatmap
{
    /// <summary>
    /// <paramref name="rgb"/> <c>[H, W, 3]</c>, <paramref name="counts"/> per token (row-major over the
    /// <c>(H/p)×(W/p)</c> grid), <paramref name="steps"/> the run's step count → the overlay, same size.
    /// </summary>
    public static byte[] Overlay(byte[] rgb, int width, int height, int patch, IReadOnlyList<int> counts, int steps, double opacity = 0.55)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        ArgumentNullException.ThrowIfNull(counts);
        int cols = width / patch;
        var result = new byte[rgb.Length];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                double share = steps == 0 ? 1 : counts[((y / patch) * cols) + (x / patch)] / (double)steps;
                var (r, g, b) = Colour(share);
                int at = ((y * width) + x) * 3;
                result[at] = Blend(rgb[at], r, opacity);
                result[at + 1] = Blend(rgb[at + 1], g, opacity);
                result[at + 2] = Blend(rgb[at + 2], b, opacity);
            }
        }

        return result;
    }

    /// <summary>A blue → cyan → yellow → red ramp for a share in [0, 1].</summary>
    public static (byte R, byte G, byte B) Colour(double share)
    {
        double s = Math.Clamp(share, 0, 1);
        (double r, double g, double b) = s switch
        {
            < 1.0 / 3 => (0.0, s * 3, 1.0),
            < 2.0 / 3 => ((s - (1.0 / 3)) * 3, 1.0, 1 - ((s - (1.0 / 3)) * 3)),
            _ => (1.0, 1 - ((s - (2.0 / 3)) * 3), 0.0),
        };
        return ((byte)Math.Round(r * 255), (byte)Math.Round(g * 255), (byte)Math.Round(b * 255));
    }

    private static byte Blend(byte under, byte over, double opacity) => (byte)Math.Round((under * (1 - opacity)) + (over * opacity));
}
