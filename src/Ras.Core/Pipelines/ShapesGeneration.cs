using Ras.RegionAdaptive;

namespace Ras.Pipelines;

/// <summary>The images of one generation and what RAS did.</summary>
/// <param name="Images">RGB bytes <c>[H, W, 3]</c>, one per prompt.</param>
/// <param name="Width">Image width.</param>
/// <param name="Height">Image height.</param>
/// <param name="Steps">Per-step record: dense / refill / RAS and tokens computed.</param>
/// <param name="TokenComputeCounts">Per image and token, steps that computed it.</param>
/// <param name="PatchSize">Pixels per token edge (for heatmaps).</param>
/// <param name="Elapsed">Sampling time (text encoding included).</param>
/// <param name="UnknownWords">Prompt words the tokenizer did not know (mapped to its unknown token).</param>
/// <param name="Truncated">True when a prompt was longer than the tokenizer's limit.</param>
public sealed record ShapesGeneration(
    IReadOnlyList<byte[]> Images, int Width, int Height, IReadOnlyList<RasStepRecord> Steps, int[][] TokenComputeCounts,
    int PatchSize, TimeSpan Elapsed, IReadOnlyList<string> UnknownWords, bool Truncated);
