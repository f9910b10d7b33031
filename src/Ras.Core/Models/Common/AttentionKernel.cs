using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>The one attention kernel every family calls: softmax(q·kᵀ/√d)·v, no mask, no dropout.</summary>
internal static class AttentionKernel
{
    /// <summary><c>[B, H, Sq, Dh] × [B, H, Sk, Dh] → [B, H, Sq, Dh]</c>, fused (flash) kernel where available.</summary>
    public static Tensor Attend(Tensor query, Tensor key, Tensor value) =>
        nn.functional.scaled_dot_product_attention(query, key, value);
}
