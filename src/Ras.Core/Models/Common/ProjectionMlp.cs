using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>
/// <c>linear_2(SiLU(linear_1(x)))</c>. Mirrors diffusers <c>TimestepEmbedding</c> (act "silu") and
/// <c>PixArtAlphaTextProjection</c> (act_fn "silu") in models/embeddings.py: same math, same keys.
/// </summary>
internal sealed class ProjectionMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear linear_1;
    private readonly Linear linear_2;

    public ProjectionMlp(long inFeatures, long hiddenFeatures, long outFeatures)
        : base(nameof(ProjectionMlp))
    {
        linear_1 = nn.Linear(inFeatures, hiddenFeatures, device: ModuleConstruction.Device);
        linear_2 = nn.Linear(hiddenFeatures, outFeatures, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using Tensor hidden = linear_1.forward(input);
        using Tensor activated = nn.functional.silu(hidden);
        return linear_2.forward(activated);
    }
}
