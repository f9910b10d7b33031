using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Models.Flux;

/// <summary>
/// FLUX.1's multi-axis rotary table: each position axis (index, row, column) gets its own block of the head width.
/// Mirrors diffusers <c>FluxPosEmbed</c> + <c>get_1d_rotary_pos_embed(use_real=True, repeat_interleave_real=True,
/// freqs_dtype=float64)</c> (models/embeddings.py). Holds no weights.
/// </summary>
internal sealed class FluxPosEmbed : nn.Module
{
    private const double Theta = 10000.0;
    private readonly int[] axesDims;

    public FluxPosEmbed(IReadOnlyList<int> axesDims)
        : base(nameof(FluxPosEmbed))
    {
        this.axesDims = [.. axesDims];
        RegisterComponents();
    }

    /// <summary>
    /// <c>ids [S, axes]</c> → <c>(cos, sin)</c>, each <c>[S, Σ axes_dims]</c> float32. For axis a of width d:
    /// <c>ω_i = 1/θ^(2i/d)</c> (float64), angle = position (rounded to float32 first) · ω_i in float64, cos and sin each
    /// repeated twice in place (<c>[c0, c0, c1, c1, …]</c>) and rounded to float32; the axes' blocks side by side.
    /// </summary>
    public (Tensor Cos, Tensor Sin) Forward(Tensor ids)
    {
        if (ids.dim() != 2 || ids.shape[1] != axesDims.Length)
        {
            throw new ArgumentException($"position ids must be [S, {axesDims.Length}], found [{string.Join(", ", ids.shape)}]", nameof(ids));
        }

        using var scope = NewDisposeScope();
        using Tensor positions32 = ids.to_type(ScalarType.Float32);
        using Tensor positions = positions32.to_type(ScalarType.Float64);                   // [S, axes], exact
        var cosParts = new Tensor[axesDims.Length];
        var sinParts = new Tensor[axesDims.Length];
        for (int a = 0; a < axesDims.Length; a++)
        {
            int d = axesDims[a];
            Tensor steps = arange(0, d, 2, ScalarType.Float64, ids.device);                 // 2i, i < d/2
            Tensor exponent = steps.div((double)d);
            Tensor bases = full_like(exponent, Theta);
            Tensor frequencies = bases.pow(exponent).reciprocal();                          // [d/2]
            Tensor angles = positions.select(1, a).outer(frequencies);                      // [S, d/2] float64
            cosParts[a] = angles.cos().repeat_interleave(2, 1).to_type(ScalarType.Float32);  // [S, d]
            sinParts[a] = angles.sin().repeat_interleave(2, 1).to_type(ScalarType.Float32);
        }

        Tensor cos = torch.cat(cosParts, 1);                                                // [S, head_dim]
        Tensor sin = torch.cat(sinParts, 1);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }
}
