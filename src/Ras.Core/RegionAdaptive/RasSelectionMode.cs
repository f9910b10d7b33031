namespace Ras.RegionAdaptive;

/// <summary>How starvation (repeatedly cached tokens) adjusts the region scores.</summary>
public enum RasSelectionMode
{
    /// <summary>
    /// The official rule: score × exp(scale · total times dropped). With <c>high-ratio</c> near 1 this raises the
    /// scores of tokens cached for being high, so they tend to stay cached.
    /// </summary>
    Official,

    /// <summary>
    /// Scores move toward the middle of the computed part of the ranking by exp(−scale · consecutive RAS steps
    /// cached), from whichever end they were cached at, so a long-cached token is eventually recomputed.
    /// </summary>
    Revisit,
}
