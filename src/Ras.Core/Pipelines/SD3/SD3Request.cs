using Ras.IO.Images;
using Ras.RegionAdaptive;

namespace Ras.Pipelines.SD3;

/// <summary>What to generate with an SD3 / SD3.5 pipeline (defaults as diffusers' <c>StableDiffusion3Pipeline</c>).</summary>
public sealed record SD3Request
{
    /// <summary>Prompts; each produces <see cref="ImagesPerPrompt"/> images.</summary>
    public required IReadOnlyList<string> Prompts { get; init; }

    /// <summary>Negative prompt (one for all prompts). Default "".</summary>
    public string NegativePrompt { get; init; } = string.Empty;

    /// <summary>Images per prompt. Default 1.</summary>
    public int ImagesPerPrompt { get; init; } = 1;

    /// <summary>Seed of the single <c>randn([B, 16, H/8, W/8])</c> draw.</summary>
    public long Seed { get; init; }

    /// <summary>Denoising steps. Default 28.</summary>
    public int Steps { get; init; } = 28;

    /// <summary>CFG scale (on when > 1). Default 7.0.</summary>
    public double GuidanceScale { get; init; } = 7.0;

    /// <summary>Width in pixels (a multiple of 16); null = the model's native size.</summary>
    public int? Width { get; init; }

    /// <summary>Height in pixels (a multiple of 16); null = the model's native size.</summary>
    public int? Height { get; init; }

    /// <summary>T5 tokens (≤ 512). Default 256, as SD3.</summary>
    public int MaxSequenceLength { get; init; } = 256;

    /// <summary>Scheduler shift override; null = the scheduler config's.</summary>
    public double? Shift { get; init; }

    /// <summary>Skip T5 (zeros in its place, as diffusers without <c>text_encoder_3</c>).</summary>
    public bool NoT5 { get; init; }

    /// <summary>RAS settings (dense by default).</summary>
    public RasOptions Ras { get; init; } = new();

    /// <summary>Image-to-image input (resized to the output size when they differ); null for text-to-image.</summary>
    public RgbImage? Image { get; init; }

    /// <summary>Image-to-image strength in (0, 1]: 1 = start from pure noise. Default 0.6, as diffusers.</summary>
    public double Strength { get; init; } = 0.6;
}
