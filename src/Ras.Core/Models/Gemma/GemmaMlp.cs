using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Gemma;

/// <summary><c>down_proj(act(gate_proj(h)) * up_proj(h))</c>, no biases. Mirrors transformers <c>GemmaMLP</c>.</summary>
internal sealed class GemmaMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;
    private readonly GemmaActivation activation;

    public GemmaMlp(GemmaConfig config)
        : base(nameof(GemmaMlp))
    {
        gate_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false, device: ModuleConstruction.Device);
        up_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false, device: ModuleConstruction.Device);
        down_proj = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: false, device: ModuleConstruction.Device);
        activation = config.HiddenActivation;
        RegisterComponents();
    }

    public override Tensor forward(Tensor h)
    {
        using Tensor gateInput = gate_proj.forward(h);
        using Tensor gate = nn.functional.gelu(gateInput, activation == GemmaActivation.GeluTanh ? GELU.Approximate.tanh : GELU.Approximate.none);
        using Tensor linear = up_proj.forward(h);
        using Tensor product = gate.mul(linear);
        return down_proj.forward(product);
    }
}
