using Ras.IO.Images;
using Ras.RegionAdaptive;

namespace Ras.Pipelines;

/// <summary>
/// What to generate, for any <see cref="ITextToImagePipeline"/>. Null settings take the pipeline's defaults
/// (<see cref="ITextToImagePipeline.Defaults"/>); settings only one family has are in <see cref="Extras"/>, and a pipeline
/// rejects another family's.
/// </summary>
public sealed record ImageRequest
{
    /// <summary>Prompts; each produces <see cref="ImagesPerPrompt"/> images, in order (p0, p0, p1, …).</summary>
    public required IReadOnlyList<string> Prompts { get; init; }

    /// <summary>Negative prompt (one for all prompts), used with guidance. Default "".</summary>
    public string NegativePrompt { get; init; } = string.Empty;

    /// <summary>Images per prompt. Default 1.</summary>
    public int ImagesPerPrompt { get; init; } = 1;

    /// <summary>Seed of the single initial-noise draw for the whole batch (diffusers' latents for the same seed).</summary>
    public long Seed { get; init; }

    /// <summary>
    /// When true, image <c>i</c> of the batch gets its own noise draw from seed <c><see cref="Seed"/> + i</c> (A1111's
    /// <c>all_seeds</c>), so any image can be made again alone from its seed; when false (default), one draw for the whole
    /// batch, as diffusers (then only image 0 matches a single-image run with the same seed).
    /// </summary>
    public bool SeedPerImage { get; init; }

    /// <summary>Denoising steps; null = the pipeline's default.</summary>
    public int? Steps { get; init; }

    /// <summary>Classifier-free guidance scale (on when > 1); null = the pipeline's default.</summary>
    public double? GuidanceScale { get; init; }

    /// <summary>Width in pixels; null = the model's native size (or the init image's).</summary>
    public int? Width { get; init; }

    /// <summary>Height in pixels; null = the model's native size (or the init image's).</summary>
    public int? Height { get; init; }

    /// <summary>RAS settings; dense by default. Start from <see cref="PipelineDefaults.RecommendedRas"/> for the family's recommendation.</summary>
    public RasOptions Ras { get; init; } = new();

    /// <summary>Scheduler shift override; null = the scheduler config's.</summary>
    public double? Shift { get; init; }

    /// <summary>Settings only the model's family has (e.g. <c>SD3Extras</c>, <c>LuminaSamplingOptions</c>); null = its defaults.</summary>
    public FamilyExtras? Extras { get; init; }

    /// <summary>Image-to-image input (resized to the output size when they differ); null for text-to-image.</summary>
    public RgbImage? InitImage { get; init; }

    /// <summary>Image-to-image strength in (0, 1]: the share of the schedule that is run; 1 = from pure noise. Default 0.6, as diffusers.</summary>
    public double Strength { get; init; } = 0.6;

    /// <summary>Attach a rough picture of the latents to every step's progress report.</summary>
    public bool Preview { get; init; }

    /// <summary>
    /// Stops sampling early (A1111's interrupt): when signalled, no further step runs and the images are decoded from the
    /// latents of the last finished step. Unlike the cancellation token of <see cref="ITextToImagePipeline.GenerateAsync"/>,
    /// this still returns images.
    /// </summary>
    public CancellationToken Stop { get; init; }
}
