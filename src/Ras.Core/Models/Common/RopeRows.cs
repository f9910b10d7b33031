using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>The RAS seam for rotary tables: the rows of the image tokens a forward actually computes.</summary>
internal static class RopeRows
{
    /// <summary>
    /// <c>cos, sin [N, w]</c> (one row per image token, row-major over the grid) → the rows of the computed tokens:
    /// <c>[1, N, w]</c> broadcast over the batch when dense; with a routing, the rows it gathers alongside the tokens
    /// (each sample may compute different tokens), <c>[B, n, w]</c>. Gathering copies values, so a computed token gets
    /// exactly the rotation it has in a dense call. The inputs stay owned by the caller.
    /// </summary>
    public static (Tensor Cos, Tensor Sin) Gather(Tensor cos, Tensor sin, long batch, ITokenRouting? routing)
    {
        if (routing is null)
        {
            return (cos.unsqueeze(0), sin.unsqueeze(0));                                   // [1, N, w]
        }

        // One gather for both tables: the routing selects rows of a [B, N, ·] tensor.
        long width = cos.shape[1];
        using Tensor table = torch.cat([cos, sin], 1);                                     // [N, 2w]
        using Tensor single = table.unsqueeze(0);
        using Tensor perSample = single.expand(batch, -1, -1);                             // [B, N, 2w]
        using Tensor gathered = routing.GatherImageTokens(perSample);                     // [B, n, 2w]
        using Tensor gatheredCos = gathered.narrow(2, 0, width);
        using Tensor gatheredSin = gathered.narrow(2, width, width);
        return (gatheredCos.contiguous(), gatheredSin.contiguous());
    }
}
