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
    /// Writes computed tokens' keys/values (<c>[B, n, D]</c>, rows given by <paramref name="expandedIndex"/>
    /// <c>[B, n, D]</c>) into the cache and returns views of the whole cache, <c>[B, N, D]</c>.
    /// </summary>
    public (Tensor Keys, Tensor Values) Update(AttentionSlot slot, Tensor expandedIndex, Tensor keys, Tensor values)
    {
        if (!caches.TryGetValue(slot, out var cache))
        {
            throw new InvalidOperationException($"RAS: no K/V cache for block {slot.Block} attention {slot.Attention}; a dense refill step must precede a RAS step");
        }

        cache.Keys.scatter_(1, expandedIndex, keys);
        cache.Values.scatter_(1, expandedIndex, values);
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
