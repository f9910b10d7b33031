namespace Ras.RegionAdaptive;

/// <summary>Per-token score RAS ranks regions by (the official <c>--metric</c>).</summary>
public enum RasMetric
{
    /// <summary>Standard deviation over latent channels (unbiased), averaged over the token's pixels.</summary>
    Std,

    /// <summary>L2 norm over latent channels, averaged over the token's pixels.</summary>
    L2Norm,

    /// <summary>
    /// (Ours, not in the official code.) How much the velocity changed since the previous step: the L2 norm over channels of
    /// <c>v(i−1) − v(i−2)</c> (filled velocities), averaged over the token's pixels; the first selection, with no earlier
    /// velocity, uses <see cref="Std"/>. Tokens still changing rank high, settled ones low: pair it with a low high-ratio
    /// so the settled ones are the ones cached.
    /// </summary>
    Delta,
}
