using Ras.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Lumina;

/// <summary>
/// SwiGLU feed-forward <c>linear_2(SiLU(linear_1(x))·linear_3(x))</c>, no biases, SiLU in float32. Mirrors diffusers
/// <c>LuminaFeedForward</c> (models/attention.py) with <c>FP32SiLU</c>.
/// </summary>
internal sealed class LuminaFeedForward : nn.Module<Tensor, Tensor>
{
    private readonly Linear linear_1;
    private readonly Linear linear_2;
    private readonly Linear linear_3;

    public LuminaFeedForward(int dim, int innerDim)
        : base(nameof(LuminaFeedForward))
    {
        linear_1 = nn.Linear(dim, innerDim, hasBias: false, device: ModuleConstruction.Device);
        linear_2 = nn.Linear(innerDim, dim, hasBias: false, device: ModuleConstruction.Device);
        linear_3 = nn.Linear(dim, innerDim, hasBias: false, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using Tensor gate = linear_1.forward(input);
        using Tensor gate32 = gate.to_type(ScalarType.Float32);
        using Tensor activated32 = nn.functional.silu(gate32);
        using Tensor activated = activated32.to_type(input.dtype);
        using Tensor up = linear_3.forward(input);
        using Tensor hidden = activated.mul(up);
        return linear_2.forward(hidden);
    }
}
