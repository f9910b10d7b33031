using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>
/// Conv patchify plus a centre-cropped position table. Mirrors diffusers <c>PatchEmbed</c>
/// (models/embeddings.py) with <c>pos_embed_max_size</c>: the <c>[1, M·M, D]</c> table is a persistent
/// buffer, so a checkpoint's stored values are used as they are (never regenerated).
/// </summary>
internal sealed class PatchEmbed : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d proj;
    private readonly Tensor pos_embed;
    private readonly int patchSize;
    private readonly int maxSize;

    /// <param name="patchSize">Patch edge in latent pixels.</param>
    /// <param name="inChannels">Latent channels.</param>
    /// <param name="dim">Token width.</param>
    /// <param name="maxSize">Position table edge <c>M</c> in patches.</param>
    /// <param name="baseSize">diffusers' <c>base_size</c> (sample_size / patch_size) for the initial sin-cos table.</param>
    public PatchEmbed(int patchSize, int inChannels, int dim, int maxSize, double baseSize)
        : base(nameof(PatchEmbed))
    {
        this.patchSize = patchSize;
        this.maxSize = maxSize;
        proj = nn.Conv2d(inChannels, dim, (patchSize, patchSize), stride: (patchSize, patchSize), device: ModuleConstruction.Device);
        using Tensor table = SinusoidalEmbedding.PositionTable2D(dim, maxSize, baseSize);
        pos_embed = table.unsqueeze(0).contiguous();
        RegisterComponents();
    }

    /// <summary><c>[B, C, H, W] → [B, (H/p)·(W/p), D]</c>, tokens in row-major grid order.</summary>
    public override Tensor forward(Tensor latents)
    {
        long rows = latents.shape[2] / patchSize;
        long cols = latents.shape[3] / patchSize;
        if (rows > maxSize || cols > maxSize)
        {
            throw new ArgumentException(
                $"latent grid {rows}×{cols} patches exceeds the model's position table ({maxSize}×{maxSize}, pos_embed_max_size)");
        }

        using Tensor patches = proj.forward(latents);                   // [B, D, rows, cols]
        using Tensor tokens = patches.flatten(2).transpose(1, 2);       // [B, N, D]
        using Tensor position = CroppedTable(rows, cols);               // [1, N, D]
        return tokens.add(position);
    }

    private Tensor CroppedTable(long rows, long cols)
    {
        long top = (maxSize - rows) / 2;
        long left = (maxSize - cols) / 2;
        using Tensor grid = pos_embed.view(1, maxSize, maxSize, -1);    // [1, M, M, D]
        using Tensor cropped = grid.narrow(1, top, rows).narrow(2, left, cols);
        return cropped.reshape(1, rows * cols, -1);
    }
}
