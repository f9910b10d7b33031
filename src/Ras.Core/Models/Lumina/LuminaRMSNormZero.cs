using Ras.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Lumina;

/// <summary>The normalised block input and the remaining modulation parameters of a Lumina block.</summary>
internal readonly record struct LuminaModulation(Tensor Normed, Tensor GateMsa, Tensor ScaleMlp, Tensor GateMlp) : IDisposable
{
    public void Dispose()
    {
        Normed.Dispose();
        GateMsa.Dispose();
        ScaleMlp.Dispose();
        GateMlp.Dispose();
    }
}

/// <summary>
/// Shift-free adaptive RMS norm: <c>linear(SiLU(temb))</c> → scale_msa, gate_msa, scale_mlp, gate_mlp (in that order);
/// <c>RMS(x)·(1 + scale_msa)</c>. Mirrors diffusers <c>LuminaRMSNormZero</c> (models/normalization.py).
/// </summary>
internal sealed class LuminaRMSNormZero : nn.Module
{
    private readonly Linear linear;
    private readonly RmsNorm norm;

    public LuminaRMSNormZero(int dim, int conditioningDim, double eps)
        : base(nameof(LuminaRMSNormZero))
    {
        linear = nn.Linear(conditioningDim, 4L * dim, device: ModuleConstruction.Device);
        norm = new RmsNorm(dim, eps);
        RegisterComponents();
    }

    public LuminaModulation Forward(Tensor x, Tensor temb)
    {
        using Tensor activated = nn.functional.silu(temb);
        using Tensor parameters = linear.forward(activated);
        Tensor[] chunks = parameters.chunk(4, 1);
        using Tensor scaleMsa = chunks[0];
        using Tensor normed = norm.forward(x);
        return new LuminaModulation(Modulation.Scale(normed, scaleMsa), chunks[1], chunks[2], chunks[3]);
    }
}
