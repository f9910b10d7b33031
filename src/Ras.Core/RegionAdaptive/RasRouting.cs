using Ras.Models.Common;
using static TorchSharp.torch;

namespace Ras.RegionAdaptive;

/// <summary>
/// The <see cref="ITokenRouting"/> of one RAS model call. With no index (a dense step before a RAS step)
/// every token is computed and each layer's K/V cache is refilled; otherwise only the indexed tokens are
/// computed and their fresh K/V overwrite their cache rows.
/// </summary>
/// <remarks>
/// Rows are addressed through one flat index over <c>[B·N]</c> (<c>b·N + token</c>), so every gather and
/// scatter is an <c>index_select</c>/<c>index_copy_</c> with a small 1-D index; an index expanded to
/// <c>[B, n, D]</c> would be materialised by libtorch as a full int64 tensor per call.
/// </remarks>
internal sealed class RasRouting : ITokenRouting, IDisposable
{
    private readonly KeyValueCaches caches;
    private readonly Tensor? flatIndex;   // [B·copies·n] int64: b·N + token, or null for a refill step
    private readonly long tokensPerSample;

    /// <param name="caches">The run's per-layer caches.</param>
    /// <param name="index"><c>[B·copies, n]</c> tokens to compute per sample, or null for a refill step.</param>
    /// <param name="tokensPerSample">N, image tokens per sample.</param>
    public RasRouting(KeyValueCaches caches, Tensor? index, long tokensPerSample)
    {
        this.caches = caches;
        this.tokensPerSample = tokensPerSample;
        if (index is not null)
        {
            using Tensor offsets = arange(0, index.shape[0] * tokensPerSample, tokensPerSample, ScalarType.Int64, index.device);
            using Tensor rows = index.add(offsets.unsqueeze(1));
            flatIndex = rows.view(-1);
        }
    }

    public Tensor GatherImageTokens(Tensor tokens)
    {
        if (flatIndex is null)
        {
            return tokens.alias();
        }

        long batch = tokens.shape[0];
        using Tensor flat = tokens.reshape(batch * tokensPerSample, tokens.shape[2]);
        using Tensor picked = flat.index_select(0, flatIndex);
        return picked.view(batch, -1, tokens.shape[2]);                     // [B, n, D]
    }

    public Tensor ScatterImageTokens(Tensor tokens, long imageTokenCount)
    {
        if (flatIndex is null)
        {
            return tokens.alias();
        }

        long batch = tokens.shape[0];
        long width = tokens.shape[2];
        Tensor full = zeros([batch * imageTokenCount, width], tokens.dtype, tokens.device);
        using Tensor rows = tokens.reshape(-1, width);
        full.index_copy_(0, flatIndex, rows);
        using (full)
        {
            return full.view(batch, imageTokenCount, width);                  // [B, N, F], zeros at cached tokens
        }
    }

    public (Tensor Keys, Tensor Values) MergeImageKeyValues(AttentionSlot slot, Tensor keys, Tensor values)
    {
        if (flatIndex is null)
        {
            caches.Fill(slot, keys, values);
            return (keys.alias(), values.alias());
        }

        return caches.Update(slot, flatIndex, keys, values);
    }

    public void Dispose() => flatIndex?.Dispose();
}
