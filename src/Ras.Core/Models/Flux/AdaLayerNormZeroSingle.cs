using Ras.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Flux;

/// <summary>
/// adaLN-Zero of a single-stream block: <c>linear(SiLU(emb))</c> → shift, scale, gate (in that order);
/// <c>LN(x)·(1 + scale) + shift</c>. Mirrors diffusers <c>AdaLayerNormZeroSingle</c> (models/normalization.py),
/// layer-norm type, eps 1e-6.
/// </summary>
internal sealed class AdaLayerNormZeroSingle : nn.Module
{
    private readonly Linear linear;

    public AdaLayerNormZeroSingle(long dim)
        : base(nameof(AdaLayerNormZeroSingle))
    {
        linear = nn.Linear(dim, 3 * dim, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    /// <summary><c>x [B, S, D]</c>, <c>emb [B, D]</c> → the modulated <c>x</c> and the gate <c>[B, D]</c>.</summary>
    public (Tensor Modulated, Tensor Gate) Forward(Tensor x, Tensor emb)
    {
        using Tensor activated = nn.functional.silu(emb);
        using Tensor parameters = linear.forward(activated);
        Tensor[] chunks = parameters.chunk(3, 1);                  // shift, scale, gate
        using Tensor shift = chunks[0];
        using Tensor scale = chunks[1];
        using Tensor normed = Modulation.LayerNorm(x);
        return (Modulation.Modulate(normed, shift, scale), chunks[2]);
    }
}
