using Ras.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Lumina;

/// <summary>
/// Output head: <c>linear_2(LN(x)·(1 + linear_1(SiLU(temb))))</c>, LayerNorm without affine, eps 1e-6. Mirrors
/// diffusers <c>LuminaLayerNormContinuous</c> (models/normalization.py) as <c>LuminaNextDiT2DModel.norm_out</c> uses it.
/// </summary>
internal sealed class LuminaLayerNormContinuous : nn.Module
{
    private readonly Linear linear_1;
    private readonly Linear linear_2;

    public LuminaLayerNormContinuous(int dim, int conditioningDim, long outDim)
        : base(nameof(LuminaLayerNormContinuous))
    {
        linear_1 = nn.Linear(conditioningDim, dim, device: ModuleConstruction.Device);
        linear_2 = nn.Linear(dim, outDim, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    /// <summary><c>x [B, n, D]</c>, <c>temb [B, Dt]</c> → <c>[B, n, outDim]</c>.</summary>
    public Tensor Forward(Tensor x, Tensor temb)
    {
        using Tensor activated = nn.functional.silu(temb);
        using Tensor scale = linear_1.forward(activated);
        using Tensor normed = Modulation.LayerNorm(x, 1e-6);
        using Tensor modulated = Modulation.Scale(normed, scale);
        return linear_2.forward(modulated);
    }
}
