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
        // The Gaussian window is separable, so the valid-region blur is rows·X·colsᵀ with banded matrices. (Not conv2d:
        // on CPUs NNPACK does not support, libtorch warns on stderr at every small-kernel convolution.)
        Tensor rows = GaussianBand(height, 11, 1.5);
        Tensor cols = GaussianBand(width, 11, 1.5).t();
        Tensor Blur(Tensor t) => rows.matmul(t).matmul(cols);
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
        return tensor(values, [height, width, 3]).permute(2, 0, 1);   // [3, H, W], float64
    }

    /// <summary>[n − size + 1, n]: row i holds the normalised 1-D Gaussian at columns i … i + size − 1 (a valid-region blur).</summary>
    private static Tensor GaussianBand(int n, int size, double sigma)
    {
        if (n < size)
        {
            throw new ArgumentException($"SSIM needs images of at least {size}×{size} pixels, found an edge of {n}");
        }

        var g = Enumerable.Range(0, size).Select(i => Math.Exp(-Math.Pow(i - (size / 2), 2) / (2 * sigma * sigma))).ToArray();
        double total = g.Sum();
        int outputs = n - size + 1;
        var band = new double[outputs * n];
        for (int i = 0; i < outputs; i++)
        {
            for (int k = 0; k < size; k++)
            {
                band[(i * n) + i + k] = g[k] / total;
            }
        }

        return tensor(band, [outputs, n]);
    }
}
