using Ras.IO.Images;
using Ras.RegionAdaptive;

namespace Ras.Pipelines;

/// <summary>What to generate with the default model.</summary>
public sealed record ShapesRequest
{
    /// <summary>One prompt per image.</summary>
    public required IReadOnlyList<string> Prompts { get; init; }

    /// <summary>Negative prompt for classifier-free guidance (the empty prompt by default, as trained).</summary>
    public string NegativePrompt { get; init; } = string.Empty;

    /// <summary>Seed of the single <c>randn([B, 3, H, W])</c> draw for the whole batch.</summary>
    public long Seed { get; init; }

    /// <summary>Denoising steps.</summary>
    public int Steps { get; init; } = ShapesPipeline.DefaultSteps;

    /// <summary>Classifier-free guidance scale (on when > 1).</summary>
    public double GuidanceScale { get; init; } = ShapesPipeline.DefaultGuidance;

    /// <summary>Width in pixels, a multiple of 4, at most 64.</summary>
    public int Width { get; init; } = 64;

    /// <summary>Height in pixels, a multiple of 4, at most 64.</summary>
    public int Height { get; init; } = 64;

    /// <summary>RAS settings (dense by default).</summary>
    public RasOptions Ras { get; init; } = new();

    /// <summary>Image-to-image input (resized to <see cref="Width"/>×<see cref="Height"/> when it differs); null for text-to-image.</summary>
    public RgbImage? InitImage { get; init; }

    /// <summary>Image-to-image strength in (0, 1]: the share of the schedule that is run. Default 0.6, as diffusers.</summary>
    public double Strength { get; init; } = 0.6;

    /// <summary>Image <c>i</c> gets its own noise draw from seed <c>Seed + i</c> (see <see cref="ImageRequest.SeedPerImage"/>).</summary>
    public bool SeedPerImage { get; init; }

    /// <summary>Stops sampling early and returns the images as they are (see <see cref="ImageRequest.Stop"/>).</summary>
    public CancellationToken Stop { get; init; }
}
