using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.T5;

/// <summary>
/// T5's RMS norm: <c>w · x / √(mean(x²) + eps)</c>, no mean subtraction, no bias, statistics in float32.
/// Mirrors transformers <c>T5LayerNorm</c>.
/// </summary>
internal sealed class T5LayerNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public T5LayerNorm(long dim, double eps)
        : base(nameof(T5LayerNorm))
    {
        weight = nn.Parameter(ones(dim, device: ModuleConstruction.Device));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using Tensor x32 = x.to_type(ScalarType.Float32);
        using Tensor variance = x32.square().mean([-1], keepdim: true);
        using Tensor scaled = x.mul(variance.add(eps).rsqrt().to_type(x.dtype));
        return weight.mul(scaled);
    }
}
