using static TorchSharp.torch;

namespace Ras.Models.Gemma;

/// <summary>
/// Gemma's rotary position embedding in the rotate-half layout: angle(p, j) = p·θ^(−2(j mod d/2)/d) over the full head
/// width, <c>x·cos + rotate_half(x)·sin</c> with <c>rotate_half(x) = [−x₂, x₁]</c>. Tables are float32, as
/// transformers' <c>GemmaRotaryEmbedding</c> computes them; positions are <c>0..L−1</c> for every row, padding or not.
/// </summary>
internal static class GemmaRotaryEmbedding
{
    /// <summary>(cos, sin), each <c>[L, headDim]</c> float32, for positions <c>0..length−1</c>.</summary>
    public static (Tensor Cos, Tensor Sin) Tables(int headDim, double theta, long length, Device device)
    {
        using var scope = NewDisposeScope();
        Tensor exponents = arange(0, headDim, 2, ScalarType.Int64, device).to_type(ScalarType.Float32).div(headDim);
        Tensor inverseFrequency = pow(tensor((float)theta, device: device), exponents).reciprocal();   // [d/2]
        Tensor positions = arange(length, ScalarType.Int64, device).to_type(ScalarType.Float32);
        Tensor angles = positions.unsqueeze(1).mul(inverseFrequency.unsqueeze(0));                         // [L, d/2]
        Tensor full = cat([angles, angles], 1);                                                              // [L, d]
        return (full.cos().MoveToOuterDisposeScope(), full.sin().MoveToOuterDisposeScope());
    }

    /// <summary>Rotates <c>x [B, heads, L, d]</c> by the tables (broadcast over batch and heads).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        using Tensor first = x.narrow(-1, 0, half);
        using Tensor second = x.narrow(-1, half, half);
        using Tensor negated = second.neg();
        using Tensor rotated = cat([negated, first], -1);
        using Tensor cosPart = x.mul(cos);
        using Tensor sinPart = rotated.mul(sin);
        return cosPart.add(sinPart);
    }
}
