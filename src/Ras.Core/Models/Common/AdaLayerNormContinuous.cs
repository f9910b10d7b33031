using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>
/// <c>LN(x)·(1 + scale) + shift</c> with <c>scale, shift = linear(SiLU(cond))</c> — scale first.
/// Mirrors diffusers <c>AdaLayerNormContinuous</c> (models/normalization.py) with
/// <c>elementwise_affine=False</c>, eps 1e-6, layer norm.
/// </summary>
internal sealed class AdaLayerNormContinuous : nn.Module
{
    private readonly Linear linear;

    public AdaLayerNormContinuous(long dim, long conditioningDim)
        : base(nameof(AdaLayerNormContinuous))
    {
        linear = nn.Linear(conditioningDim, 2 * dim, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor conditioning)
    {
        using Tensor activated = nn.functional.silu(conditioning);
        using Tensor parameters = linear.forward(activated);
        Tensor[] chunks = parameters.chunk(2, 1);
        using Tensor scale = chunks[0];
        using Tensor shift = chunks[1];
        using Tensor normed = Modulation.LayerNorm(x);
        return Modulation.Modulate(normed, shift, scale);
    }
}
