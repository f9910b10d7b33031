using Ras.Models.Common;
using static TorchSharp.torch;

namespace Ras.Models.Flux;

/// <summary>
/// The conditioning vector <c>temb = timestep_embedder(sinusoid(t)) [+ guidance_embedder(sinusoid(g))] + text_embedder(pooled)</c>.
/// Mirrors diffusers <c>CombinedTimestepGuidanceTextProjEmbeddings</c> and, without a guidance embedder (FLUX.1-schnell
/// style), <c>CombinedTimestepTextProjEmbeddings</c> (models/embeddings.py): same keys, same sum order.
/// </summary>
internal sealed class CombinedTimestepGuidanceTextProjEmbeddings : nn.Module
{
    private const int TimestepChannels = 256;
    private readonly ProjectionMlp timestep_embedder;
    private readonly ProjectionMlp? guidance_embedder;
    private readonly ProjectionMlp text_embedder;

    public CombinedTimestepGuidanceTextProjEmbeddings(long dim, long pooledDim, bool guidance)
        : base(nameof(CombinedTimestepGuidanceTextProjEmbeddings))
    {
        timestep_embedder = new ProjectionMlp(TimestepChannels, dim, dim);
        if (guidance)
        {
            guidance_embedder = new ProjectionMlp(TimestepChannels, dim, dim);
        }

        text_embedder = new ProjectionMlp(pooledDim, dim, dim);
        RegisterComponents();
    }

    /// <summary>True when the module embeds a guidance value.</summary>
    public bool HasGuidance => guidance_embedder is not null;

    /// <summary>
    /// <c>timestep [B]</c> and <c>guidance [B]</c> on the 0..1000 scale (any float dtype: the sinusoid rounds to
    /// float32), <c>pooled [B, P]</c> → <c>[B, D]</c>. <paramref name="guidance"/> is read only with a guidance embedder.
    /// </summary>
    public Tensor Forward(Tensor timestep, Tensor? guidance, Tensor pooled, Action<string, Tensor>? tap)
    {
        using Tensor timeEmbedding = Embed(timestep_embedder, timestep, pooled.dtype);         // [B, D]
        tap?.Invoke("timestep_embed", timeEmbedding);
        using Tensor textEmbedding = text_embedder.forward(pooled);                           // [B, D]
        tap?.Invoke("pooled_embed", textEmbedding);
        if (guidance_embedder is null)
        {
            return timeEmbedding.add(textEmbedding);
        }

        using Tensor guidanceEmbedding = Embed(guidance_embedder, guidance!, pooled.dtype);
        tap?.Invoke("guidance_embed", guidanceEmbedding);
        using Tensor timeGuidance = timeEmbedding.add(guidanceEmbedding);                     // diffusers' sum order
        return timeGuidance.add(textEmbedding);
    }

    private static Tensor Embed(ProjectionMlp embedder, Tensor values, ScalarType dtype)
    {
        using Tensor sinusoid = SinusoidalEmbedding.Timesteps(values, TimestepChannels);      // float32, [cos, sin]
        using Tensor features = sinusoid.to_type(dtype);
        return embedder.forward(features);
    }
}
