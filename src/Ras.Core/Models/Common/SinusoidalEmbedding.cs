using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>Sinusoidal timestep features and 2-D sin-cos position tables, as diffusers computes them.</summary>
internal static class SinusoidalEmbedding
{
    /// <summary>
    /// Mirrors diffusers <c>get_timestep_embedding</c> with <c>flip_sin_to_cos=True</c>: features
    /// <c>[cos(t·f), sin(t·f)]</c>, <c>f_k = exp(−ln(max_period)·k/(half − shift))</c>. Always float32,
    /// as diffusers computes it even for a half or double model. <c>[B] → [B, channels]</c>.
    /// </summary>
    public static Tensor Timesteps(Tensor timesteps, int channels, double downscaleFreqShift = 0, double maxPeriod = 10000)
    {
        int half = channels / 2;
        using Tensor k = arange(half, dtype: ScalarType.Float32, device: timesteps.device);
        using Tensor scaled = k.mul((float)-Math.Log(maxPeriod));
        using Tensor exponent = scaled.div((float)(half - downscaleFreqShift));
        using Tensor frequencies = exponent.exp();
        using Tensor t32 = timesteps.to_type(ScalarType.Float32);
        using Tensor t = t32.unsqueeze(1);
        using Tensor row = frequencies.unsqueeze(0);
        using Tensor angles = t.mul(row);                       // [B, half]
        using Tensor cos = angles.cos();
        using Tensor sin = angles.sin();
        Tensor embedding = cat([cos, sin], 1);
        if (channels % 2 == 1)
        {
            using Tensor unpadded = embedding;
            embedding = nn.functional.pad(unpadded, [0, 1]);
        }

        return embedding;
    }

    /// <summary>
    /// Mirrors diffusers <c>get_2d_sincos_pos_embed(embed_dim, grid_size, base_size, interpolation_scale)</c>:
    /// a <c>[grid·grid, dim]</c> float32 table; the first half of each row encodes the column, the second the row.
    /// </summary>
    public static Tensor PositionTable2D(int dim, int gridSize, double baseSize, double interpolationScale = 1.0)
    {
        if (dim % 4 != 0)
        {
            throw new ArgumentException($"embedding width {dim} must be divisible by 4", nameof(dim));
        }

        var table = new float[gridSize * gridSize * dim];
        int quarter = dim / 4;
        var omega = new double[quarter];
        for (int i = 0; i < quarter; i++)
        {
            omega[i] = 1.0 / Math.Pow(10000, i / (double)quarter);
        }

        for (int row = 0; row < gridSize; row++)
        {
            for (int col = 0; col < gridSize; col++)
            {
                // diffusers meshes (w, h): grid[0] holds the column coordinate and fills the first half.
                double x = col / (gridSize / baseSize) / interpolationScale;
                double y = row / (gridSize / baseSize) / interpolationScale;
                int at = ((row * gridSize) + col) * dim;
                for (int i = 0; i < quarter; i++)
                {
                    table[at + i] = (float)Math.Sin(x * omega[i]);
                    table[at + quarter + i] = (float)Math.Cos(x * omega[i]);
                    table[at + (2 * quarter) + i] = (float)Math.Sin(y * omega[i]);
                    table[at + (3 * quarter) + i] = (float)Math.Cos(y * omega[i]);
                }
            }
        }

        return tensor(table, [gridSize * gridSize, dim]);
    }
}
