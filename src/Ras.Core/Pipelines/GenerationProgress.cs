using Ras.Sampling;

namespace Ras.Pipelines;

/// <summary>Pipeline stages, in order.</summary>
public enum GenerationStage
{
    /// <summary>Tokenizing and running the text encoders.</summary>
    Encode,

    /// <summary>The sampler loop (one report per step).</summary>
    Denoise,

    /// <summary>Decoding latents to pixels.</summary>
    Decode,
}

/// <summary>A progress report of a generation.</summary>
/// <param name="Stage">The stage reporting.</param>
/// <param name="Step">Finished units of the stage (sampler steps while denoising; components or images otherwise).</param>
/// <param name="Total">Units of the stage.</param>
/// <param name="ComputedTokens">Denoise: image tokens per image computed in this step; else 0.</param>
/// <param name="TotalTokens">Image tokens per image.</param>
/// <param name="Elapsed">Time since the stage started.</param>
/// <param name="Preview">Denoise with <see cref="ImageRequest.Preview"/>: a rough picture of the latents; else null.</param>
public sealed record GenerationProgress(GenerationStage Stage, int Step, int Total, int ComputedTokens, int TotalTokens, TimeSpan Elapsed, LatentPreview? Preview = null);
