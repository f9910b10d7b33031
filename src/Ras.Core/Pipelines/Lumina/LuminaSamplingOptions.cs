using System.Globalization;
using Ras.Errors;

namespace Ras.Pipelines.Lumina;

/// <summary>
/// Lumina-specific sampling settings (diffusers <c>LuminaText2ImgPipeline.__call__</c> arguments and constants); the family's
/// <see cref="FamilyExtras"/>.
/// </summary>
public sealed record LuminaSamplingOptions : FamilyExtras
{
    /// <summary>
    /// <c>scaling_watershed</c>: steps whose model time is below it extrapolate RoPE linearly, later ones with NTK
    /// scaling. Default 1.0 (every step linear, as diffusers).
    /// </summary>
    public double ScalingWatershed { get; init; } = 1.0;

    /// <summary><c>proportional_attn</c>: scale self-attention by √(log N / log base) for resolutions off the trained one. Default true.</summary>
    public bool ProportionalAttention { get; init; } = true;

    /// <summary>Latent pixels to image pixels (the VAE's downsampling); it sets the pipeline's image-size constants. Default 8.</summary>
    public int VaeScaleFactor { get; init; } = 8;

    /// <inheritdoc />
    public override string FamilyName => "Lumina-Next";

    /// <inheritdoc />
    public override IEnumerable<string> OptionNames()
    {
        if (ScalingWatershed != 1.0)
        {
            yield return "scaling-watershed";
        }

        if (!ProportionalAttention)
        {
            yield return "proportional-attn";
        }
    }

    /// <summary>Throws <see cref="OptionsException"/> for out-of-range values.</summary>
    public void Validate()
    {
        if (!double.IsFinite(ScalingWatershed))
        {
            throw new OptionsException("scaling-watershed", $"must be a finite number, found {ScalingWatershed.ToString(CultureInfo.InvariantCulture)}");
        }

        if (VaeScaleFactor < 1)
        {
            throw new OptionsException("vae-scale-factor", $"must be at least 1, found {VaeScaleFactor}");
        }
    }
}
