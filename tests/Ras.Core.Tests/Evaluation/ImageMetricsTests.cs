using Ras.Evaluation;

namespace Ras.Tests.Evaluation;

public sealed class ImageMetricsTests
{
    private static byte[] Random(int seed, int n)
    {
        var rng = new Random(seed);
        var bytes = new byte[n];
        rng.NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void Identical_images_have_infinite_psnr_and_ssim_1()
    {
        byte[] image = Random(1, 32 * 32 * 3);
        Assert.Equal(double.PositiveInfinity, ImageMetrics.Psnr(image, image));
        Assert.Equal(1.0, ImageMetrics.Ssim(image, image, 32, 32), 10);
    }

    [Fact]
    public void Psnr_of_a_uniform_offset_follows_the_formula()
    {
        byte[] a = Enumerable.Repeat((byte)100, 16 * 16 * 3).ToArray();
        byte[] b = Enumerable.Repeat((byte)110, 16 * 16 * 3).ToArray();
        Assert.Equal(10 * Math.Log10(1 / Math.Pow(10 / 255.0, 2)), ImageMetrics.Psnr(a, b), 9);
    }

    [Fact]
    public void Ssim_matches_the_closed_form_for_constant_images()
    {
        // Constant images: σ = 0, so SSIM = (2μxμy + C1) / (μx² + μy² + C1).
        byte[] a = Enumerable.Repeat((byte)51, 16 * 16 * 3).ToArray();    // 0.2
        byte[] b = Enumerable.Repeat((byte)153, 16 * 16 * 3).ToArray();   // 0.6
        double expected = ((2 * 0.2 * 0.6) + 1e-4) / ((0.04 + 0.36) + 1e-4);
        Assert.Equal(expected, ImageMetrics.Ssim(a, b, 16, 16), 9);
    }

    [Fact]
    public void Noise_lowers_ssim_monotonically()
    {
        byte[] clean = Random(2, 32 * 32 * 3);
        byte[] Noisy(int amplitude) => clean.Select((v, i) => (byte)Math.Clamp(v + ((i * 7919 % 13) - 6) * amplitude / 6, 0, 255)).ToArray();
        double mild = ImageMetrics.Ssim(clean, Noisy(5), 32, 32);
        double strong = ImageMetrics.Ssim(clean, Noisy(60), 32, 32);
        Assert.True(1 > mild && mild > strong, $"{mild} {strong}");
    }

    [Fact]
    public void Ssim_equals_the_definition_summed_window_by_window()
    {
        // Wang et al. 2004 written out: at every valid 11×11 window, Gaussian-weighted means, variances and covariance.
        const int width = 19, height = 14;
        byte[] a = Random(3, width * height * 3);
        byte[] b = a.Select((v, i) => (byte)Math.Clamp(v + (i % 9) - 4 + ((i / 37) % 5 * 6), 0, 255)).ToArray();
        var g = Enumerable.Range(0, 11).Select(i => Math.Exp(-Math.Pow(i - 5, 2) / (2 * 1.5 * 1.5))).ToArray();
        double total = g.Sum();
        double sum = 0;
        int count = 0;
        for (int c = 0; c < 3; c++)
        {
            for (int top = 0; top + 11 <= height; top++)
            {
                for (int left = 0; left + 11 <= width; left++)
                {
                    double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
                    for (int i = 0; i < 11; i++)
                    {
                        for (int j = 0; j < 11; j++)
                        {
                            double w = g[i] * g[j] / (total * total);
                            int at = ((((top + i) * width) + left + j) * 3) + c;
                            double x = a[at] / 255.0, y = b[at] / 255.0;
                            mx += w * x;
                            my += w * y;
                            xx += w * x * x;
                            yy += w * y * y;
                            xy += w * x * y;
                        }
                    }

                    double vx = xx - (mx * mx), vy = yy - (my * my), cxy = xy - (mx * my);
                    sum += ((2 * mx * my) + 1e-4) * ((2 * cxy) + 9e-4) / (((mx * mx) + (my * my) + 1e-4) * (vx + vy + 9e-4));
                    count++;
                }
            }
        }

        double ssim = ImageMetrics.Ssim(a, b, width, height);
        Assert.InRange(ssim, 0.1, 0.99);   // a real, partial similarity, not a degenerate case
        Assert.Equal(sum / count, ssim, 10);
        var small = Assert.Throws<ArgumentException>(() => ImageMetrics.Ssim(a[..(10 * 12 * 3)], b[..(10 * 12 * 3)], 10, 12));
        Assert.Contains("at least 11×11", small.Message, StringComparison.Ordinal);
    }
}
