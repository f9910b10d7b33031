using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Gemma;

/// <summary>
/// Gemma's RMS norm: <c>x·rsqrt(mean(x²) + eps)·(1 + weight)</c>, the weight stored as an offset from 1, all in
/// float32 and cast back. Mirrors transformers <c>GemmaRMSNorm</c> (models/gemma/modeling_gemma.py).
/// </summary>
internal sealed class GemmaRmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public GemmaRmsNorm(long dim, double eps)
        : base(nameof(GemmaRmsNorm))
    {
        weight = nn.Parameter(zeros(dim, device: ModuleConstruction.Device));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using Tensor x = input.to_type(ScalarType.Float32);
        using Tensor meanSquare = x.square().mean([-1], keepdim: true);
        using Tensor inverseRms = meanSquare.add(eps).rsqrt();
        using Tensor normed = x.mul(inverseRms);
        using Tensor scale = weight.to_type(ScalarType.Float32).add(1.0);
        using Tensor scaled = normed.mul(scale);
        return scaled.to_type(input.dtype);
    }
}
