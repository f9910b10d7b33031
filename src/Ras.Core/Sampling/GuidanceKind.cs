namespace Ras.Sampling;

/// <summary>What a model's "guidance scale" means. The sampling loop itself only knows classifier-free guidance (<see cref="SamplerOptions.CfgScale"/>).</summary>
public enum GuidanceKind
{
    /// <summary>The model takes no guidance (FLUX.1-schnell: diffusers ignores <c>guidance_scale</c>).</summary>
    None,

    /// <summary>
    /// Classifier-free guidance: a conditional and an unconditional pass, combined <c>u + g·(c − u)</c>; on when the scale
    /// is above 1 (SD3, Lumina-Next, ras-shapes).
    /// </summary>
    ClassifierFree,

    /// <summary>
    /// The scale is an input of the model (FLUX.1-dev's guidance embedding): one pass per image. Classifier-free guidance can
    /// still be added on top with a negative prompt ("true CFG", a separate scale).
    /// </summary>
    Embedded,
}
