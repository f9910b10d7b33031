using System.Text.Json;
using Ras.Errors;
using Ras.IO.Safetensors;
using static TorchSharp.torch;

namespace Ras.IO.Checkpoints;

/// <summary>
/// The tensors of one checkpoint, possibly spread over several memory-mapped safetensors shards
/// (diffusers' <c>*.safetensors.index.json</c> layout), addressed by key.
/// </summary>
public sealed class TensorStore : ITensorSource, IDisposable
{
    private readonly List<SafetensorsFile> files;
    private readonly Dictionary<string, SafetensorsFile> owners;

    private TensorStore(string source, List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> owners)
    {
        Source = source;
        this.files = files;
        this.owners = owners;
    }

    /// <inheritdoc />
    public string Source { get; }

    /// <inheritdoc />
    public IEnumerable<string> Keys => owners.Keys;

    /// <summary>The header entry (dtype, shape) of <paramref name="key"/>.</summary>
    public SafetensorsEntry Entry(string key) => Owner(key).Get(key);

    /// <inheritdoc />
    public bool Contains(string key) => owners.ContainsKey(key);

    /// <inheritdoc />
    public long[] ShapeOf(string key) => Entry(key).Shape;

    /// <inheritdoc />
    public ScalarType DTypeOf(string key) => Entry(key).DType;

    /// <summary>Reads <paramref name="key"/> into new CPU memory.</summary>
    public Tensor Read(string key, ScalarType? dtype = null) => Owner(key).Read(key, dtype);

    /// <inheritdoc />
    public void CopyInto(string key, Tensor destination) => Owner(key).CopyInto(key, destination);

    /// <summary>Opens one safetensors file.</summary>
    public static TensorStore OpenFile(string path)
    {
        var file = SafetensorsFile.Open(path);
        return new TensorStore(path, [file], file.Entries.Keys.ToDictionary(k => k, _ => file, StringComparer.Ordinal));
    }

    /// <summary>
    /// Opens the weights of a diffusers component folder: <c>{baseName}.safetensors</c>, or the shards
    /// listed by <c>{baseName}.safetensors.index.json</c>.
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

        throw new RasInputException($"{folder}: no weights found (expected {baseName}.safetensors or {baseName}.safetensors.index.json)");
    }

    /// <summary>Opens a sharded checkpoint through its index file.</summary>
    public static TensorStore OpenIndex(string indexPath)
    {
        Dictionary<string, string> weightMap = ReadWeightMap(indexPath);
        string folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var files = new List<SafetensorsFile>();
        var owners = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var group in weightMap.GroupBy(kv => kv.Value, StringComparer.Ordinal))
            {
                var file = SafetensorsFile.Open(Path.Combine(folder, group.Key));
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
    public void Dispose() => files.ForEach(f => f.Dispose());

    private SafetensorsFile Owner(string key) =>
        owners.TryGetValue(key, out SafetensorsFile? file)
            ? file
            : throw new SafetensorsException(Source, key, "not in this checkpoint");

    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
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
}
