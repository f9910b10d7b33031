using Ras.Errors;
using static TorchSharp.torch;

namespace Ras.IO.Checkpoints;

/// <summary>
/// Binds checkpoint tensors to a module's parameters and persistent buffers by key, strictly: every
/// missing, unexpected and mis-shaped key is reported in one <see cref="CheckpointException"/>
/// before anything is copied. Tensors are copied one at a time into the preallocated parameters.
/// </summary>
public static class StateDictBinder
{
    /// <summary>
    /// Copies every tensor of <paramref name="store"/> into <paramref name="module"/>. Checkpoint keys for which
    /// <paramref name="ignore"/> returns true (known non-weights, e.g. a stale buffer) are skipped; keys the module
    /// needs under another name can be supplied by <paramref name="alias"/> (model key → checkpoint key).
    /// </summary>
    public static void Load(nn.Module module, ITensorSource store, Func<string, bool>? ignore = null, Func<string, string?>? alias = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(store);
        Dictionary<string, Tensor> targets = module.state_dict();
        string Source(string key) => store.Contains(key) ? key : alias?.Invoke(key) is string other && store.Contains(other) ? other : key;
        var used = targets.Keys.Select(Source).ToHashSet(StringComparer.Ordinal);
        var missing = targets.Keys.Where(k => !store.Contains(Source(k))).Order(StringComparer.Ordinal).ToList();
        var unexpected = store.Keys.Where(k => !used.Contains(k) && ignore?.Invoke(k) != true).Order(StringComparer.Ordinal).ToList();
        var mismatched = new List<string>();
        foreach (var (key, target) in targets.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (store.Contains(Source(key)))
            {
                long[] stored = store.ShapeOf(Source(key));
                if (!stored.SequenceEqual(target.shape))
                {
                    mismatched.Add($"{key}: checkpoint [{string.Join(", ", stored)}] vs model [{string.Join(", ", target.shape)}]");
                }
            }
        }

        if (missing.Count + unexpected.Count + mismatched.Count > 0)
        {
            throw new CheckpointException(store.Source, missing, unexpected, mismatched);
        }

        using var noGrad = no_grad();
        foreach (var (key, target) in targets)
        {
            store.CopyInto(Source(key), target);
        }
    }
}
