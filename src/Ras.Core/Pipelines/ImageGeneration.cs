using Ras.RegionAdaptive;

namespace Ras.Pipelines;

/// <summary>The images of one generation, the settings actually used and what RAS did.</summary>
/// <param name="Images">RGB bytes <c>[H, W, 3]</c>, prompts × images per prompt, in order (p0, p0, p1, …).</param>
/// <param name="Width">Image width in pixels.</param>
/// <param name="Height">Image height in pixels.</param>
/// <param name="Settings">The resolved settings (defaults filled in).</param>
/// <param name="Steps">Per sampler step run: dense / refill / RAS and tokens computed (fewer steps than requested with image-to-image).</param>
/// <param name="TokenComputeCounts">Per image and token, the steps that computed it (for heatmaps).</param>
/// <param name="PatchSize">Pixels per token edge (VAE factor × transformer patch).</param>
/// <param name="Warnings">Truncated prompts, unknown words and similar notes for the user.</param>
/// <param name="Timings">Seconds per stage (<c>encode</c>, <c>denoise</c>, <c>decode</c>).</param>
public sealed record ImageGeneration(
    IReadOnlyList<byte[]> Images, int Width, int Height, ResolvedSettings Settings, IReadOnlyList<RasStepRecord> Steps,
    int[][] TokenComputeCounts, int PatchSize, IReadOnlyList<string> Warnings, IReadOnlyDictionary<string, double> Timings);

/// <summary>The settings a generation ran with.</summary>
/// <param name="Steps">Schedule length.</param>
/// <param name="StepsRun">Steps actually run (less than <paramref name="Steps"/> for image-to-image).</param>
/// <param name="GuidanceScale">Guidance scale (its meaning: <see cref="PipelineDefaults.GuidanceKind"/>).</param>
/// <param name="Shift">Scheduler shift.</param>
/// <param name="Ras">RAS options with the step-dependent defaults resolved for the steps run (start and end step, error-reset steps).</param>
/// <param name="Extras">The family's own settings with defaults filled in (e.g. SD3's T5 length), or null when it has none.</param>
public sealed record ResolvedSettings(int Steps, int StepsRun, double GuidanceScale, double Shift, RasOptions Ras, FamilyExtras? Extras = null);
