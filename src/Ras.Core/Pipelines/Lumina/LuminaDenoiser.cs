using Ras.Errors;
using Ras.Models.Common;
using Ras.Models.Lumina;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Pipelines.Lumina;

/// <summary>
/// A <see cref="LuminaNextDiT2DModel"/> bound to its caption conditioning, with the pipeline's per-resolution and
/// per-step constants: RoPE extrapolation (linear below the scaling watershed, NTK above) and the proportional-attention
/// base length, as diffusers' <c>LuminaText2ImgPipeline.__call__</c> derives them.
/// </summary>
public sealed class LuminaDenoiser : IDenoiser
{
    private readonly LuminaNextDiT2DModel model;
    private readonly LuminaConditioning conditioning;

    /// <summary>Binds <paramref name="model"/> to <paramref name="conditioning"/> (both owned by the caller).</summary>
    /// <exception cref="OptionsException">Invalid <paramref name="options"/>, or a model too small for proportional attention.</exception>
    public LuminaDenoiser(LuminaNextDiT2DModel model, LuminaConditioning conditioning, LuminaSamplingOptions? options = null)
    {
        this.model = model ?? throw new ArgumentNullException(nameof(model));
        this.conditioning = conditioning ?? throw new ArgumentNullException(nameof(conditioning));
        Options = options ?? new LuminaSamplingOptions();
        Options.Validate();
        if (Options.ProportionalAttention)
        {
            BaseSequenceLength = RequireProportionalBase(DefaultImageSize, Options.VaeScaleFactor);
        }
    }

    /// <summary>
    /// The proportional-attention base length <c>(default_image_size // 16)²</c> for a model trained at
    /// <paramref name="defaultImageSize"/> pixels.
    /// </summary>
    /// <exception cref="OptionsException">The base length is below 2 (its logarithm divides), i.e. the model is too small.</exception>
    public static int RequireProportionalBase(int defaultImageSize, int vaeScaleFactor)
    {
        int side = defaultImageSize / 16;
        int length = side * side;
        return length >= 2 ? length : throw new OptionsException("proportional-attn",
            $"needs sample_size·{vaeScaleFactor} ≥ 32 (base length (default image size // 16)² = {length}); turn it off for this model");
    }

    /// <summary>The Lumina settings in use.</summary>
    public LuminaSamplingOptions Options { get; }

    /// <summary>The trained image edge in pixels (<c>sample_size · vae_scale_factor</c>, diffusers' <c>default_image_size</c>).</summary>
    public int DefaultImageSize => model.Config.SampleSize * Options.VaeScaleFactor;

    /// <summary>Proportional-attention base length <c>(default_image_size // 16)²</c>, or null when it is off.</summary>
    public int? BaseSequenceLength { get; }

    /// <inheritdoc />
    public int PatchSize => model.Config.PatchSize;

    /// <inheritdoc />
    public int GuidanceCopies => conditioning.GuidanceCopies;

    /// <inheritdoc />
    public SamplingConvention Convention => SamplingConvention.LuminaNext;

    /// <summary>
    /// <c>√(width·height / default_image_size²)</c> for latents of <paramref name="latentHeight"/>×<paramref name="latentWidth"/>:
    /// how far the resolution is from the trained one.
    /// </summary>
    public double ScalingFactor(long latentHeight, long latentWidth)
    {
        double height = latentHeight * (double)Options.VaeScaleFactor;
        double width = latentWidth * (double)Options.VaeScaleFactor;
        return Math.Sqrt(width * height / ((double)DefaultImageSize * DefaultImageSize));
    }

    /// <summary>RoPE factors at model time <paramref name="modelTime"/>: linear extrapolation below the watershed, NTK from it on.</summary>
    public LuminaRopeScaling RopeScaling(float modelTime, long latentHeight, long latentWidth)
    {
        double factor = ScalingFactor(latentHeight, latentWidth);
        return modelTime < Options.ScalingWatershed ? new LuminaRopeScaling(factor, 1.0) : new LuminaRopeScaling(1.0, factor);
    }

    /// <inheritdoc />
    public Tensor Predict(Tensor latents, Tensor timesteps, ITokenRouting? routing)
    {
        ArgumentNullException.ThrowIfNull(latents);
        ArgumentNullException.ThrowIfNull(timesteps);

        // diffusers decides by the first sample's time; a sampling run gives every sample the same one.
        float modelTime;
        using (Tensor first = timesteps[0])
        {
            modelTime = first.item<float>();
        }

        LuminaRopeScaling rope = RopeScaling(modelTime, latents.shape[2], latents.shape[3]);
        return model.Forward(latents, timesteps, conditioning.Captions, conditioning.Masks, rope, BaseSequenceLength, routing);
    }
}
