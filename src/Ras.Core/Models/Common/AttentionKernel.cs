using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>The one attention kernel every family calls: softmax(q·kᵀ·scale [+ mask])·v, no dropout.</summary>
internal static class AttentionKernel
{
    /// <summary><c>[B, H, Sq, Dh] × [B, H, Sk, Dh] → [B, H, Sq, Dh]</c> with scale 1/√Dh, fused (flash) kernel where available.</summary>
    public static Tensor Attend(Tensor query, Tensor key, Tensor value) =>
        nn.functional.scaled_dot_product_attention(query, key, value);

    /// <summary>
    /// As <see cref="Attend(Tensor, Tensor, Tensor)"/> with a boolean mask broadcastable to <c>[B, H, Sq, Sk]</c>
    /// (true = the query attends to the key). Every query row must allow at least one key: a fully masked row has no
    /// defined softmax.
    /// </summary>
    public static Tensor Attend(Tensor query, Tensor key, Tensor value, Tensor allowed) =>
        nn.functional.scaled_dot_product_attention(query, key, value, allowed);

    /// <summary>
    /// As <see cref="Attend(Tensor, Tensor, Tensor)"/> with an explicit softmax <paramref name="scale"/> and an optional
    /// boolean <paramref name="keyMask"/> broadcastable to <c>[B, H, Sq, Sk]</c> (true = attend).
    /// </summary>
    public static Tensor Attend(Tensor query, Tensor key, Tensor value, Tensor? keyMask, double scale)
    {
        // TorchSharp 0.107's kernel has no scale argument and always applies 1/√Dh: fold the ratio into the queries.
        double ratio = scale * Math.Sqrt(query.shape[^1]);
        using Tensor scaled = ratio == 1.0 ? query.alias() : query.mul(ratio);
        return nn.functional.scaled_dot_product_attention(scaled, key, value, keyMask);
    }
}
