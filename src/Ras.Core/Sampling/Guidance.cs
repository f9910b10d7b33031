using Ras.Errors;

namespace Ras.Sampling;

/// <summary>
/// The guidance of one run resolved for a model: the loop's classifier-free scale (<see cref="SamplerOptions.CfgScale"/>)
/// and the scale a model takes as an input (FLUX.1-dev's embedded guidance), from the user's one "guidance" number.
/// </summary>
/// <param name="CfgScale">Classifier-free guidance of the loop (on when &gt; 1).</param>
/// <param name="Embedded">The model's embedded guidance, or null when it takes none.</param>
public readonly record struct Guidance(double CfgScale, double? Embedded)
{
    /// <summary>True when the loop runs an unconditional copy of each image (negative conditioning is needed).</summary>
    public bool UsesCfg => CfgScale > 1.0;

    /// <summary>
    /// What <paramref name="scale"/> means for a model of <paramref name="kind"/>: the CFG scale (SD3, Lumina), the embedded
    /// guidance (FLUX.1-dev) or nothing (FLUX.1-schnell). <paramref name="trueCfgScale"/> adds classifier-free guidance to
    /// a model whose own guidance is not CFG ("true CFG"); it is an error for a CFG model, which already has it.
    /// </summary>
    /// <exception cref="OptionsException">A non-finite or negative scale, or true CFG for a CFG model.</exception>
    public static Guidance For(GuidanceKind kind, double scale, double? trueCfgScale = null)
    {
        if (!double.IsFinite(scale) || scale < 0)
        {
            throw new OptionsException("guidance", $"must be a finite number ≥ 0, found {scale}");
        }

        if (trueCfgScale is double t && (!double.IsFinite(t) || t < 1))
        {
            throw new OptionsException("true-cfg", $"must be a finite number ≥ 1, found {t}");
        }

        return kind switch
        {
            GuidanceKind.ClassifierFree when trueCfgScale is not null =>
                throw new OptionsException("true-cfg", "applies to models with embedded or no guidance (FLUX.1); this model's --guidance is already classifier-free"),
            GuidanceKind.ClassifierFree => new Guidance(scale, null),
            GuidanceKind.Embedded => new Guidance(trueCfgScale ?? 1.0, scale),
            _ => new Guidance(trueCfgScale ?? 1.0, null),
        };
    }
}
