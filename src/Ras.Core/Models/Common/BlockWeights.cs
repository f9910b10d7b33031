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
/// Keeps block weights in their stored half precision (fp16 / bf16) beside the model and gives each block float32
/// weights only for the length of its forward: the block's parameters are float32 tensors with no storage
/// outside <see cref="Use"/>, which points them (<c>set_</c>) at a float32 copy of the stored weights and empties
/// them again afterwards. The conversion is exact, so results equal a float32 model with the same (rounded)
/// weights, while only one block's float32 copy exists at a time. Parameters are swapped in place, never replaced,
/// so no module bookkeeping (or tensor left to the finalizer) is involved.
/// </summary>
public sealed class UpcastOnUse : IBlockWeights, IDisposable
{
    private readonly Dictionary<nn.Module, List<(Tensor Parameter, Tensor Stored)>> blocks = new(ReferenceEqualityComparer.Instance);

    private UpcastOnUse(ScalarType storage)
    {
        Storage = storage;
    }

    /// <summary>The dtype the block weights are kept in.</summary>
    public ScalarType Storage { get; }

    /// <summary>Bytes of stored block weights.</summary>
    public long StoredBytes => blocks.Values.SelectMany(l => l).Sum(e => e.Stored.NumberOfElements * e.Stored.ElementSize);

    /// <summary>
    /// Moves the weights of <paramref name="model"/>'s blocks (currently in <paramref name="storage"/>) aside and
    /// turns the blocks' parameters into empty float32 tensors; installs itself as the model's <see cref="IStreamedBlocks.BlockWeights"/>.
    /// </summary>
    public static UpcastOnUse Install(IStreamedBlocks model, ScalarType storage)
    {
        ArgumentNullException.ThrowIfNull(model);
        var weights = new UpcastOnUse(storage);
        using var noGrad = no_grad();
        foreach (nn.Module block in model.Blocks)
        {
            using var scope = NewDisposeScope();
            var stored = new Dictionary<string, Tensor>();
            foreach (var (name, parameter) in block.named_parameters())
            {
                stored[name] = parameter.detach().DetachFromDisposeScope();          // shares the storage
                using Tensor empty = zeros(0, parameter.dtype, parameter.device);
                parameter.set_(empty);                                              // the parameter lets go of it
            }

            block.to(ScalarType.Float32);                                          // empty tensors: nothing is converted
            var entries = new List<(Tensor, Tensor)>();
            foreach (var (name, parameter) in block.named_parameters())
            {
                parameter.DetachFromDisposeScope();
                entries.Add((parameter, stored[name]));
            }

            weights.blocks[block] = entries;
        }

        model.BlockWeights = weights;
        return weights;
    }

    /// <inheritdoc />
    public IDisposable Use(nn.Module block)
    {
        ArgumentNullException.ThrowIfNull(block);
        List<(Tensor Parameter, Tensor Stored)> entries = blocks[block];
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (parameter, stored) in entries)
        {
            parameter.set_(stored.to_type(ScalarType.Float32));
        }

        return new Release(entries);
    }

    /// <summary>Frees the stored weights (the owning model calls this from its own disposal).</summary>
    public void Dispose()
    {
        foreach (var (_, stored) in blocks.Values.SelectMany(l => l))
        {
            stored.Dispose();
        }

        blocks.Clear();
    }

    private sealed class Release(List<(Tensor Parameter, Tensor Stored)> entries) : IDisposable
    {
        public void Dispose()
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            foreach (var (parameter, _) in entries)
            {
                parameter.set_(zeros(0, ScalarType.Float32, parameter.device));
            }
        }
    }
}

/// <summary>Base of models with streamed blocks: holds <see cref="BlockWeights"/> and frees what it keeps aside on disposal.</summary>
public abstract class StreamedBlocksModule(string name) : nn.Module(name), IStreamedBlocks
{
    /// <inheritdoc />
    public abstract IReadOnlyList<nn.Module> Blocks { get; }

    /// <inheritdoc />
    public abstract IReadOnlyList<nn.Module> ResidentModules { get; }

    /// <inheritdoc />
    public virtual IBlockWeights? BlockWeights { get; set; }

    /// <summary>Also frees weights held aside by <see cref="BlockWeights"/> (half-precision storage).</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            (BlockWeights as IDisposable)?.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// Makes a long forward stoppable: before each block of a streamed-blocks model it throws <see cref="OperationCanceledException"/>
/// once <see cref="CancellationToken"/> is cancelled, then delegates to the model's own <see cref="IStreamedBlocks.BlockWeights"/>
/// (half-precision storage keeps working). It rides on the per-block hook the models already call, so the models stay unaware
/// of cancellation; a sampler step is the coarser unit (a full-size forward is tens of seconds on a CPU).
/// </summary>
public sealed class CancelBetweenBlocks : IBlockWeights
{
    private readonly IBlockWeights? inner;
    private readonly CancellationToken cancellationToken;

    private CancelBetweenBlocks(IBlockWeights? inner, CancellationToken cancellationToken)
    {
        this.inner = inner;
        this.cancellationToken = cancellationToken;
    }

    /// <summary>
    /// Installs the check on <paramref name="model"/> until the returned object is disposed (which puts the previous hook back;
    /// dispose it before the model). Nothing is installed when <paramref name="cancellationToken"/> cannot be cancelled.
    /// </summary>
    public static IDisposable Install(IStreamedBlocks model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!cancellationToken.CanBeCanceled)
        {
            return new Restore(model, model.BlockWeights);
        }

        IBlockWeights? previous = model.BlockWeights;
        model.BlockWeights = new CancelBetweenBlocks(previous, cancellationToken);
        return new Restore(model, previous);
    }

    /// <inheritdoc />
    public IDisposable Use(nn.Module block)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return inner?.Use(block) ?? Nothing.Instance;
    }

    private sealed class Restore(IStreamedBlocks model, IBlockWeights? previous) : IDisposable
    {
        public void Dispose() => model.BlockWeights = previous;
    }

    private sealed class Nothing : IDisposable
    {
        public static readonly Nothing Instance = new();

        public void Dispose()
        {
        }
    }
}
