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
    /// <summary>Copies every tensor of <paramref name="store"/> into <paramref name="module"/>.</summary>
    public static void Load(nn.Module module, TensorStore store)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(store);
        Dictionary<string, Tensor> targets = module.state_dict();
        var missing = targets.Keys.Where(k => !store.Contains(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = store.Keys.Where(k => !targets.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var mismatched = new List<string>();
        foreach (var (key, target) in targets.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (store.Contains(key))
            {
                long[] stored = store.Entry(key).Shape;
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
            store.CopyInto(key, target);
        }
    }
}
