using Ras.IO.Checkpoints;
using Ras.IO.Safetensors;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>
/// Writes a module's weights in a foreign checkpoint layout by running a converter's key map backwards, so a
/// converter can be tested against weights whose diffusers form we know.
/// </summary>
public static class ForeignLayout
{
    /// <summary>
    /// <paramref name="state"/> (diffusers keys) → <paramref name="path"/> in the layout <paramref name="convert"/> reads.
    /// <paramref name="claims"/> says which source keys exist (the converter probes for optional ones).
    /// </summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> state, Func<ITensorSource, MappedTensorSource> convert, Func<string, bool> claims)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(convert);
        MappedTensorSource view = convert(new Claiming(claims));
        using var scope = NewDisposeScope();
        var parts = new Dictionary<string, List<(TensorMapping Mapping, Tensor Value)>>(StringComparer.Ordinal);
        foreach (string target in view.Keys)
        {
            TensorMapping mapping = view.MappingOf(target);
            if (!parts.TryGetValue(mapping.SourceKey, out var list))
            {
                parts[mapping.SourceKey] = list = [];
            }

            list.Add((mapping, state[target]));
        }

        var tensors = parts.ToDictionary(kv => kv.Key, kv =>
        {
            var ordered = kv.Value.OrderBy(p => (long?)p.Mapping.Chunk ?? p.Mapping.RowStart ?? 0).ToList();
            TensorMapping first = ordered[0].Mapping;
            Tensor value = ordered.Count == 1 ? ordered[0].Value : cat(ordered.Select(p => p.Value).ToArray(), 0);
            if (first.SwapHalves)
            {
                Tensor[] halves = value.chunk(2, 0);
                value = cat([halves[1], halves[0]], 0);
            }

            if (first.Shape is not null)
            {
                value = value.view([.. value.shape, 1, 1]);   // a Linear stored as a 1×1 convolution
            }

            return value.contiguous();
        });
        SafetensorsWriter.Write(path, tensors);
    }

    private sealed class Claiming(Func<string, bool> claims) : ITensorSource
    {
        public string Source => "layout";

        public IEnumerable<string> Keys => [];

        public bool Contains(string key) => claims(key);

        public long[] ShapeOf(string key) => [1];

        public ScalarType DTypeOf(string key) => ScalarType.Float32;

        public void CopyInto(string key, Tensor destination) => throw new NotSupportedException();
    }
}
