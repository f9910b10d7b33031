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
}
