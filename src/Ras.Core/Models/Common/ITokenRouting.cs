using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>
/// Identifies one attention layer's key/value cache slot within a model (block index and which of
/// the block's attentions), so a router can keep per-layer state without the model knowing about it.
/// </summary>
/// <param name="Block">Transformer block index.</param>
/// <param name="Attention">0 for the block's main attention, 1 for a second one (e.g. MMDiT-X <c>attn2</c>).</param>
public readonly record struct AttentionSlot(int Block, int Attention);

/// <summary>
/// Sparse-evaluation hook of a diffusion transformer's forward pass (null = dense). A model calls it
/// at exactly two seams: it gathers the image tokens to compute after patch + position embedding and
/// scatters the results back after the output projection; and, inside each attention between the
/// projections and the attention kernel, it merges the freshly computed image keys/values into a
/// per-layer cache so computed tokens attend to every image token. Text tokens are always computed.
/// </summary>
public interface ITokenRouting
{
    /// <summary>Selects the image tokens to compute. <c>[B, N, D] → [B, n, D]</c>.</summary>
    Tensor GatherImageTokens(Tensor tokens);

    /// <summary>Places computed tokens back on the full grid (zeros elsewhere). <c>[B, n, F] → [B, N, F]</c>.</summary>
    Tensor ScatterImageTokens(Tensor tokens, long imageTokenCount);

    /// <summary>
    /// Merges the computed image tokens' keys and values (after any per-head key norm, before the head
    /// split) into <paramref name="slot"/>'s cache and returns keys/values for all N image tokens, followed
    /// by the text tokens' when given (text is always computed; it is only placed after the image rows).
    /// <c>[B, n, D]</c> (+ <c>[B, L, D]</c>) → <c>[B, N (+ L), D]</c>.
    /// </summary>
    (Tensor Keys, Tensor Values) MergeKeyValues(AttentionSlot slot, Tensor imageKeys, Tensor imageValues, Tensor? textKeys, Tensor? textValues);
}
