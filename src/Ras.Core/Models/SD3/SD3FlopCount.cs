namespace Ras.Models.SD3;

/// <summary>
/// Exact multiply-add FLOPs (2 per MAC) of one SD3 transformer forward as our code runs it, counting
/// every linear layer, the patch-embedding convolution and the attention matmuls (QKᵀ and AV);
/// element-wise work (norms, activations, softmax) is left out. With RAS, image-token layers run on
/// the n computed tokens while attention keys cover all N image tokens; the last (context-pre-only)
/// block computes no text queries.
/// </summary>
public static class SD3FlopCount
{
    /// <summary>FLOPs of one forward of <paramref name="config"/> computing <paramref name="computedTokens"/> of <paramref name="imageTokens"/>.</summary>
    /// <param name="config">Architecture.</param>
    /// <param name="batch">Model batch (2 for one image with CFG).</param>
    /// <param name="imageTokens">N, image tokens per sample.</param>
    /// <param name="computedTokens">n, image tokens computed per sample (N when dense).</param>
    /// <param name="textTokens">T, text tokens per sample.</param>
    public static double Forward(SD3TransformerConfig config, long batch, long imageTokens, long computedTokens, long textTokens)
    {
        double d = config.InnerDim;
        double n = computedTokens;
        double big = imageTokens;
        double t = textTokens;
        double pp = config.PatchSize * config.PatchSize;

        double total = 2 * big * config.InChannels * pp * d                  // patch embedding conv (all tokens)
            + 2 * t * config.JointAttentionDim * d                           // context_embedder
            + 2 * ((256 * d) + (d * d) + (config.PooledProjectionDim * d) + (d * d)) // time/text embedders
            + 2 * d * 2 * d + 2 * n * d * pp * config.OutChannels;           // norm_out.linear, proj_out

        for (int j = 0; j < config.NumLayers; j++)
        {
            bool last = j == config.NumLayers - 1;
            bool dual = config.DualAttentionLayers.Contains(j);
            double queries = n + (last ? 0 : t);
            total += 2 * d * (dual ? 9 : 6) * d;                              // norm1.linear
            total += 2 * d * (last ? 2 : 6) * d;                              // norm1_context.linear
            total += 2 * n * d * d * 3;                                       // to_q, to_k, to_v
            total += 2 * t * d * d * (last ? 2 : 3);                          // add_k/v (+ add_q) proj
            total += 4 * queries * (big + t) * d;                             // QKᵀ and AV
            total += 2 * n * d * d;                                           // to_out.0
            total += last ? 0 : 2 * t * d * d;                                // to_add_out
            if (dual)
            {
                total += (2 * n * d * d * 4) + (4 * n * big * d);             // attn2: q, k, v, out; QKᵀ, AV
            }

            total += 2 * n * d * 4 * d * 2;                                   // ff (D → 4D → D)
            total += last ? 0 : 2 * t * d * 4 * d * 2;                        // ff_context
        }

        return total * batch;
    }
}
