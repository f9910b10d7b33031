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
    /// Merges the computed tokens' image keys and values (after any per-head key norm, before the head
    /// split) into <paramref name="slot"/>'s cache and returns keys/values for all image tokens.
    /// <c>[B, n, D] → [B, N, D]</c>.
    /// </summary>
    (Tensor Keys, Tensor Values) MergeImageKeyValues(AttentionSlot slot, Tensor keys, Tensor values);
}
