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
/// Keeps block weights in their stored form and gives each block float32 weights only for the length of its forward. The
/// stored form is either half precision (fp16 / bf16) held beside the model, or the checkpoint itself: packed quantized
/// (GGUF) or fp8 bytes read from the memory-mapped file, dequantized at use (<c>ModelLoader</c> wires that up). The
/// block's parameters are float32 tensors with no storage outside <see cref="Use"/>, which points them (<c>set_</c>) at
/// float32 values written into one reusable scratch arena, and empties them again afterwards. The conversions are exact,
/// so results equal a float32 model with the same (rounded or dequantized) weights, while only one block's float32 copy
/// exists at a time. Parameters are swapped in place, never replaced, so no module bookkeeping (or tensor left to the
/// finalizer) is involved.
/// </summary>
public sealed class UpcastOnUse : IBlockWeights, IDisposable
{
    private readonly Dictionary<nn.Module, List<Entry>> blocks = new(ReferenceEqualityComparer.Instance);
    private readonly IDisposable? owner;
    private BlockScratch? scratch;

    private UpcastOnUse(ScalarType? storage, IDisposable? owner)
    {
        Storage = storage;
        this.owner = owner;
    }

    /// <summary>The dtype the block weights are kept in memory in, or null when they are read from the checkpoint at use.</summary>
    public ScalarType? Storage { get; }

    /// <summary>Bytes of stored block weights held in memory (0 when they are read from the checkpoint at use).</summary>
    public long StoredBytes => blocks.Values.SelectMany(l => l).Sum(e => e.Stored is null ? 0 : e.Stored.NumberOfElements * e.Stored.ElementSize);

    /// <summary>Bytes of the float32 scratch arena (the largest block, once a block has run).</summary>
    public long ScratchBytes => scratch?.Bytes ?? 0;

    /// <summary>
    /// Moves the weights of <paramref name="model"/>'s blocks (currently in <paramref name="storage"/>) aside and
    /// turns the blocks' parameters into empty float32 tensors; installs itself as the model's <see cref="IStreamedBlocks.BlockWeights"/>.
    /// </summary>
    public static UpcastOnUse Install(IStreamedBlocks model, ScalarType storage)
    {
        ArgumentNullException.ThrowIfNull(model);
        var weights = new UpcastOnUse(storage, null);
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
            var entries = new List<Entry>();
            foreach (var (name, parameter) in block.named_parameters())
            {
                parameter.DetachFromDisposeScope();
                Tensor kept = stored[name];
                entries.Add(new Entry(parameter, kept.shape, kept, target => target.copy_(kept)));   // exact upcast
            }

            weights.blocks[block] = entries;
        }

        model.BlockWeights = weights;
        return weights;
    }

    /// <summary>
    /// Leaves the weights of <paramref name="model"/>'s float32 blocks where <paramref name="read"/> finds them (e.g. a
    /// quantized checkpoint): every block parameter is emptied and, at use, filled by <c>read(parameter, float32 target)</c>.
    /// <paramref name="owner"/> (e.g. the lease that keeps the file mapped) is disposed with this object. Installs itself as
    /// the model's <see cref="IStreamedBlocks.BlockWeights"/>.
    /// </summary>
    public static UpcastOnUse InstallReadOnUse(IStreamedBlocks model, Func<Tensor, Action<Tensor>> read, IDisposable? owner)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(read);
        var weights = new UpcastOnUse(null, owner);
        using var noGrad = no_grad();
        foreach (nn.Module block in model.Blocks)
        {
            var entries = new List<Entry>();
            foreach (var (_, parameter) in block.named_parameters())
            {
                Action<Tensor> fill = read(parameter);                              // resolved before the parameter is emptied
                long[] shape = parameter.shape;
                using (Tensor empty = zeros(0, ScalarType.Float32, parameter.device))
                {
                    parameter.set_(empty);
                }

                entries.Add(new Entry(parameter, shape, null, fill));
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
        List<Entry> entries = blocks[block];
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        scratch ??= new BlockScratch();
        BlockScratch.Lease targets = scratch.Rent([.. entries.Select(e => e.Shape)]);
        var release = new Release(entries, targets);
        try
        {
            for (int i = 0; i < entries.Count; i++)
            {
                entries[i].Fill(targets.Tensors[i]);
                entries[i].Parameter.set_(targets.Tensors[i]);
            }
        }
        catch
        {
            release.Dispose();
            throw;
        }

        return release;
    }

    /// <summary>Frees the stored weights and the scratch, and releases the owner (the owning model calls this from its own disposal).</summary>
    public void Dispose()
    {
        foreach (Entry entry in blocks.Values.SelectMany(l => l))
        {
            entry.Stored?.Dispose();
        }

        blocks.Clear();
        scratch?.Dispose();
        scratch = null;
        owner?.Dispose();
    }

    private sealed record Entry(Tensor Parameter, long[] Shape, Tensor? Stored, Action<Tensor> Fill);

    private sealed class Release(List<Entry> entries, BlockScratch.Lease targets) : IDisposable
    {
        private bool done;

        public void Dispose()
        {
            if (done)
            {
                return;
            }

            done = true;
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            foreach (Entry entry in entries)
            {
                entry.Parameter.set_(zeros(0, ScalarType.Float32, entry.Parameter.device));
            }

            targets.Dispose();

            // A block's activations below the mmap threshold (T5-XXL's 8 MiB rows at 512 tokens) were freed onto the heap;
            // without a trim, every block's scatter of them stays resident (+1 GiB over T5-XXL's 24 blocks, measured).
            Ras.Native.NativeHeap.Trim();
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
