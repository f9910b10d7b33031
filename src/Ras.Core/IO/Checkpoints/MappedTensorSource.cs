using Ras.Errors;
using static TorchSharp.torch;

namespace Ras.IO.Checkpoints;

/// <summary>How one target tensor is made from a source tensor.</summary>
/// <param name="SourceKey">Key in the underlying source.</param>
/// <param name="Chunk">Index of the equal slice along dim 0 (for fused projections), or null for the whole tensor.</param>
/// <param name="Chunks">Number of equal slices along dim 0.</param>
/// <param name="SwapHalves">True to swap the two halves along dim 0 (shift/scale order differs between layouts).</param>
/// <param name="Shape">Target shape when it differs from the source's by a reshape (e.g. a 1×1 conv stored for a Linear).</param>
/// <param name="RowStart">First row along dim 0 of an unequal split (e.g. FLUX.1's fused q, k, v, mlp), or null.</param>
/// <param name="RowCount">Number of rows from <paramref name="RowStart"/>.</param>
public sealed record TensorMapping(string SourceKey, int? Chunk = null, int Chunks = 1, bool SwapHalves = false, long[]? Shape = null,
    long? RowStart = null, long RowCount = 0)
{
    /// <summary>Rows <paramref name="start"/> … <paramref name="start"/> + <paramref name="count"/> − 1 along dim 0 (a split into unequal parts).</summary>
    public static TensorMapping Rows(string sourceKey, long start, long count) => new(sourceKey, RowStart: start, RowCount: count);

    /// <summary>The whole source tensor reshaped to <paramref name="shape"/> (same element count).</summary>
    public static TensorMapping Reshaped(string sourceKey, long[] shape) => new(sourceKey, Shape: shape);

    /// <summary>The whole source tensor, unchanged.</summary>
    public static TensorMapping Copy(string sourceKey) => new(sourceKey);

    /// <summary>Slice <paramref name="index"/> of <paramref name="count"/> along dim 0 (e.g. q of a fused qkv).</summary>
    public static TensorMapping Slice(string sourceKey, int index, int count) => new(sourceKey, index, count);

    /// <summary>The two halves along dim 0 swapped.</summary>
    public static TensorMapping Swapped(string sourceKey) => new(sourceKey, SwapHalves: true);
}

/// <summary>
/// A foreign checkpoint layout seen through a key map (target key → <see cref="TensorMapping"/>): converted
/// tensors are produced on demand, one at a time, so a converted checkpoint never exists twice in memory.
/// </summary>
public sealed class MappedTensorSource : ITensorSource
{
    private readonly ITensorSource source;
    private readonly IReadOnlyDictionary<string, TensorMapping> map;

    /// <summary>Wraps <paramref name="source"/>; every mapping must name an existing source key.</summary>
    public MappedTensorSource(ITensorSource source, IReadOnlyDictionary<string, TensorMapping> map)
    {
        this.source = source ?? throw new ArgumentNullException(nameof(source));
        this.map = map ?? throw new ArgumentNullException(nameof(map));
        var missing = map.Values.Select(m => m.SourceKey).Where(k => !source.Contains(k)).Distinct().Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            throw new CheckpointException(source.Source, missing, [], []);
        }
    }

    /// <inheritdoc />
    public string Source => source.Source;

    /// <inheritdoc />
    public IEnumerable<string> Keys => map.Keys;

    /// <inheritdoc />
    public bool Contains(string key) => map.ContainsKey(key);

    /// <inheritdoc />
    public long[] ShapeOf(string key)
    {
        TensorMapping m = Mapping(key);
        if (m.Shape is not null)
        {
            return [.. m.Shape];
        }

        long[] shape = [.. source.ShapeOf(m.SourceKey)];
        if (m.Chunk is not null)
        {
            shape[0] /= m.Chunks;
        }
        else if (m.RowStart is not null)
        {
            shape[0] = m.RowCount;
        }

        return shape;
    }

    /// <inheritdoc />
    public ScalarType DTypeOf(string key) => source.DTypeOf(Mapping(key).SourceKey);

    /// <inheritdoc />
    public void CopyInto(string key, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        TensorMapping m = Mapping(key);
        if (m.Chunk is null && m.RowStart is null && !m.SwapHalves && m.Shape is null)
        {
            source.CopyInto(m.SourceKey, destination);
            return;
        }

        if (m.Shape is not null)
        {
            using Tensor view = destination.view(source.ShapeOf(m.SourceKey));
            source.CopyInto(m.SourceKey, view);
            return;
        }

        // Parts of fused tensors are read as row ranges, so a source that addresses rows (GGUF) never decodes the rest.
        using var noGrad = no_grad();
        if (m.Chunk is int index)
        {
            source.CopyRowsInto(m.SourceKey, index * destination.shape[0], destination);
            return;
        }

        if (m.RowStart is long start)
        {
            source.CopyRowsInto(m.SourceKey, start, destination);
            return;
        }

        long half = destination.shape[0] / 2;
        using (Tensor first = destination.narrow(0, 0, half))
        {
            source.CopyRowsInto(m.SourceKey, half, first);
        }

        using Tensor second = destination.narrow(0, half, half);
        source.CopyRowsInto(m.SourceKey, 0, second);
    }

    /// <inheritdoc />
    public string? FormatOf(string key) => source.FormatOf(Mapping(key).SourceKey);

    /// <inheritdoc />
    public IDisposable? Retain(bool keepPagesMapped = true) => source.Retain(keepPagesMapped);

    /// <summary>A view of every key of <paramref name="source"/> that starts with <paramref name="prefix"/>, with the prefix removed.</summary>
    public static MappedTensorSource WithoutPrefix(ITensorSource source, string prefix)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new MappedTensorSource(source, source.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(k => k[prefix.Length..], TensorMapping.Copy, StringComparer.Ordinal));
    }

    /// <summary>How <paramref name="key"/> is produced (for tests and diagnostics).</summary>
    public TensorMapping MappingOf(string key) => Mapping(key);

    private TensorMapping Mapping(string key) =>
        map.TryGetValue(key, out TensorMapping? m) ? m : throw new CheckpointException(source.Source, [key], [], []);
}
