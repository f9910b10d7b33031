using static TorchSharp.torch;

namespace Ras.RegionAdaptive;

/// <summary>Tokens to compute and tokens to cache, per image (equal counts for every image).</summary>
/// <param name="Active"><c>[B, n]</c> int64 token indices to compute, ascending.</param>
/// <param name="Cached"><c>[B, N − n]</c> int64 token indices that reuse cached results.</param>
public sealed record RegionSelection(Tensor Active, Tensor Cached) : IDisposable
{
    /// <summary>Tokens computed per image.</summary>
    public int ActiveCount => (int)Active.shape[1];

    /// <inheritdoc />
    public void Dispose()
    {
        Active.Dispose();
        Cached.Dispose();
    }

    /// <summary>How many of <paramref name="tokens"/> are cached from the low end, from the high end, and computed.</summary>
    public static (int Low, int High, long Active) Split(long tokens, int skip, double highRatio)
    {
        int low = (int)(skip * (1.0 - highRatio));
        int high = (int)(skip * highRatio);
        long active = Math.Max(1, tokens - low - high);
        low = (int)Math.Min(low, tokens - 1);
        high = (int)(tokens - low - active);
        return (low, high, active);
    }

    /// <summary>
    /// Official split: sort scores ascending; cache the <c>low = int(skip·(1 − high_ratio))</c> smallest
    /// and the <c>high = int(skip·high_ratio)</c> largest, compute the rest. Fixes: <c>high = 0</c> caches
    /// no high tokens (the official <c>indices[-0:]</c> caches all), and at least one token stays active.
    /// </summary>
    public static RegionSelection Select(Tensor scores, int skip, double highRatio)
    {
        ArgumentNullException.ThrowIfNull(scores);
        long tokens = scores.shape[1];
        var (low, high, active) = Split(tokens, skip, highRatio);

        using Tensor order = scores.argsort(1);                              // ascending, [B, N]
        using Tensor lowest = order.narrow(1, 0, low);
        using Tensor highest = order.narrow(1, tokens - high, high);
        using Tensor middle = order.narrow(1, low, active);
        Tensor cached = cat([lowest, highest], 1);
        (Tensor sorted, Tensor permutation) = middle.sort(1);
        permutation.Dispose();
        return new RegionSelection(sorted, cached);
    }
}
