using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>Token-grid ↔ latent-pixel rearrangements shared by the DiT families.</summary>
internal static class Patches
{
    /// <summary>
    /// <c>[B, rows·cols, p·p·C] → [B, C, rows·p, cols·p]</c>: feature <c>(pi·p + qi)·C + c</c> of token (r, k) goes to
    /// pixel (r·p + pi, k·p + qi) of channel c (diffusers' unpatchify in SD3 and Lumina).
    /// </summary>
    public static Tensor Unpatchify(Tensor tokens, long rows, long cols, int patchSize, int channels)
    {
        long batch = tokens.shape[0];
        int p = patchSize;
        using Tensor grid = tokens.reshape(batch, rows, cols, p, p, channels);         // [B, h, w, p, q, C]
        using Tensor ordered = grid.permute(0, 5, 1, 3, 2, 4);                          // [B, C, h, p, w, q]
        return ordered.reshape(batch, channels, rows * p, cols * p);
    }
}
