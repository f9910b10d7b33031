using Ras.Errors;
using static TorchSharp.torch;

namespace Ras.Sampling;

/// <summary>Options of a flow-matching sampling run.</summary>
public sealed record SamplerOptions
{
    /// <summary>Denoising steps (diffusers' <c>num_inference_steps</c>). Default 28, as the SD3 pipeline.</summary>
    public int Steps { get; init; } = 28;

    /// <summary>
    /// Classifier-free guidance scale: the loop runs a conditional and an unconditional copy of each image and combines them
    /// <c>u + g·(c − u)</c> when it is above 1. Default 7.0, as the SD3 pipeline. This is CFG only: a family whose guidance is
    /// a model input (FLUX.1-dev's embedded guidance, <see cref="GuidanceKind.Embedded"/>) passes it with its conditioning and
    /// sets this to 1, or to its true-CFG scale.
    /// </summary>
    public double CfgScale { get; init; } = 7.0;

    /// <summary>
    /// First step to run (0 = text-to-image). Image-to-image starts later, from latents noised to that step's sigma,
    /// and runs <c>Steps − StartStep</c> steps; RAS step numbers then count from the first step run.
    /// </summary>
    public int StartStep { get; init; }

    /// <summary>Optional per-step preview of the latents (called inside the step, on the updated latents); null for none.</summary>
    public Func<Tensor, LatentPreview>? Preview { get; init; }

    /// <summary>
    /// Stops the run early, A1111's "interrupt": when signalled, the loop ends before its next step and returns the latents
    /// as they are (the caller decodes what it has). Unlike cancellation, this is not an error.
    /// </summary>
    public CancellationToken Stop { get; init; }

    /// <summary>True when classifier-free guidance is used (<see cref="CfgScale"/> &gt; 1).</summary>
    public bool UsesCfg => CfgScale > 1.0;

    /// <summary>Throws <see cref="OptionsException"/> for out-of-range values.</summary>
    public void Validate()
    {
        if (Steps < 1)
        {
            throw new OptionsException("steps", $"must be at least 1, found {Steps}");
        }

        if (StartStep < 0 || StartStep >= Steps)
        {
            throw new OptionsException("strength", $"leaves no step to run (start step {StartStep} of {Steps}); use a larger strength or more steps");
        }

        if (!double.IsFinite(CfgScale) || CfgScale < 0)
        {
            throw new OptionsException("guidance", $"must be a finite number ≥ 0, found {CfgScale}");
        }
    }
}
