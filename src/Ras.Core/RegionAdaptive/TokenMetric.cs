using static TorchSharp.torch;

namespace Ras.RegionAdaptive;

/// <summary>The per-token region score RAS ranks by (official <c>ras_selection</c>, first half).</summary>
public static class TokenMetric
{
    /// <summary>
    /// <c>diff [B, C, H, W]</c> → float64 <c>[B, N]</c>: per latent pixel the channel std (unbiased) or L2
    /// norm, then per token the mean of its p×p pixels (over the columns, then the rows), tokens in
    /// row-major grid order. Computed in float64, as the reference scores are.
    /// </summary>
    public static Tensor Compute(Tensor diff, int patchSize, RasMetric metric)
    {
        ArgumentNullException.ThrowIfNull(diff);
        long batch = diff.shape[0];
        long rows = diff.shape[2] / patchSize;
        long cols = diff.shape[3] / patchSize;
        using Tensor d = diff.to_type(ScalarType.Float64);
        using Tensor perPixel = metric switch
        {
            RasMetric.Std => d.std(1, unbiased: true),                       // [B, H, W]
            RasMetric.L2Norm or RasMetric.Delta => d.square().sum(1).sqrt(),
            _ => throw new ArgumentOutOfRangeException(nameof(metric)),
        };
        using Tensor patches = perPixel.view(batch, rows, patchSize, cols, patchSize);
        using Tensor overColumns = patches.mean([4]);                        // [B, rows, p, cols]
        using Tensor overRows = overColumns.mean([2]);                       // [B, rows, cols]
        return overRows.reshape(batch, rows * cols);
    }

    /// <summary>
    /// Dilation (ours): each token's score becomes the maximum over its (2k+1)×(2k+1) neighbourhood on the
    /// <paramref name="rows"/>×<paramref name="cols"/> token grid (edges clipped). <c>[B, N] → [B, N]</c>.
    /// </summary>
    public static Tensor Dilate(Tensor score, int rows, int cols, int radius)
    {
        ArgumentNullException.ThrowIfNull(score);
        if (radius <= 0)
        {
            return score.alias();
        }

        using Tensor grid = score.view(score.shape[0], 1, rows, cols);
        using Tensor pooled = nn.functional.max_pool2d(grid, [(2 * radius) + 1, (2 * radius) + 1], [1, 1], [radius, radius]);
        return pooled.reshape(score.shape[0], rows * cols);
    }

    /// <summary>
    /// Starvation scaling: <c>score · exp(scale · dropCount)</c>, the exponential in float32 as the
    /// official code computes it, multiplied into the float64 score.
    /// </summary>
    public static Tensor ApplyStarvation(Tensor score, Tensor dropCount, double starvationScale)
    {
        ArgumentNullException.ThrowIfNull(score);
        ArgumentNullException.ThrowIfNull(dropCount);
        using Tensor exponent = dropCount.to_type(ScalarType.Float32).mul((float)starvationScale);
        using Tensor factor = exponent.exp();
        using Tensor factor64 = factor.to_type(ScalarType.Float64);
        return score.mul(factor64);
    }

    /// <summary>
    /// Revisit scaling: <c>target + (score − target) · exp(−scale · run)</c> per image, where <c>target</c> is
    /// the score at rank <paramref name="middleRank"/> (the middle of the computed range of the ascending
    /// ranking) and <paramref name="cachedRun"/> counts the consecutive RAS steps each token has been cached.
    /// Long-cached tokens drift into the computed part of the ranking from whichever end they were cached at.
    /// </summary>
    public static Tensor ApplyRevisit(Tensor score, Tensor cachedRun, double starvationScale, long middleRank)
    {
        ArgumentNullException.ThrowIfNull(score);
        ArgumentNullException.ThrowIfNull(cachedRun);
        (Tensor sorted, Tensor order) = score.sort(1);
        order.Dispose();
        using Tensor ascending = sorted;
        using Tensor target = ascending.narrow(1, middleRank, 1);             // [B, 1]
        using Tensor exponent = cachedRun.to_type(ScalarType.Float32).mul((float)-starvationScale);
        using Tensor factor32 = exponent.exp();
        using Tensor factor = factor32.to_type(ScalarType.Float64);
        using Tensor offset = score.sub(target);
        using Tensor shrunk = offset.mul(factor);
        return shrunk.add(target);
    }
}
