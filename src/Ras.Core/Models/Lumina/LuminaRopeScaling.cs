namespace Ras.Models.Lumina;

/// <summary>
/// Context-extrapolation factors of Lumina's 2-D RoPE (diffusers' <c>get_2d_rotary_pos_embed_lumina</c> arguments):
/// frequencies are <c>1 / (10000·ntk)^(2k/(d/2)) / linear</c>. The pipeline picks them per step.
/// </summary>
/// <param name="LinearFactor">Divides every frequency (position interpolation); 1 = off.</param>
/// <param name="NtkFactor">Multiplies the RoPE base θ (NTK-aware scaling); 1 = off.</param>
public readonly record struct LuminaRopeScaling(double LinearFactor, double NtkFactor)
{
    /// <summary>No scaling: the table the model was trained with.</summary>
    public static LuminaRopeScaling None { get; } = new(1.0, 1.0);
}
