using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>
/// <c>net.2(GELU_tanh(net.0.proj(x)))</c>. Mirrors diffusers <c>FeedForward</c> with
/// <c>activation_fn="gelu-approximate"</c> (models/attention.py): <c>net</c> = [GELU(proj), Dropout, Linear],
/// so the checkpoint keys are <c>net.0.proj.*</c> and <c>net.2.*</c>.
/// </summary>
internal sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<nn.Module> net;

    public FeedForward(long dim, long innerDim)
        : base(nameof(FeedForward))
    {
        net = nn.ModuleList<nn.Module>(new GeluProjection(dim, innerDim), nn.Identity(), nn.Linear(innerDim, dim, device: ModuleConstruction.Device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using Tensor hidden = ((GeluProjection)net[0]).forward(input);
        return ((Linear)net[2]).forward(hidden);
    }

    /// <summary>Mirrors diffusers <c>GELU(dim_in, dim_out, approximate="tanh")</c>: a projection, then tanh-GELU.</summary>
    private sealed class GeluProjection : nn.Module<Tensor, Tensor>
    {
        private readonly Linear proj;

        public GeluProjection(long dimIn, long dimOut)
            : base(nameof(GeluProjection))
        {
            proj = nn.Linear(dimIn, dimOut, device: ModuleConstruction.Device);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using Tensor projected = proj.forward(input);
            return nn.functional.gelu(projected, GELU.Approximate.tanh);
        }
    }
}
