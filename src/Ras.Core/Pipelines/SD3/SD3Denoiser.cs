using Ras.Models.Common;
using Ras.Models.SD3;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Pipelines.SD3;

/// <summary>An <see cref="SD3Transformer2DModel"/> bound to its prompt conditioning.</summary>
public sealed class SD3Denoiser : IDenoiser
{
    private readonly SD3Transformer2DModel model;
    private readonly SD3Conditioning conditioning;

    /// <summary>Binds <paramref name="model"/> to <paramref name="conditioning"/> (both owned by the caller).</summary>
    public SD3Denoiser(SD3Transformer2DModel model, SD3Conditioning conditioning)
    {
        this.model = model ?? throw new ArgumentNullException(nameof(model));
        this.conditioning = conditioning ?? throw new ArgumentNullException(nameof(conditioning));
    }

    /// <inheritdoc />
    public int PatchSize => model.Config.PatchSize;

    /// <inheritdoc />
    public SamplingConvention Convention => SamplingConvention.StableDiffusion3;

    /// <inheritdoc />
    public int GuidanceCopies => conditioning.GuidanceCopies;

    /// <inheritdoc />
    public Tensor Predict(Tensor latents, Tensor timesteps, ITokenRouting? routing) =>
        model.Forward(latents, conditioning.EncoderHiddenStates, conditioning.PooledProjections, timesteps, routing);
}
