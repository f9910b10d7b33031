namespace Ras.Models.Common;

/// <summary>Per-head normalisation of attention queries and keys (diffusers' <c>qk_norm</c>).</summary>
public enum QkNorm
{
    /// <summary>No normalisation (<c>qk_norm: null</c>), e.g. SD3-medium.</summary>
    None,

    /// <summary>RMS norm over each head's features (<c>qk_norm: "rms_norm"</c>), e.g. SD3.5.</summary>
    RmsNorm,
}
