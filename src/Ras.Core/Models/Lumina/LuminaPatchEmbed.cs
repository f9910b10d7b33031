using Ras.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Lumina;

/// <summary>
/// Linear patch embedding with channel-major patch vectors; no position table (positions enter through RoPE).
/// Mirrors diffusers <c>LuminaPatchEmbed</c> (models/embeddings.py).
/// </summary>
internal sealed class LuminaPatchEmbed : nn.Module<Tensor, Tensor>
{
    private readonly Linear proj;
    private readonly int patchSize;

    public LuminaPatchEmbed(int patchSize, int inChannels, int dim)
        : base(nameof(LuminaPatchEmbed))
    {
        this.patchSize = patchSize;
        proj = nn.Linear((long)patchSize * patchSize * inChannels, dim, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    /// <summary><c>[B, C, H, W] → [B, (H/p)·(W/p), D]</c>, tokens row-major; patch entry <c>c·p·p + pi·p + qi</c>.</summary>
    public override Tensor forward(Tensor latents)
    {
        long batch = latents.shape[0];
        long channels = latents.shape[1];
        long rows = latents.shape[2] / patchSize;
        long cols = latents.shape[3] / patchSize;
        int p = patchSize;
        using Tensor grid = latents.view(batch, channels, rows, p, cols, p);              // [B, C, h, p, w, q]
        using Tensor ordered = grid.permute(0, 2, 4, 1, 3, 5);                            // [B, h, w, C, p, q]
        using Tensor patches = ordered.reshape(batch, rows * cols, channels * p * p);     // [B, N, C·p·p]
        return proj.forward(patches);                                                     // [B, N, D]
    }
}
