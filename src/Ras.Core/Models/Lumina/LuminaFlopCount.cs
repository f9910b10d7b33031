namespace Ras.Models.Lumina;

/// <summary>
/// Exact multiply-add FLOPs (2 per MAC) of one <see cref="LuminaNextDiT2DModel"/> forward as our code runs it, counting
/// every linear layer and the attention matmuls (QKᵀ and AV); element-wise work (norms, RoPE, activations, softmax,
/// gates) is left out. With RAS the patch embedding still runs on all N image tokens, every block runs on the n
/// computed ones, self-attention keys cover all N (the cache), and the caption keys/values are computed every block.
/// </summary>
public static class LuminaFlopCount
{
    /// <summary>FLOPs of one forward of <paramref name="config"/> computing <paramref name="computedTokens"/> of <paramref name="imageTokens"/>.</summary>
    /// <param name="config">Architecture.</param>
    /// <param name="batch">Model batch (2 for one image with CFG).</param>
    /// <param name="imageTokens">N, image tokens per sample.</param>
    /// <param name="computedTokens">n, image tokens computed per sample (N when dense).</param>
    /// <param name="captionTokens">L, caption tokens per sample.</param>
    public static double Forward(LuminaNextDiT2DModelConfig config, long batch, long imageTokens, long computedTokens, long captionTokens)
    {
        ArgumentNullException.ThrowIfNull(config);
        double d = config.HiddenSize;
        double kv = config.KvHeads * config.HeadDim;
        double dc = config.CrossAttentionDim;
        double dt = config.ConditioningDim;
        double f = config.FeedForwardDim;
        double n = computedTokens;
        double big = imageTokens;
        double l = captionTokens;
        double pp = config.PatchSize * config.PatchSize;

        double total = 2 * big * pp * config.InChannels * d                   // patch_embedder.proj (all tokens)
            + 2 * ((256 * dt) + (dt * dt))                                     // timestep_embedder.linear_1, linear_2
            + 2 * dc * dt                                                      // caption_embedder.1 (pooled caption)
            + 2 * dt * d                                                       // norm_out.linear_1
            + 2 * n * d * pp * config.OutChannels;                             // norm_out.linear_2

        double block = 2 * dt * 4 * d                                          // norm1.linear
            + 2 * n * ((d * d) + (2 * d * kv))                                 // attn1 to_q, to_k, to_v
            + 4 * n * big * d                                                  // attn1 QKᵀ and AV over all N keys
            + 2 * n * d * d                                                    // attn2 to_q
            + 2 * l * dc * kv * 2                                              // attn2 to_k, to_v (caption)
            + 4 * n * l * d                                                    // attn2 QKᵀ and AV
            + 2 * n * d * d                                                    // attn2.to_out.0
            + 2 * n * d * f * 3;                                               // feed_forward linear_1, linear_3, linear_2
        return (total + (config.NumLayers * block)) * batch;
    }
}
