using Ras.Models.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.IO.Checkpoints;

/// <summary>Builds a model and binds its weights in the chosen <see cref="WeightStorage"/>.</summary>
public static class ModelLoader
{
    /// <summary>
    /// Constructs a model with <paramref name="construct"/>, without its random initialisation
    /// (<see cref="UninitializedModules"/>: <paramref name="bind"/> must fill every state-dict tensor, as the strict
    /// <see cref="StateDictBinder"/> does), and fills it with <paramref name="bind"/> from <paramref name="source"/>. With
    /// half-precision storage the model is built directly in the stored dtype (never a float32 copy of the blocks), bound
    /// by plain byte copies, its resident modules converted to float32, and <see cref="UpcastOnUse"/> installed (block
    /// parameters then hold no storage outside a block's forward). A quantized or fp8 checkpoint under
    /// <see cref="KeepsPacked"/> keeps the blocks' weights in the file, read at each use; with <see cref="BlockReads.Once"/>
    /// (a text encoder) so does a half-precision one, and the file's pages are released after each block's read.
    /// </summary>
    /// <returns>The model in eval mode on <paramref name="device"/>.</returns>
    public static T Load<T>(Func<T> construct, ITensorSource source, WeightStorage storage, Device? device, Action<T, ITensorSource> bind,
        BlockReads reads = BlockReads.Repeated)
        where T : nn.Module, IStreamedBlocks
    {
        ArgumentNullException.ThrowIfNull(construct);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(bind);
        ScalarType? half = ChooseHalfStorage(source, storage);
        bool readAtUse = KeepsPacked(source, storage) || (reads == BlockReads.Once && half is not null);
        if (readAtUse && source.Retain(keepPagesMapped: reads == BlockReads.Repeated) is IDisposable lease)
        {
            return LoadReadOnUse(construct, source, lease, device, bind);
        }

        T model = UninitializedModules.Construct(construct, half);   // half storage: built in the stored dtype, never a float32 copy
        return Bind(model, m =>
        {
            bind(m, source);
            if (half is ScalarType stored)
            {
                foreach (nn.Module resident in m.ResidentModules)
                {
                    resident.to(ScalarType.Float32);
                }

                UpcastOnUse.Install(m, stored);
            }
        }, device);
    }

    /// <summary>
    /// Weights read at use (quantized / fp8, or half precision under <see cref="BlockReads.Once"/>): the model is built in
    /// float32 without storage for its blocks' weights; binding checks every key and fills the resident modules, and the
    /// blocks read their weights from <paramref name="source"/> (kept open by <paramref name="lease"/>) at each use,
    /// dequantized or upcast into the scratch <see cref="UpcastOnUse"/> owns.
    /// </summary>
    private static T LoadReadOnUse<T>(Func<T> construct, ITensorSource source, IDisposable lease, Device? device, Action<T, ITensorSource> bind)
        where T : nn.Module, IStreamedBlocks
    {
        T model;
        try
        {
            model = UninitializedModules.Construct(construct);
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        // Block parameters get uninitialised storage that is never written (so never resident) and is dropped below.
        var blockParameters = model.Blocks.SelectMany(b => b.parameters()).Select(p => p.Handle).ToHashSet();
        var deferred = new DeferredTensorSource(source, destination => blockParameters.Contains(destination.Handle));
        bool installed = false;
        try
        {
            return Bind(model, m =>
            {
                bind(m, deferred);
                UpcastOnUse.InstallReadOnUse(m, parameter =>
                {
                    string key = deferred.Deferred.TryGetValue(parameter.Handle, out string? k)
                        ? k
                        : throw new InvalidOperationException($"{source.Source}: a block parameter was not bound through the loader's source");
                    return target => source.CopyInto(key, target);
                }, lease);
                installed = true;
            }, device);
        }
        finally
        {
            if (!installed)
            {
                lease.Dispose();
            }
        }
    }

    /// <summary>
    /// Fills a freshly built float32 <paramref name="model"/> with <paramref name="bind"/>, puts it in eval mode and
    /// moves it to <paramref name="device"/>; the model is disposed if any of that fails.
    /// </summary>
    public static T Bind<T>(T model, Action<T> bind, Device? device)
        where T : nn.Module
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(bind);
        try
        {
            bind(model);
            model.eval();
            return device is null ? model : model.to(device);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// True when the blocks' weights should stay packed in the checkpoint and be dequantized at use: some tensors are
    /// quantized (GGUF <c>Q*</c>) or fp8, and the storage is <see cref="WeightStorage.Stored"/>, or
    /// <see cref="WeightStorage.Auto"/> with a float32 copy over half the machine's memory.
    /// </summary>
    /// <remarks>
    /// Any packed tensor decides it, not the largest one: GGUF converters keep tensors that do not fit whole blocks, or
    /// that they judge sensitive, in F16/F32 (SD3's 36864-row <c>pos_embed</c> is F32 and bigger than any matrix), and
    /// those are read from the file at use as exactly as the quantized ones.
    /// </remarks>
    public static bool KeepsPacked(ITensorSource source, WeightStorage storage)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (storage == WeightStorage.FullPrecision)
        {
            return false;
        }

        long elements = 0;
        long packedElements = 0;
        foreach (string key in source.Keys)
        {
            long count = source.ShapeOf(key).Aggregate(1L, (a, b) => a * b);
            elements += count;
            if (source.FormatOf(key) is string format && (format.StartsWith('Q') || format.StartsWith("F8_", StringComparison.Ordinal)))
            {
                packedElements += count;
            }
        }

        return packedElements > 0 && (storage == WeightStorage.Stored || elements * 4 > GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2);
    }

    /// <summary>The half dtype to keep, or null for float32 (see <see cref="WeightStorage"/>).</summary>
    public static ScalarType? ChooseHalfStorage(ITensorSource source, WeightStorage storage)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (storage == WeightStorage.FullPrecision)
        {
            return null;
        }

        long elements = 0;
        long largest = -1;
        ScalarType dominant = ScalarType.Float32;
        foreach (string key in source.Keys)
        {
            long count = source.ShapeOf(key).Aggregate(1L, (a, b) => a * b);
            elements += count;
            if (count > largest)
            {
                largest = count;
                dominant = source.DTypeOf(key);
            }
        }

        if (dominant is not (ScalarType.Float16 or ScalarType.BFloat16))
        {
            return null;   // nothing to save: the checkpoint is float32 already
        }

        if (storage == WeightStorage.Stored)
        {
            return dominant;
        }

        long float32Bytes = elements * 4;
        return float32Bytes > GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2 ? dominant : null;
    }
}
