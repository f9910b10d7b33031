using Ras.Errors;
using Ras.Models.Common;
using Ras.Models.Flux;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Pipelines.Flux;

/// <summary>
/// A <see cref="FluxTransformer2DModel"/> bound to its conditioning, on unpacked latents: the sampler (and RAS) see
/// <c>[B, 16, H, W]</c> latents with 2×2 patches as tokens — one token per packed token, token k at packed-grid row
/// <c>k / (W/2)</c>, column <c>k % (W/2)</c>, the same order as SD3's patches — and each call packs, runs the model with
/// the grid's position ids and unpacks.
/// </summary>
public sealed class FluxDenoiser : IDenoiser
{
    private readonly FluxTransformer2DModel model;
    private readonly FluxConditioning conditioning;

    /// <summary>Binds <paramref name="model"/> to <paramref name="conditioning"/> (both owned by the caller).</summary>
    /// <exception cref="OptionsException">Conditioning that does not fit the model (width, or guidance missing for a guidance-embedding model).</exception>
    public FluxDenoiser(FluxTransformer2DModel model, FluxConditioning conditioning)
    {
        this.model = model ?? throw new ArgumentNullException(nameof(model));
        this.conditioning = conditioning ?? throw new ArgumentNullException(nameof(conditioning));
        if (model.Config.GuidanceEmbeds && conditioning.Guidance is null)
        {
            throw new OptionsException("guidance", "this model embeds a guidance value (guidance_embeds = true); the conditioning has none");
        }

        if (conditioning.PromptEmbeds.shape[2] != model.Config.JointAttentionDim)
        {
            throw new OptionsException("prompt_embeds", $"width {conditioning.PromptEmbeds.shape[2]} does not match the model's joint_attention_dim {model.Config.JointAttentionDim}");
        }

        if (conditioning.PooledProjections.shape[1] != model.Config.PooledProjectionDim)
        {
            throw new OptionsException("pooled_prompt_embeds", $"width {conditioning.PooledProjections.shape[1]} does not match the model's pooled_projection_dim {model.Config.PooledProjectionDim}");
        }
    }

    /// <inheritdoc />
    /// <remarks>2: a token is a 2×2 latent patch (one packed token).</remarks>
    public int PatchSize => FluxLatents.PatchEdge;

    /// <inheritdoc />
    public int GuidanceCopies => conditioning.GuidanceCopies;

    /// <inheritdoc />
    public SamplingConvention Convention => SamplingConvention.Flux;

    /// <inheritdoc />
    /// <remarks><paramref name="timesteps"/> are on the sigma scale (<see cref="ModelTime.Sigma"/>); the model multiplies them by 1000.</remarks>
    public Tensor Predict(Tensor latents, Tensor timesteps, ITokenRouting? routing)
    {
        ArgumentNullException.ThrowIfNull(latents);
        ArgumentNullException.ThrowIfNull(timesteps);
        long height = latents.shape[2];
        long width = latents.shape[3];
        using Tensor packed = FluxLatents.Pack(latents);                                    // [B, N, 4C]
        using Tensor imageIds = FluxLatents.ImageIds(height / FluxLatents.PatchEdge, width / FluxLatents.PatchEdge, latents.device);
        using Tensor output = model.Forward(packed, conditioning.PromptEmbeds, conditioning.PooledProjections, timesteps,
            conditioning.Guidance, imageIds, conditioning.TextIds, routing);                // [B, N, out]
        return FluxLatents.Unpack(output, height, width);                                   // [B, out/4, H, W]
    }
}
