using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>
/// Makes a block's weights ready for compute for the length of one call: e.g. upcasts half-precision storage to
/// float32 and back afterwards. The models call it around each large block; null (the default) costs nothing.
/// </summary>
public interface IBlockWeights
{
    /// <summary>Prepares <paramref name="block"/>; disposing the result releases what was prepared.</summary>
    IDisposable Use(nn.Module block);
}

/// <summary>A model whose large repeated blocks can be kept in compact storage and prepared one at a time.</summary>
public interface IStreamedBlocks
{
    /// <summary>The large repeated blocks (transformer / encoder blocks), in call order.</summary>
    IReadOnlyList<nn.Module> Blocks { get; }

    /// <summary>The modules outside <see cref="Blocks"/> (embeddings, norms, projections): small, always resident in compute precision.</summary>
    IReadOnlyList<nn.Module> ResidentModules { get; }

    /// <summary>Called around each block's forward; null = weights are used as stored.</summary>
    IBlockWeights? BlockWeights { get; set; }
}

/// <summary>
/// Keeps block weights in their stored half precision (fp16 / bf16) and converts the block to float32 just for its
/// forward: the conversion is exact both ways, so results equal a float32 model with the same (rounded) weights,
/// while only one block's float32 copy exists at a time.
/// </summary>
public sealed class UpcastOnUse(ScalarType storage) : IBlockWeights
{
    /// <summary>The storage dtype blocks return to after use.</summary>
    public ScalarType Storage { get; } = storage;

    /// <inheritdoc />
    public IDisposable Use(nn.Module block)
    {
        ArgumentNullException.ThrowIfNull(block);
        Convert(block, ScalarType.Float32);
        return new Release(block, Storage);
    }

    /// <summary>
    /// <c>module.to(dtype)</c>, then frees the replaced tensors at once: left to the finalizer, every block's old
    /// copies would pile up between garbage collections (gigabytes for T5-XXL).
    /// </summary>
    private static void Convert(nn.Module block, ScalarType dtype)
    {
        var before = block.parameters().Cast<Tensor>().Concat(block.buffers()).ToList();
        block.to(dtype);
        var after = block.parameters().Cast<Tensor>().Concat(block.buffers()).ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (Tensor old in before.Where(t => !after.Contains(t)))
        {
            old.Dispose();
        }
    }

    private sealed class Release(nn.Module block, ScalarType storage) : IDisposable
    {
        public void Dispose() => Convert(block, storage);
    }
}
