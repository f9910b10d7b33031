using static TorchSharp.torch;

namespace Ras.Models.Lumina;

/// <summary>
/// Per-token rotations of Lumina's 2-D RoPE: <c>Cos</c>/<c>Sin</c> <c>[B or 1, S, d/2]</c> float32, pair j of a token
/// rotated by its row angle (j even) or column angle (j odd). Owns its tensors.
/// </summary>
internal sealed class RotaryRows(Tensor cos, Tensor sin) : IDisposable
{
    public Tensor Cos { get; } = cos;

    public Tensor Sin { get; } = sin;

    /// <summary>
    /// Rotates <c>x [B, S, H, d]</c>: pairs (x[2j], x[2j+1]) as complex numbers times <c>cos + i·sin</c>. Computed in
    /// float32 and cast back, as diffusers' <c>apply_rotary_emb(use_real=False)</c> does (complex64).
    /// </summary>
    public Tensor Apply(Tensor x)
    {
        long[] shape = x.shape;
        using Tensor x32 = x.to_type(ScalarType.Float32);
        using Tensor pairs = x32.reshape(shape[0], shape[1], shape[2], shape[3] / 2, 2);   // [B, S, H, d/2, 2]
        using Tensor re = pairs.select(-1, 0);
        using Tensor im = pairs.select(-1, 1);
        using Tensor cos = Cos.unsqueeze(2);                                                 // [B|1, S, 1, d/2]
        using Tensor sin = Sin.unsqueeze(2);
        using Tensor reCos = re.mul(cos);
        using Tensor imSin = im.mul(sin);
        using Tensor reSin = re.mul(sin);
        using Tensor imCos = im.mul(cos);
        using Tensor outRe = reCos.sub(imSin);
        using Tensor outIm = reSin.add(imCos);
        using Tensor rotated = stack([outRe, outIm], -1);                                    // [B, S, H, d/2, 2]
        using Tensor flat = rotated.reshape(shape);
        return flat.to_type(x.dtype);
    }

    public void Dispose()
    {
        Cos.Dispose();
        Sin.Dispose();
    }
}

/// <summary>
/// Lumina's 2-D rotary table. Mirrors diffusers <c>get_2d_rotary_pos_embed_lumina</c> + <c>get_1d_rotary_pos_embed</c>
/// (models/embeddings.py), restricted to the token grid in use (diffusers builds 384×384 positions and crops the
/// top-left corner: the same rows).
/// </summary>
internal static class LuminaRotaryEmbedding
{
    private const double Theta = 10000.0;

    /// <summary>
    /// <c>(cos, sin)</c> <c>[rows·cols, d/2]</c> for tokens in row-major order. Frequencies
    /// <c>f_k = 1 / (θ·ntk)^(2k/(d/2)) / linear</c> (k &lt; d/4), angles <c>r·f</c> and <c>c·f</c>, all float32 as diffusers.
    /// </summary>
    public static (Tensor Cos, Tensor Sin) Table(int headDim, long rows, long cols, LuminaRopeScaling scaling, Device? device = null)
    {
        int half = headDim / 2;                                                               // complex pairs per head
        using Tensor steps = arange(0, half, 2, ScalarType.Float32, device);                // 2k, k < d/4
        using Tensor exponent = steps.div((float)half);
        using Tensor theta = full(1, (float)(Theta * scaling.NtkFactor), ScalarType.Float32, device);
        using Tensor powers = theta.pow(exponent);
        using Tensor inverse = powers.reciprocal();
        using Tensor frequencies = inverse.div((float)scaling.LinearFactor);                 // [d/4]
        using Tensor rowAngles = Angles(rows, frequencies);                                 // [rows, d/4]
        using Tensor colAngles = Angles(cols, frequencies);                                 // [cols, d/4]
        long quarter = frequencies.shape[0];
        using Tensor rowColumn = rowAngles.view(rows, 1, quarter);
        using Tensor colRow = colAngles.view(1, cols, quarter);
        using Tensor rowGrid = rowColumn.expand(rows, cols, quarter);
        using Tensor colGrid = colRow.expand(rows, cols, quarter);
        using Tensor interleaved = stack([rowGrid, colGrid], -1);                           // [rows, cols, d/4, 2]
        using Tensor angles = interleaved.reshape(rows * cols, half);                       // [N, d/2]: row, col, row, …
        return (angles.cos(), angles.sin());
    }

    private static Tensor Angles(long positions, Tensor frequencies)
    {
        using Tensor position = arange(positions, ScalarType.Float32, frequencies.device);
        return position.outer(frequencies);
    }
}
