using Ras.Models.Common;
using static TorchSharp.torch;

namespace Ras.RegionAdaptive;

/// <summary>
/// Per-attention-layer key/value caches over all image tokens, <c>[B·copies, N, D]</c> each, owned by
/// one RAS run. Allocated once at the first refill and updated in place afterwards.
/// </summary>
internal sealed class KeyValueCaches : IDisposable
{
    private readonly Dictionary<AttentionSlot, (Tensor Keys, Tensor Values)> caches = [];

    /// <summary>Bytes held by all caches.</summary>
    public long Bytes => caches.Values.Sum(c => (c.Keys.NumberOfElements * c.Keys.ElementSize) + (c.Values.NumberOfElements * c.Values.ElementSize));

    /// <summary>Number of layers cached.</summary>
    public int Count => caches.Count;

    /// <summary>Overwrites (or creates) <paramref name="slot"/>'s cache with every token's keys and values.</summary>
    public void Fill(AttentionSlot slot, Tensor keys, Tensor values)
    {
        if (caches.TryGetValue(slot, out var cache) && cache.Keys.shape.SequenceEqual(keys.shape))
        {
            cache.Keys.copy_(keys);
            cache.Values.copy_(values);
            return;
        }

        Drop(slot);
        caches[slot] = (keys.clone().DetachFromDisposeScope(), values.clone().DetachFromDisposeScope());
    }

    /// <summary>
    /// Writes computed tokens' keys/values (<c>[B, n, D]</c>) into the cache rows named by
    /// <paramref name="flatIndex"/> (<c>[B·n]</c>, row <c>b·N + token</c>) and returns views of the whole
    /// cache, <c>[B, N, D]</c>.
    /// </summary>
    public (Tensor Keys, Tensor Values) Update(AttentionSlot slot, Tensor flatIndex, Tensor keys, Tensor values)
    {
        if (!caches.TryGetValue(slot, out var cache))
        {
            throw new InvalidOperationException($"RAS: no K/V cache for block {slot.Block} attention {slot.Attention}; a dense refill step must precede a RAS step");
        }

        long width = keys.shape[2];
        using (Tensor keyRows = cache.Keys.view(-1, width))
        using (Tensor freshKeys = keys.reshape(-1, width))
        {
            keyRows.index_copy_(0, flatIndex, freshKeys);
        }

        using (Tensor valueRows = cache.Values.view(-1, width))
        using (Tensor freshValues = values.reshape(-1, width))
        {
            valueRows.index_copy_(0, flatIndex, freshValues);
        }

        return (cache.Keys.alias(), cache.Values.alias());
    }

    /// <summary>The cached keys of <paramref name="slot"/> (a view; for tests and diagnostics).</summary>
    public Tensor? KeysOf(AttentionSlot slot) => caches.TryGetValue(slot, out var c) ? c.Keys.alias() : null;

    /// <summary>The cached values of <paramref name="slot"/> (a view; for tests and diagnostics).</summary>
    public Tensor? ValuesOf(AttentionSlot slot) => caches.TryGetValue(slot, out var c) ? c.Values.alias() : null;

    public void Dispose()
    {
        foreach (var slot in caches.Keys.ToArray())
        {
            Drop(slot);
        }
    }

    private void Drop(AttentionSlot slot)
    {
        if (caches.Remove(slot, out var old))
        {
            old.Keys.Dispose();
            old.Values.Dispose();
        }
    }
}
