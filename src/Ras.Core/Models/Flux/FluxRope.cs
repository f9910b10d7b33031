using static TorchSharp.torch;

namespace Ras.Models.Flux;

/// <summary>
/// The rotations of the rows a forward computes, in query order (text first, then the computed image tokens):
/// <c>Cos</c>/<c>Sin</c> <c>[B or 1, S, head_dim]</c> float32. Owns its tensors.
/// </summary>
internal sealed class FluxRope(Tensor cos, Tensor sin) : IDisposable
{
    public Tensor Cos { get; } = cos;

    public Tensor Sin { get; } = sin;

    /// <summary>
    /// Rotates <c>x [B, S, H, d]</c>: adjacent feature pairs (x₀, x₁) → <c>x·cos + [−x₁, x₀]·sin</c>, computed in float32
    /// and cast back, as diffusers' <c>apply_rotary_emb(use_real=True, use_real_unbind_dim=-1)</c> does.
    /// </summary>
    public Tensor Apply(Tensor x)
    {
        long[] shape = x.shape;
        using Tensor x32 = x.to_type(ScalarType.Float32);
        using Tensor pairs = x32.reshape(shape[0], shape[1], shape[2], shape[3] / 2, 2);   // [B, S, H, d/2, 2]
        using Tensor re = pairs.select(-1, 0);
        using Tensor im = pairs.select(-1, 1);
        using Tensor minusIm = im.neg();
        using Tensor stacked = stack([minusIm, re], -1);                                     // [B, S, H, d/2, 2]
        using Tensor rotated = stacked.reshape(shape);                                       // [−x₁, x₀, −x₃, x₂, …]
        using Tensor cos = Cos.unsqueeze(2);                                                 // [B|1, S, 1, d]
        using Tensor sin = Sin.unsqueeze(2);
        using Tensor xCos = x32.mul(cos);
        using Tensor rotatedSin = rotated.mul(sin);
        using Tensor sum = xCos.add(rotatedSin);
        return sum.to_type(x.dtype);
    }

    public void Dispose()
    {
        Cos.Dispose();
        Sin.Dispose();
    }
}
