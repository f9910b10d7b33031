using static TorchSharp.torch;

namespace Ras.Models.Flux;

/// <summary>
/// FLUX.1's packed latent layout and position ids. The transformer never sees <c>[B, C, H, W]</c> latents: each 2×2
/// latent patch becomes one token of 4C features, channel-major inside the token
/// (<c>packed[b, r·(W/2) + q, c·4 + dy·2 + dx] = latents[b, c, 2r + dy, 2q + dx]</c>). Mirrors diffusers
/// <c>FluxPipeline._pack_latents</c>, <c>_unpack_latents</c>, <c>_prepare_latent_image_ids</c> and the all-zero text ids
/// of <c>encode_prompt</c> (pipelines/flux/pipeline_flux.py).
/// </summary>
public static class FluxLatents
{
    /// <summary>Latent pixels per packed token edge.</summary>
    public const int PatchEdge = 2;

    /// <summary><c>[B, C, H, W] → [B, (H/2)·(W/2), 4C]</c>, tokens row-major over the packed grid.</summary>
    /// <exception cref="ArgumentException">Not a 4-D tensor, or an odd height or width.</exception>
    public static Tensor Pack(Tensor latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        if (latents.dim() != 4 || latents.shape[2] % PatchEdge != 0 || latents.shape[3] % PatchEdge != 0)
        {
            throw new ArgumentException($"latents must be [B, C, H, W] with even H and W, found [{string.Join(", ", latents.shape)}]", nameof(latents));
        }

        long batch = latents.shape[0];
        long channels = latents.shape[1];
        long rows = latents.shape[2] / PatchEdge;
        long cols = latents.shape[3] / PatchEdge;
        using Tensor split = latents.reshape(batch, channels, rows, PatchEdge, cols, PatchEdge);   // [B, C, h, dy, w, dx]
        using Tensor ordered = split.permute(0, 2, 4, 1, 3, 5);                                  // [B, h, w, C, dy, dx]
        return ordered.reshape(batch, rows * cols, channels * PatchEdge * PatchEdge);
    }

    /// <summary>The exact inverse of <see cref="Pack"/>: <c>[B, (H/2)·(W/2), 4C] → [B, C, H, W]</c> for latent size H×W.</summary>
    /// <exception cref="ArgumentException">The token count or width does not fit <paramref name="height"/>×<paramref name="width"/>.</exception>
    public static Tensor Unpack(Tensor packed, long height, long width)
    {
        ArgumentNullException.ThrowIfNull(packed);
        long rows = height / PatchEdge;
        long cols = width / PatchEdge;
        if (packed.dim() != 3 || height % PatchEdge != 0 || width % PatchEdge != 0 || packed.shape[1] != rows * cols
            || packed.shape[2] % (PatchEdge * PatchEdge) != 0)
        {
            throw new ArgumentException($"packed latents [{string.Join(", ", packed.shape)}] do not fit a {height}×{width} latent", nameof(packed));
        }

        long batch = packed.shape[0];
        long channels = packed.shape[2] / (PatchEdge * PatchEdge);
        using Tensor grid = packed.reshape(batch, rows, cols, channels, PatchEdge, PatchEdge);   // [B, h, w, C, dy, dx]
        using Tensor ordered = grid.permute(0, 3, 1, 4, 2, 5);                                   // [B, C, h, dy, w, dx]
        return ordered.reshape(batch, channels, height, width);
    }

    /// <summary>Position ids of a <paramref name="rows"/>×<paramref name="cols"/> packed grid: <c>[rows·cols, 3]</c> float32 <c>(0, row, col)</c>, row-major.</summary>
    public static Tensor ImageIds(long rows, long cols, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        using Tensor index = zeros([rows, cols], ScalarType.Float32, device);
        using Tensor rowRange = arange(rows, ScalarType.Float32, device);
        using Tensor colRange = arange(cols, ScalarType.Float32, device);
        using Tensor rowColumn = rowRange.view(rows, 1);
        using Tensor colRow = colRange.view(1, cols);
        using Tensor row = rowColumn.expand(rows, cols);
        using Tensor col = colRow.expand(rows, cols);
        using Tensor ids = stack([index, row, col], -1);                                         // [rows, cols, 3]
        return ids.reshape(rows * cols, 3);
    }

    /// <summary>Position ids of <paramref name="length"/> text tokens: <c>[length, 3]</c> zeros (RoPE is the identity on text).</summary>
    public static Tensor TextIds(long length, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return zeros([length, 3], ScalarType.Float32, device);
    }
}
