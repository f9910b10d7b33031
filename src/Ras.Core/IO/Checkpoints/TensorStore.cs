using Ras.IO.Configs;
using System.Text.Json;
using Ras.Errors;
using Ras.IO.Gguf;
using Ras.IO.Safetensors;
using static TorchSharp.torch;

namespace Ras.IO.Checkpoints;

/// <summary>
/// The tensors of one checkpoint, addressed by key: a single safetensors or GGUF file, or several memory-mapped
/// safetensors shards (diffusers' <c>*.safetensors.index.json</c> layout). GGUF tensors are dequantized and fp8 tensors
/// decoded on the way out; with scales applied (the default for single files), ComfyUI's scaled-fp8 weights read as
/// <c>weight × scale</c> in float32 and the scale tensors are not keys (see <see cref="OpenFile(string, bool)"/>).
/// </summary>
public sealed class TensorStore : ITensorSource, IDisposable
{
    private readonly List<CheckpointFile> files;
    private readonly Dictionary<string, CheckpointFile> owners;
    private readonly ScaledWeights? scales;
    private int references = 1;   // the store itself, plus one per lease (Retain)
    private int disposed;

    private TensorStore(string source, List<CheckpointFile> files, Dictionary<string, CheckpointFile> owners, ScaledWeights? scales = null)
    {
        Source = source;
        this.files = files;
        this.owners = owners;
        this.scales = scales;
    }

    /// <inheritdoc />
    public string Source { get; }

    /// <inheritdoc />
    public IEnumerable<string> Keys => scales is null ? owners.Keys : owners.Keys.Where(k => !scales.Hidden.Contains(k));

    /// <summary>Every key as stored, scale tensors included.</summary>
    public IEnumerable<string> StoredKeys => owners.Keys;

    /// <summary>The GGUF file, when this store is one GGUF file; else null.</summary>
    public GgufFile? Gguf => files is [GgufCheckpointFile g] ? g.File : null;

    /// <summary>The safetensors file when the store is a single one (tests look at its page policy).</summary>
    internal SafetensorsFile? Safetensors => files is [SafetensorsCheckpointFile s] ? s.File : null;

    /// <summary>The safetensors <c>__metadata__</c> of a single-file store (empty for GGUF and sharded stores).</summary>
    public IReadOnlyDictionary<string, string> SafetensorsMetadata =>
        files is [SafetensorsCheckpointFile s] ? s.File.Metadata : new Dictionary<string, string>();

    /// <summary>Weight key → scale key of every scaled weight applied (empty unless opened with scales applied).</summary>
    public IReadOnlyDictionary<string, string> AppliedScales => scales?.ScaleOf ?? new Dictionary<string, string>();

    /// <summary>How <paramref name="key"/> is stored (format, shape, bytes), whether or not it is a visible key.</summary>
    public StoredTensor Describe(string key) => Owner(key).Describe(key);

    /// <inheritdoc />
    public bool Contains(string key) => owners.ContainsKey(key) && scales?.Hidden.Contains(key) != true;

    /// <inheritdoc />
    public long[] ShapeOf(string key) => Visible(key).Describe(key).Shape;

    /// <inheritdoc />
    /// <remarks>
    /// The narrowest torch dtype that holds the values exactly: the stored one for F32/F16/BF16, bfloat16 for fp8, float32 for
    /// GGUF's quantized types and for scaled weights.
    /// </remarks>
    public ScalarType DTypeOf(string key) =>
        scales?.ScaleOf.ContainsKey(key) == true ? ScalarType.Float32 : Visible(key).Describe(key).DType;

    /// <summary>Reads <paramref name="key"/> into new CPU memory (as <see cref="DTypeOf"/> unless <paramref name="dtype"/> is given).</summary>
    public Tensor Read(string key, ScalarType? dtype = null)
    {
        if (scales?.ScaleOf.ContainsKey(key) != true)
        {
            return Visible(key).Read(key, dtype);
        }

        Tensor result = empty(ShapeOf(key), dtype ?? ScalarType.Float32);
        try
        {
            CopyInto(key, result);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void CopyInto(string key, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        CheckpointFile owner = Visible(key);
        if (scales?.ScaleOf.TryGetValue(key, out string? scaleKey) != true)
        {
            owner.CopyInto(key, destination);
            return;
        }

        // weight × scale, both as float32, rounded once to float32 (then to the destination's dtype).
        using var noGrad = no_grad();
        using Tensor weight = owner.Read(key, ScalarType.Float32);
        using Tensor scale = Owner(scaleKey!).Read(scaleKey!, ScalarType.Float32);
        weight.mul_(scale);
        destination.copy_(weight);
    }

    /// <inheritdoc />
    /// <remarks>GGUF tensors (scaled ones aside) are read row by row; other files through the whole tensor.</remarks>
    public void CopyRowsInto(string key, long start, Tensor destination)
    {
        if (scales?.ScaleOf.ContainsKey(key) != true && Visible(key) is GgufCheckpointFile gguf)
        {
            gguf.File.CopyRowsInto(key, start, destination);
            return;
        }

        TensorRows.CopyViaWhole(this, key, start, destination);
    }

    /// <inheritdoc />
    public string? FormatOf(string key) => Visible(key).Describe(key).Format;

    /// <inheritdoc />
    /// <remarks>
    /// The files are closed when the store and every lease are disposed. While a lease that keeps pages is held the pages
    /// reads use stay mapped (weights read at every use are then memory reads, not page faults; the kernel may still
    /// reclaim them); when the last lease goes and the store is still open, they are released.
    /// </remarks>
    public IDisposable? Retain(bool keepPagesMapped = true)
    {
        int current;
        do
        {
            current = Volatile.Read(ref references);
            ObjectDisposedException.ThrowIf(current == 0, this);
        }
        while (Interlocked.CompareExchange(ref references, current + 1, current) != current);

        if (keepPagesMapped)
        {
            files.ForEach(f => f.KeepPagesMapped());
        }

        return new Lease(this);
    }

    /// <summary>
    /// Opens one safetensors or GGUF file (GGUF when it starts with the <c>GGUF</c> magic or is named <c>*.gguf</c>). With
    /// <paramref name="applyScales"/> (what model loaders use), a weight <c>X.weight</c> with a sibling <c>X.scale_weight</c>
    /// reads as <c>weight × scale</c> (float32), and <c>X.scale_weight</c>, <c>X.scale_input</c> and a <c>scaled_fp8</c>
    /// marker are not keys; without it every tensor is a key as stored.
    /// </summary>
    /// <exception cref="RasInputException">The file is missing, malformed or unsupported.</exception>
    public static TensorStore OpenFile(string path, bool applyScales = true)
    {
        CheckpointFile file = CheckpointFile.Open(path);
        try
        {
            var owners = file.Names.ToDictionary(k => k, _ => file, StringComparer.Ordinal);
            ScaledWeights? scales = applyScales ? ScaledWeights.Find(path, owners.Keys, k => file.Describe(k).Shape) : null;
            return new TensorStore(path, [file], owners, scales);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the weights of a diffusers component folder: <c>{baseName}.safetensors</c>, the shards listed by
    /// <c>{baseName}.safetensors.index.json</c>, or <c>{baseName}.gguf</c> (diffusers' key names, e.g. a quantized copy).
    /// </summary>
    public static TensorStore OpenComponent(string folder, string baseName = "diffusion_pytorch_model")
    {
        string single = Path.Combine(folder, baseName + ".safetensors");
        if (File.Exists(single))
        {
            return OpenFile(single);
        }

        string index = Path.Combine(folder, baseName + ".safetensors.index.json");
        if (File.Exists(index))
        {
            return OpenIndex(index);
        }

        string gguf = Path.Combine(folder, baseName + ".gguf");
        if (File.Exists(gguf))
        {
            return OpenFile(gguf);
        }

        throw new RasInputException($"{folder}: no weights found (expected {baseName}.safetensors, {baseName}.safetensors.index.json or {baseName}.gguf)");
    }

    /// <summary>Opens a sharded checkpoint through its index file.</summary>
    public static TensorStore OpenIndex(string indexPath)
    {
        Dictionary<string, string> weightMap = ReadWeightMap(indexPath);
        string folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var files = new List<CheckpointFile>();
        var owners = new Dictionary<string, CheckpointFile>(StringComparer.Ordinal);
        try
        {
            foreach (var group in weightMap.GroupBy(kv => kv.Value, StringComparer.Ordinal))
            {
                var file = new SafetensorsCheckpointFile(SafetensorsFile.Open(Path.Combine(folder, group.Key)));
                files.Add(file);
                foreach (var (key, _) in group)
                {
                    if (!file.Contains(key))
                    {
                        throw new SafetensorsException(file.FilePath, key, $"listed in {indexPath} but not in this shard");
                    }

                    owners[key] = file;
                }
            }
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }

        return new TensorStore(indexPath, files, owners);
    }

    /// <inheritdoc />
    /// <remarks>Files stay open while a lease from <see cref="Retain"/> is held.</remarks>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            Release();
        }
    }

    private void Release()
    {
        int left = Interlocked.Decrement(ref references);
        if (left == 0)
        {
            files.ForEach(f => f.Dispose());
        }
        else if (left == 1 && Volatile.Read(ref disposed) == 0)
        {
            // Only the store's owner is left (e.g. an all-in-one file whose T5 was read at use and freed): the next
            // component's pages must not sit beside the previous one's.
            files.ForEach(f => f.ReleaseKeptPages());
        }
    }

    private CheckpointFile Owner(string key) =>
        owners.TryGetValue(key, out CheckpointFile? file)
            ? file
            : throw new SafetensorsException(Source, key, "not in this checkpoint");

    private CheckpointFile Visible(string key) =>
        scales?.Hidden.Contains(key) == true ? throw new SafetensorsException(Source, key, "is a weight scale, applied to its weight (not a tensor of its own)") : Owner(key);

    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(TextFiles.ReadUtf8(indexPath, TextFiles.MaxJsonBytes, problem => new ConfigException(indexPath, null, problem)));
            if (!document.RootElement.TryGetProperty("weight_map", out JsonElement map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new ConfigException(indexPath, "weight_map", "missing or not an object");
            }

            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty item in map.EnumerateObject())
            {
                if (item.Value.ValueKind != JsonValueKind.String)
                {
                    throw new ConfigException(indexPath, $"weight_map.{item.Name}", "must be a file name");
                }

                string shard = item.Value.GetString()!;
                if (shard.Contains('/', StringComparison.Ordinal) || shard.Contains('\\', StringComparison.Ordinal) || shard.StartsWith('.'))
                {
                    throw new ConfigException(indexPath, $"weight_map.{item.Name}", $"shard '{shard}' must be a plain file name in the same folder");
                }

                result[item.Name] = shard;
            }

            return result;
        }
        catch (JsonException e)
        {
            throw new ConfigException(indexPath, null, $"not valid JSON ({e.Message})", e);
        }
    }

    private sealed class Lease(TensorStore store) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                store.Release();
            }
        }
    }
}
