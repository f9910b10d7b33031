namespace Ras.Models.Flux;

/// <summary>
/// Exact multiply-add FLOPs (2 per MAC) of one FLUX.1 transformer forward as our code runs it, with the conventions of
/// <see cref="SD3.SD3FlopCount"/>: every linear layer counts <c>2·in·out</c> per row it is applied to, attention counts
/// its two matmuls (QKᵀ and AV) as <c>2·2·Sq·Sk·D</c> (D = heads × head dim), and element-wise work (norms, RoPE,
/// activations, softmax, the sinusoids and the RoPE table) is left out. The per-sample conditioning layers
/// (embedders, every adaLN <c>linear</c>) run once per sample. With RAS, <c>x_embedder</c> still runs on all N image
/// tokens (the gather follows it), every other image-row layer on the n computed tokens, the L text rows are always
/// computed, and attention keys cover all N + L rows.
/// </summary>
public static class FluxFlopCount
{
    /// <summary>FLOPs of one forward of <paramref name="config"/> computing <paramref name="computedTokens"/> of <paramref name="imageTokens"/>.</summary>
    /// <param name="config">Architecture.</param>
    /// <param name="batch">Model batch (2 for one image with true CFG).</param>
    /// <param name="imageTokens">N, packed image tokens per sample.</param>
    /// <param name="computedTokens">n, image tokens computed per sample (N when dense).</param>
    /// <param name="textTokens">L, text tokens per sample.</param>
    public static double Forward(FluxTransformerConfig config, long batch, long imageTokens, long computedTokens, long textTokens)
    {
        ArgumentNullException.ThrowIfNull(config);
        double d = config.InnerDim;
        double hidden = config.MlpHiddenDim;
        double n = computedTokens;
        double big = imageTokens;
        double t = textTokens;
        double keys = big + t;
        double embedder = 2 * ((256 * d) + (d * d));                                // sinusoid → D → D

        double total = 2 * big * config.InChannels * d                              // x_embedder (all tokens)
            + 2 * t * config.JointAttentionDim * d                                  // context_embedder
            + embedder                                                              // timestep_embedder
            + (config.GuidanceEmbeds ? embedder : 0)                                // guidance_embedder
            + 2 * ((config.PooledProjectionDim * d) + (d * d))                      // text_embedder
            + 2 * d * 2 * d                                                         // norm_out.linear
            + 2 * n * d * config.PatchSize * config.PatchSize * config.OutChannels; // proj_out

        double doubleBlock = 2 * d * 6 * d * 2                                      // norm1.linear, norm1_context.linear
            + 2 * n * d * d * 3                                                     // to_q, to_k, to_v
            + 2 * t * d * d * 3                                                     // add_q/k/v_proj
            + 4 * (t + n) * keys * d                                                // QKᵀ and AV
            + 2 * n * d * d                                                         // to_out.0
            + 2 * t * d * d                                                         // to_add_out
            + 2 * n * d * hidden * 2                                                // ff (D → 4D → D)
            + 2 * t * d * hidden * 2;                                               // ff_context

        double rows = t + n;
        double singleBlock = 2 * d * 3 * d                                          // norm.linear
            + 2 * rows * d * d * 3                                                  // to_q, to_k, to_v
            + 2 * rows * d * hidden                                                 // proj_mlp
            + 4 * rows * keys * d                                                   // QKᵀ and AV
            + 2 * rows * (d + hidden) * d;                                          // proj_out (5D → D)

        total += (config.NumLayers * doubleBlock) + (config.NumSingleLayers * singleBlock);
        return total * batch;
    }
}
