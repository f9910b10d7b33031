using Ras.Models.Common;
using static TorchSharp.torch;

namespace Ras.RegionAdaptive;

/// <summary>
/// Per-attention-layer key/value caches of one RAS run: <c>[B·copies, N + L, D]</c> each — every image
/// token's row, then the current text rows, so attention reads the cache directly with no concatenation.
/// Allocated at the first refill and updated in place afterwards.
/// </summary>
internal sealed class KeyValueCaches : IDisposable
{
    private readonly Dictionary<AttentionSlot, (Tensor Keys, Tensor Values)> caches = [];

    /// <summary>Bytes held by all caches.</summary>
    public long Bytes => caches.Values.Sum(c => (c.Keys.NumberOfElements * c.Keys.ElementSize) + (c.Values.NumberOfElements * c.Values.ElementSize));

    /// <summary>Number of layers cached.</summary>
    public int Count => caches.Count;

    /// <summary>The cached layers.</summary>
    public IReadOnlyCollection<AttentionSlot> Slots => caches.Keys;

    /// <summary>Overwrites (or creates) <paramref name="slot"/>'s cache with every image token's keys/values and the text's.</summary>
    public (Tensor Keys, Tensor Values) Fill(AttentionSlot slot, Tensor imageKeys, Tensor imageValues, Tensor? textKeys, Tensor? textValues)
    {
        long imageRows = imageKeys.shape[1];
        long rows = imageRows + (textKeys?.shape[1] ?? 0);
        if (!caches.TryGetValue(slot, out var cache) || cache.Keys.shape[0] != imageKeys.shape[0] || cache.Keys.shape[1] != rows)
        {
            Drop(slot);
            long[] shape = [imageKeys.shape[0], rows, imageKeys.shape[2]];
            cache = (empty(shape, imageKeys.dtype, imageKeys.device).DetachFromDisposeScope(),
                empty(shape, imageKeys.dtype, imageKeys.device).DetachFromDisposeScope());
            caches[slot] = cache;
        }

        CopyRows(cache.Keys, 0, imageKeys);
        CopyRows(cache.Values, 0, imageValues);
        WriteText(cache, imageRows, textKeys, textValues);
        return (cache.Keys.alias(), cache.Values.alias());
    }

    /// <summary>
    /// Writes computed tokens' keys/values (<c>[B, n, D]</c>) into the cache rows named by
    /// <paramref name="flatRows"/> (<c>[B·n]</c> rows of the cache viewed as <c>[B·(N + L), D]</c>), refreshes
    /// the text rows, and returns views of the whole cache.
    /// </summary>
    public (Tensor Keys, Tensor Values) Update(AttentionSlot slot, Func<long, Tensor> flatRows, Tensor imageKeys, Tensor imageValues, Tensor? textKeys, Tensor? textValues)
    {
        if (!caches.TryGetValue(slot, out var cache))
        {
            throw new InvalidOperationException($"RAS: no K/V cache for block {slot.Block} attention {slot.Attention}; a dense refill step must precede a RAS step");
        }

        long rows = cache.Keys.shape[1];
        long width = imageKeys.shape[2];
        Tensor index = flatRows(rows);
        foreach (var (target, fresh) in new[] { (cache.Keys, imageKeys), (cache.Values, imageValues) })
        {
            using Tensor targetRows = target.view(-1, width);
            using Tensor freshRows = fresh.reshape(-1, width);
            targetRows.index_copy_(0, index, freshRows);
        }

        WriteText(cache, rows - (textKeys?.shape[1] ?? 0), textKeys, textValues);
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

    private static void WriteText((Tensor Keys, Tensor Values) cache, long start, Tensor? textKeys, Tensor? textValues)
    {
        if (textKeys is not null)
        {
            CopyRows(cache.Keys, start, textKeys);
            CopyRows(cache.Values, start, textValues!);
        }
    }

    private static void CopyRows(Tensor cache, long start, Tensor rows)
    {
        using Tensor target = cache.narrow(1, start, rows.shape[1]);
        target.copy_(rows);
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
