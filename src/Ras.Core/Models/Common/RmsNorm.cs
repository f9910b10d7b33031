using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>
/// <c>x·rsqrt(mean(x²) + eps)·weight</c> over the last dim, statistics in float32.
/// Mirrors diffusers <c>RMSNorm</c> (models/normalization.py) with <c>elementwise_affine=True</c>.
/// </summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public RmsNorm(long dim, double eps = 1e-6)
        : base(nameof(RmsNorm))
    {
        weight = nn.Parameter(ones(dim, device: ModuleConstruction.Device));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        // Statistics in float32 even for half inputs, as diffusers does.
        using Tensor x = input.to_type(ScalarType.Float32);
        using Tensor square = x.square();
        using Tensor meanSquare = square.mean([-1], keepdim: true);
        using Tensor shifted = meanSquare.add(eps);
        using Tensor inverseRms = shifted.rsqrt();
        using Tensor normed32 = x.mul(inverseRms);
        using Tensor normed = normed32.to_type(input.dtype);
        return normed.mul(weight);
    }
}
