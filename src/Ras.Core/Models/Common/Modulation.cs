using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>Shared adaptive-norm arithmetic (diffusers' AdaLN variants all use these two forms).</summary>
internal static class Modulation
{
    /// <summary>Layer norm over the last dim without affine weights (diffusers: <c>elementwise_affine=False</c>).</summary>
    public static Tensor LayerNorm(Tensor x, double eps = 1e-6) =>
        nn.functional.layer_norm(x, [x.shape[^1]], null, null, eps);

    /// <summary><c>x·(1 + scale) + shift</c> with per-sample <c>[B, D]</c> scale/shift broadcast over tokens.</summary>
    public static Tensor Modulate(Tensor x, Tensor shift, Tensor scale)
    {
        using Tensor perTokenScale = scale.unsqueeze(1);
        using Tensor perTokenShift = shift.unsqueeze(1);
        using Tensor onePlusScale = perTokenScale.add(1.0f);
        return torch.addcmul(perTokenShift, x, onePlusScale, 1);
    }

    /// <summary><c>x·(1 + scale)</c> with a per-sample <c>[B, D]</c> scale broadcast over tokens (shift-free adaLN, e.g. Lumina).</summary>
    public static Tensor Scale(Tensor x, Tensor scale)
    {
        using Tensor perToken = scale.unsqueeze(1);
        using Tensor onePlusScale = perToken.add(1.0f);
        return x.mul(onePlusScale);
    }

    /// <summary><c>residual + gate·update</c> with a per-sample <c>[B, D]</c> gate.</summary>
    public static Tensor GatedResidual(Tensor residual, Tensor gate, Tensor update)
    {
        using Tensor g = gate.unsqueeze(1);
        return torch.addcmul(residual, g, update, 1);
    }
}
