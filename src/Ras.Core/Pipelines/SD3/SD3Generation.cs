using Ras.RegionAdaptive;

namespace Ras.Pipelines.SD3;

/// <summary>The images of one SD3 generation and what was done.</summary>
/// <param name="Images">RGB bytes <c>[H, W, 3]</c>, prompts × images per prompt, in order (p0, p0, p1, …).</param>
/// <param name="Width">Image width.</param>
/// <param name="Height">Image height.</param>
/// <param name="Steps">Per sampler step: dense / refill / RAS and tokens computed (fewer than requested with img2img).</param>
/// <param name="TokenComputeCounts">Per image and token, steps that computed it (for heatmaps).</param>
/// <param name="PatchSize">Pixels per token edge (VAE factor × transformer patch).</param>
/// <param name="Warnings">Truncated prompts and similar notes for the user.</param>
/// <param name="Timings">Seconds per stage (encode, denoise, decode).</param>
public sealed record SD3Generation(
    IReadOnlyList<byte[]> Images, int Width, int Height, IReadOnlyList<RasStepRecord> Steps, int[][] TokenComputeCounts, int PatchSize,
    IReadOnlyList<string> Warnings, IReadOnlyDictionary<string, double> Timings);
