namespace Ras.Sampling;

/// <summary>One finished sampling step, as reported through <see cref="IProgress{T}"/>.</summary>
/// <param name="Step">Zero-based index of the finished step.</param>
/// <param name="Steps">Total steps of the run.</param>
/// <param name="ComputedTokens">Image tokens per image the model computed in this step.</param>
/// <param name="TotalTokens">Image tokens per image.</param>
/// <param name="Elapsed">Time since the run started.</param>
/// <param name="Preview">A small picture of the current latents when <see cref="SamplerOptions.Preview"/> is set; else null.</param>
public sealed record SamplerProgress(int Step, int Steps, int ComputedTokens, int TotalTokens, TimeSpan Elapsed, LatentPreview? Preview = null);

/// <summary>A rough RGB picture of the latents during sampling.</summary>
/// <param name="Width">Pixels per row.</param>
/// <param name="Height">Rows.</param>
/// <param name="Rgb">RGB bytes <c>[H, W, 3]</c> of the first image of the batch.</param>
public sealed record LatentPreview(int Width, int Height, byte[] Rgb);
