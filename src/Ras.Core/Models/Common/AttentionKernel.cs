using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>The one attention kernel every family calls: softmax(q·kᵀ/√d)·v, no dropout, optionally masked.</summary>
internal static class AttentionKernel
{
    /// <summary><c>[B, H, Sq, Dh] × [B, H, Sk, Dh] → [B, H, Sq, Dh]</c>, fused (flash) kernel where available.</summary>
    public static Tensor Attend(Tensor query, Tensor key, Tensor value) =>
        nn.functional.scaled_dot_product_attention(query, key, value);

    /// <summary>
    /// As <see cref="Attend(Tensor, Tensor, Tensor)"/> with a boolean mask broadcastable to <c>[B, H, Sq, Sk]</c>
    /// (true = the query attends to the key). Every query row must allow at least one key: a fully masked row has no
    /// defined softmax.
    /// </summary>
    public static Tensor Attend(Tensor query, Tensor key, Tensor value, Tensor allowed) =>
        nn.functional.scaled_dot_product_attention(query, key, value, allowed);
}
