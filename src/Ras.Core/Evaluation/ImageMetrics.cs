using static TorchSharp.torch;

namespace Ras.Evaluation;

/// <summary>Full-reference image similarity of RGB images in [0, 1].</summary>
public static class ImageMetrics
{
    /// <summary>PSNR in dB over all RGB values (data range 1); +∞ for identical images.</summary>
    public static double Psnr(byte[] a, byte[] b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Length != b.Length)
        {
            throw new ArgumentException("images differ in size", nameof(b));
        }

        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (a[i] - b[i]) / 255.0;
            sum += d * d;
        }

        double mse = sum / a.Length;
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(1 / mse);
    }

    /// <summary>
    /// SSIM per Wang et al. 2004: 11×11 Gaussian window (σ 1.5), K1 0.01, K2 0.03, data range 1, computed per
    /// RGB channel over the valid (unpadded) region, averaged over positions and channels.
    /// </summary>
    public static double Ssim(byte[] a, byte[] b, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        using var scope = NewDisposeScope();
        Tensor x = ToChannels(a, width, height);
        Tensor y = ToChannels(b, width, height);
        Tensor window = GaussianWindow(11, 1.5).expand(3, 1, 11, 11);
        Tensor Blur(Tensor t) => nn.functional.conv2d(t, window, groups: 3);
        const double c1 = 0.01 * 0.01;
        const double c2 = 0.03 * 0.03;
        Tensor muX = Blur(x);
        Tensor muY = Blur(y);
        Tensor sigmaX = Blur(x * x) - (muX * muX);
        Tensor sigmaY = Blur(y * y) - (muY * muY);
        Tensor sigmaXY = Blur(x * y) - (muX * muY);
        Tensor map = ((2 * muX * muY) + c1) * ((2 * sigmaXY) + c2) / (((muX * muX) + (muY * muY) + c1) * (sigmaX + sigmaY + c2));
        return map.mean().item<double>();
    }

    private static Tensor ToChannels(byte[] rgb, int width, int height)
    {
        var values = rgb.Select(v => v / 255.0).ToArray();
        return tensor(values, [height, width, 3]).permute(2, 0, 1).unsqueeze(0);   // [1, 3, H, W], float64
    }

    private static Tensor GaussianWindow(int size, double sigma)
    {
        var g = Enumerable.Range(0, size).Select(i => Math.Exp(-Math.Pow(i - (size / 2), 2) / (2 * sigma * sigma))).ToArray();
        double total = g.Sum();
        var kernel = new double[size * size];
        for (int i = 0; i < size; i++)
        {
            for (int j = 0; j < size; j++)
            {
                kernel[(i * size) + j] = g[i] * g[j] / (total * total);
            }
        }

        return tensor(kernel, [1, 1, size, size]);
    }
}
