using Ras.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.SD3;

/// <summary>adaLN-Zero output plus the second attention's modulated input and gate (MMDiT-X).</summary>
internal readonly record struct AdaLnZeroXOutput(AdaLnZeroOutput Main, Tensor Modulated2, Tensor GateMsa2);

/// <summary>
/// adaLN-Zero with a third (shift, scale, gate) triple for MMDiT-X's image-only <c>attn2</c>: nine
/// chunks in the order shift/scale/gate msa, shift/scale/gate mlp, shift/scale/gate msa2. Mirrors
/// diffusers <c>SD35AdaLayerNormZeroX</c> (models/normalization.py), eps 1e-6.
/// </summary>
internal sealed class SD35AdaLayerNormZeroX : nn.Module
{
    private readonly Linear linear;

    public SD35AdaLayerNormZeroX(long dim)
        : base(nameof(SD35AdaLayerNormZeroX))
    {
        linear = nn.Linear(dim, 9 * dim, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    public AdaLnZeroXOutput Forward(Tensor x, Tensor emb)
    {
        using Tensor activated = nn.functional.silu(emb);
        using Tensor parameters = linear.forward(activated);
        Tensor[] c = parameters.chunk(9, 1);
        using Tensor normed = Modulation.LayerNorm(x);
        Tensor modulated = Modulation.Modulate(normed, c[0], c[1]);
        Tensor modulated2 = Modulation.Modulate(normed, c[6], c[7]);
        return new AdaLnZeroXOutput(new AdaLnZeroOutput(modulated, c[2], c[3], c[4], c[5]), modulated2, c[8]);
    }
}
