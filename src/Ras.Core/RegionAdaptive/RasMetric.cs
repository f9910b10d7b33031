namespace Ras.RegionAdaptive;

/// <summary>Per-token score RAS ranks regions by (the official <c>--metric</c>).</summary>
public enum RasMetric
{
    /// <summary>Standard deviation over latent channels (unbiased), averaged over the token's pixels.</summary>
    Std,

    /// <summary>L2 norm over latent channels, averaged over the token's pixels.</summary>
    L2Norm,
}
