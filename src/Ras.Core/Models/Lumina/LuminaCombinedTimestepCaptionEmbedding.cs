using Ras.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Lumina;

/// <summary>
/// <c>temb = timestep_embedder(sinusoid₂₅₆(t)) + caption_embedder(masked mean of the caption)</c>, caption_embedder
/// = [LayerNorm, Linear]. Mirrors diffusers <c>LuminaCombinedTimestepCaptionEmbedding</c> (models/embeddings.py).
/// </summary>
internal sealed class LuminaCombinedTimestepCaptionEmbedding : nn.Module
{
    private const int TimestepChannels = 256;
    private readonly ProjectionMlp timestep_embedder;
    private readonly ModuleList<nn.Module> caption_embedder;

    public LuminaCombinedTimestepCaptionEmbedding(int dim, int captionDim)
        : base(nameof(LuminaCombinedTimestepCaptionEmbedding))
    {
        timestep_embedder = new ProjectionMlp(TimestepChannels, dim, dim);
        caption_embedder = nn.ModuleList<nn.Module>(nn.LayerNorm(captionDim, eps: 1e-5, device: ModuleConstruction.Device), nn.Linear(captionDim, dim, device: ModuleConstruction.Device));
        RegisterComponents();
    }

    /// <summary><c>timestep [B]</c> (Lumina time, 0 = noise), <c>caption [B, L, Dc]</c>, <c>mask [B, L]</c> (1 = valid) → <c>[B, D]</c>.</summary>
    public Tensor Forward(Tensor timestep, Tensor caption, Tensor mask)
    {
        using Tensor sinusoid = SinusoidalEmbedding.Timesteps(timestep, TimestepChannels);
        using Tensor features = sinusoid.to_type(caption.dtype);
        using Tensor timeEmbedding = timestep_embedder.forward(features);

        // Masked mean over the caption; diffusers forms the mask in float32 whatever the model dtype.
        using Tensor mask32 = mask.to_type(ScalarType.Float32);
        using Tensor weights = mask32.unsqueeze(-1);                                       // [B, L, 1]
        using Tensor weighted = caption.mul(weights);
        using Tensor total = weighted.sum(1);                                              // [B, Dc]
        using Tensor count = weights.sum(1);                                               // [B, 1]
        using Tensor mean = total.div(count);
        using Tensor pooled = mean.to_type(caption.dtype);
        using Tensor normed = ((LayerNorm)caption_embedder[0]).forward(pooled);
        using Tensor captionEmbedding = ((Linear)caption_embedder[1]).forward(normed);
        return timeEmbedding.add(captionEmbedding);
    }
}
