namespace Ras.IO.Checkpoints;

/// <summary>How often a loaded model's blocks read their weights: decides where weights kept in their stored form live.</summary>
public enum BlockReads
{
    /// <summary>
    /// Many times per load (a denoiser, every step): quantized / fp8 blocks are read from the mapped file and its pages
    /// stay mapped; half-precision blocks are copied into memory once.
    /// </summary>
    Repeated,

    /// <summary>
    /// About once per load (a text encoder, loaded for one prompt and freed): every block kept in its stored form —
    /// half precision included — is read from the mapped file just before its forward and the file's pages are released
    /// right after, so the encoder never holds more than one block of its weights (the file stays in the page cache, which
    /// the kernel can reclaim; a second forward reads it again).
    /// </summary>
    Once,
}
