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
/// <c>[B, n, D]</c> would be materialised by libtorch as a full int64 tensor per call. The routing owns
/// these indices; dispose it when its forwards are done.
/// </remarks>
internal sealed class RasRouting : ITokenRouting, IDisposable
{
    private readonly KeyValueCaches caches;
    private readonly Tensor? index;       // [B·copies, n] tokens per sample, or null for a refill step
    private readonly Tensor? flatIndex;   // [B·copies·n] int64: b·N + token
    private readonly Dictionary<long, Tensor> cacheRows = [];   // the same rows for caches of N + L rows per sample
    private readonly long tokensPerSample;

    /// <param name="caches">The run's per-layer caches.</param>
    /// <param name="index"><c>[B·copies, n]</c> tokens to compute per sample, or null for a refill step.</param>
    /// <param name="tokensPerSample">N, image tokens per sample.</param>
    public RasRouting(KeyValueCaches caches, Tensor? index, long tokensPerSample)
    {
        this.caches = caches;
        this.tokensPerSample = tokensPerSample;
        this.index = index;
        flatIndex = index is null ? null : FlatRows(tokensPerSample);
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

    public (Tensor Keys, Tensor Values) MergeKeyValues(AttentionSlot slot, Tensor imageKeys, Tensor imageValues, Tensor? textKeys, Tensor? textValues) =>
        flatIndex is null
            ? caches.Fill(slot, imageKeys, imageValues, textKeys, textValues)
            : caches.Update(slot, CacheRows, imageKeys, imageValues, textKeys, textValues);

    public void Dispose()
    {
        flatIndex?.Dispose();
        foreach (Tensor rows in cacheRows.Values)
        {
            rows.Dispose();
        }
    }

    private Tensor CacheRows(long rowsPerSample)
    {
        if (rowsPerSample == tokensPerSample)
        {
            return flatIndex!;
        }

        if (!cacheRows.TryGetValue(rowsPerSample, out Tensor? rows))
        {
            rows = FlatRows(rowsPerSample);
            cacheRows[rowsPerSample] = rows;
        }

        return rows;
    }

    /// <summary><c>b·rowsPerSample + token</c> for every selected token, flattened.</summary>
    private Tensor FlatRows(long rowsPerSample)
    {
        using Tensor offsets = arange(0, index!.shape[0] * rowsPerSample, rowsPerSample, ScalarType.Int64, index.device);
        using Tensor column = offsets.unsqueeze(1);
        using Tensor rows = index.add(column);
        return rows.view(-1).DetachFromDisposeScope();   // owned by this routing, which may outlive a dispose scope
    }
}
