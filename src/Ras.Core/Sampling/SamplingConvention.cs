using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Sampling;

/// <summary>What time value a family's model is given at a scheduler timestep <c>t = σ·T</c>.</summary>
public enum ModelTime
{
    /// <summary>The scheduler timestep <c>t = σ·T</c> itself (SD3).</summary>
    Timestep,

    /// <summary><c>t / T</c> = σ, on the 0..1 scale (Flux: diffusers passes <c>t / 1000</c> and the model multiplies by 1000 again).</summary>
    Sigma,

    /// <summary>
    /// <c>1 − t/T</c>: the model's time runs from 0 (noise) to 1 (data) and its velocity is along that time, so the Euler
    /// update (along σ) uses its negation (Lumina-Next).
    /// </summary>
    ReversedSigma,
}

/// <summary>
/// How a model family meets the shared flow-matching Euler loop: the time it is given, which half of a guided batch
/// is conditional, which channels guidance acts on, and the sign of its velocity. The loop itself is the same for
/// every family; only these rules differ.
/// </summary>
public sealed record SamplingConvention
{
    /// <summary>SD3 (diffusers <c>StableDiffusion3Pipeline</c>): time <c>σ·T</c>, batch <c>[uncond, cond]</c>, every channel guided.</summary>
    public static SamplingConvention StableDiffusion3 { get; } = new();

    /// <summary>
    /// Lumina-Next (diffusers <c>LuminaText2ImgPipeline</c>): time <c>1 − σ</c> with the velocity negated, batch
    /// <c>[cond, uncond]</c>, only channels 0–2 guided (the rest take the conditional prediction).
    /// </summary>
    public static SamplingConvention LuminaNext { get; } = new() { Time = ModelTime.ReversedSigma, ConditionalFirst = true, GuidedChannels = 3 };

    /// <summary>FLUX.1 (diffusers <c>FluxPipeline</c>): time <c>σ = t/T</c>, batch <c>[uncond, cond]</c> under true CFG, every channel guided.</summary>
    public static SamplingConvention Flux { get; } = new() { Time = ModelTime.Sigma };

    /// <summary>The time the model is given. Default: the scheduler timestep.</summary>
    public ModelTime Time { get; init; } = ModelTime.Timestep;

    /// <summary>With guidance, the first half of the model batch is the conditional one (else the second).</summary>
    public bool ConditionalFirst { get; init; }

    /// <summary>
    /// Guidance acts on the first this many channels only; the others keep the conditional prediction. Null = all.
    /// (Lumina inherits DiT's hard-coded 3, whatever the channel count.)
    /// </summary>
    public int? GuidedChannels { get; init; }

    /// <summary>The timestep the model receives at scheduler timestep <paramref name="timestep"/> (float32 arithmetic).</summary>
    public float ModelTimestep(float timestep, int trainTimesteps) => Time switch
    {
        ModelTime.Sigma => (float)((double)timestep / trainTimesteps),
        ModelTime.ReversedSigma => 1f - (timestep / trainTimesteps),
        _ => timestep,
    };

    /// <summary>
    /// The velocity the Euler update uses, <c>[B, C, H, W]</c>, from the model output <c>[B·copies, C', H, W]</c>: its first
    /// C channels (C' &gt; C when the model also predicts a variance), combined over the guidance copies, signed for σ.
    /// </summary>
    /// <exception cref="ArgumentException">The output has fewer channels than the latents.</exception>
    public Tensor Velocity(Tensor output, long latentChannels, int copies, double guidanceScale)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (output.shape[1] < latentChannels)
        {
            throw new ArgumentException($"the model output has {output.shape[1]} channels, fewer than the latents' {latentChannels}", nameof(output));
        }

        using Tensor prediction = output.narrow(1, 0, latentChannels);
        using Tensor guided = copies == 1 ? prediction.alias() : Guide(prediction, guidanceScale);
        return Time == ModelTime.ReversedSigma ? guided.neg() : guided.alias();
    }

    /// <summary>
    /// The model batch of a guided run: <paramref name="conditional"/> and <paramref name="unconditional"/> rows
    /// (<c>[B, …]</c> each) in this convention's order (<see cref="ConditionalFirst"/>), <c>[2B, …]</c>.
    /// </summary>
    public Tensor GuidanceBatch(Tensor conditional, Tensor unconditional) =>
        ConditionalFirst ? torch.cat([conditional, unconditional], 0) : torch.cat([unconditional, conditional], 0);

    /// <summary><c>u + g·(c − u)</c> over the batch halves, on <see cref="GuidedChannels"/> channels; the rest is <c>c</c>.</summary>
    private Tensor Guide(Tensor prediction, double guidanceScale)
    {
        Tensor[] halves = prediction.chunk(2, 0);
        using Tensor cond = ConditionalFirst ? halves[0] : halves[1];
        using Tensor uncond = ConditionalFirst ? halves[1] : halves[0];
        using Tensor difference = cond.sub(uncond);
        using Tensor scaled = difference.mul((float)guidanceScale);
        Tensor guided = uncond.add(scaled);
        long channels = prediction.shape[1];
        if (GuidedChannels is not int k || k >= channels)
        {
            return guided;
        }

        using (guided)
        using (Tensor guidedPart = guided.narrow(1, 0, k))
        using (Tensor conditionalPart = cond.narrow(1, k, channels - k))
        {
            return torch.cat([guidedPart, conditionalPart], 1);
        }
    }
}
