using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>
/// <c>temb = timestep_embedder(sinusoid₂₅₆(t)) + text_embedder(pooled)</c>. Mirrors diffusers
/// <c>CombinedTimestepTextProjEmbeddings</c> (models/embeddings.py).
/// </summary>
internal sealed class CombinedTimestepTextProjEmbeddings : nn.Module
{
    private const int TimestepChannels = 256;
    private readonly ProjectionMlp timestep_embedder;
    private readonly ProjectionMlp text_embedder;

    public CombinedTimestepTextProjEmbeddings(long dim, long pooledDim)
        : base(nameof(CombinedTimestepTextProjEmbeddings))
    {
        timestep_embedder = new ProjectionMlp(TimestepChannels, dim, dim);
        text_embedder = new ProjectionMlp(pooledDim, dim, dim);
        RegisterComponents();
    }

    /// <summary><c>timestep [B]</c> (0..1000 scale), <c>pooled [B, P]</c> → <c>[B, D]</c>.</summary>
    public Tensor Forward(Tensor timestep, Tensor pooled)
    {
        using Tensor sinusoid = SinusoidalEmbedding.Timesteps(timestep, TimestepChannels);
        using Tensor features = sinusoid.to_type(pooled.dtype);
        using Tensor timeEmbedding = timestep_embedder.forward(features);
        using Tensor textEmbedding = text_embedder.forward(pooled);
        return timeEmbedding.add(textEmbedding);
    }
}
