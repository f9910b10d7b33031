using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>The modulated input and the remaining adaLN-Zero parameters of a block half.</summary>
internal readonly record struct AdaLnZeroOutput(Tensor Modulated, Tensor GateMsa, Tensor ShiftMlp, Tensor ScaleMlp, Tensor GateMlp);

/// <summary>
/// adaLN-Zero: <c>linear(SiLU(emb))</c> → shift/scale/gate for attention and MLP (in that order).
/// Mirrors diffusers <c>AdaLayerNormZero</c> (models/normalization.py), layer-norm type, eps 1e-6.
/// </summary>
internal sealed class AdaLayerNormZero : nn.Module
{
    private readonly Linear linear;

    public AdaLayerNormZero(long dim)
        : base(nameof(AdaLayerNormZero))
    {
        linear = nn.Linear(dim, 6 * dim, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    public AdaLnZeroOutput Forward(Tensor x, Tensor emb)
    {
        using Tensor activated = nn.functional.silu(emb);
        using Tensor parameters = linear.forward(activated);
        Tensor[] chunks = parameters.chunk(6, 1); // shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
        using Tensor normed = Modulation.LayerNorm(x);
        Tensor modulated = Modulation.Modulate(normed, chunks[0], chunks[1]);
        return new AdaLnZeroOutput(modulated, chunks[2], chunks[3], chunks[4], chunks[5]);
    }
}
