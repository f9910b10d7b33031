using Ras.Errors;
using Ras.IO.Gguf;
using Ras.IO.Safetensors;
using static TorchSharp.torch;

namespace Ras.IO.Checkpoints;

/// <summary>One checkpoint file of either format, as the <see cref="TensorStore"/> sees it.</summary>
internal abstract class CheckpointFile : IDisposable
{
    public abstract string FilePath { get; }

    /// <summary>Every tensor name, as stored.</summary>
    public abstract IEnumerable<string> Names { get; }

    public abstract bool Contains(string name);

    public abstract StoredTensor Describe(string name);

    /// <summary>Copies (decoding or dequantizing as needed) <paramref name="name"/> into <paramref name="destination"/>.</summary>
    public abstract void CopyInto(string name, Tensor destination);

    /// <summary>Reads <paramref name="name"/> into new CPU memory, as <paramref name="dtype"/> or its <see cref="StoredTensor.DType"/>.</summary>
    public abstract Tensor Read(string name, ScalarType? dtype);

    public abstract void Dispose();

    /// <summary>Keeps the pages reads use mapped (weights read again at every use) instead of releasing them.</summary>
    public abstract void KeepPagesMapped();

    /// <summary>Back to releasing pages after reads, and releases those kept so far (the last reader at use is gone).</summary>
    public abstract void ReleaseKeptPages();

    /// <summary>Opens <paramref name="path"/> as GGUF when it starts with the GGUF magic or is named <c>*.gguf</c>, else as safetensors.</summary>
    public static CheckpointFile Open(string path) =>
        IsGguf(path) ? new GgufCheckpointFile(GgufFile.Open(path)) : new SafetensorsCheckpointFile(SafetensorsFile.Open(path));

    /// <summary>True when <paramref name="path"/> is named <c>*.gguf</c> or its first four bytes are <c>GGUF</c>.</summary>
    public static bool IsGguf(string path)
    {
        if (path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            Span<byte> magic = stackalloc byte[4];
            return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("GGUF"u8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false;   // the safetensors reader reports the problem with the path
        }
    }
}

/// <summary>A safetensors file (fp8 decoded on the way out).</summary>
internal sealed class SafetensorsCheckpointFile(SafetensorsFile file) : CheckpointFile
{
    public SafetensorsFile File { get; } = file;

    public override string FilePath => File.FilePath;

    public override IEnumerable<string> Names => File.Entries.Keys;

    public override bool Contains(string name) => File.Contains(name);

    public override StoredTensor Describe(string name)
    {
        SafetensorsEntry entry = File.Get(name);
        return new StoredTensor(name, entry.StoredDType, entry.Shape, entry.ByteLength, entry.DType);
    }

    public override void CopyInto(string name, Tensor destination) => File.CopyInto(name, destination);

    public override Tensor Read(string name, ScalarType? dtype) => File.Read(name, dtype);

    public override void KeepPagesMapped() => File.KeepsPagesMapped = true;

    public override void ReleaseKeptPages() => File.ReleaseMappedPages();

    public override void Dispose() => File.Dispose();
}

/// <summary>A GGUF file: shapes row-major, tensors dequantized on the way out.</summary>
internal sealed class GgufCheckpointFile(GgufFile file) : CheckpointFile
{
    public GgufFile File { get; } = file;

    public override string FilePath => File.FilePath;

    public override IEnumerable<string> Names => File.Tensors.Select(t => t.Name);

    public override bool Contains(string name) => File.Contains(name);

    public override StoredTensor Describe(string name)
    {
        GgufTensorInfo info = File.Get(name);
        ScalarType dtype = info.Type switch
        {
            GgufTensorType.F16 => ScalarType.Float16,
            GgufTensorType.BF16 => ScalarType.BFloat16,
            _ => ScalarType.Float32,
        };
        return new StoredTensor(name, info.Type.ToString(), info.Shape, info.ByteLength, dtype);
    }

    public override void CopyInto(string name, Tensor destination) => File.CopyInto(name, destination);

    public override Tensor Read(string name, ScalarType? dtype) => File.Read(name, dtype ?? Describe(name).DType);

    public override void KeepPagesMapped() => File.KeepsPagesMapped = true;

    public override void ReleaseKeptPages() => File.ReleaseMappedPages();

    public override void Dispose() => File.Dispose();
}

/// <summary>
/// ComfyUI's "scaled fp8" layout: a weight <c>X.weight</c> stored with a sibling <c>X.scale_weight</c> (a float32 scalar,
/// or any shape that broadcasts to the weight) means <c>weight × scale</c>. <c>X.scale_input</c> (an activation scale for
/// fp8 matrix multiplication, meaningless once weights are dequantized) and the <c>scaled_fp8</c> marker tensor are not
/// weights.
/// </summary>
internal sealed class ScaledWeights
{
    public const string ScaleSuffix = ".scale_weight";
    public const string InputScaleSuffix = ".scale_input";
    public const string Marker = "scaled_fp8";

    private ScaledWeights(Dictionary<string, string> scaleOf, HashSet<string> hidden)
    {
        ScaleOf = scaleOf;
        Hidden = hidden;
    }

    /// <summary>Weight key → its scale's key.</summary>
    public IReadOnlyDictionary<string, string> ScaleOf { get; }

    /// <summary>Keys that are not weights once the scales are applied.</summary>
    public IReadOnlySet<string> Hidden { get; }

    /// <summary>True for a key that only a scaled layout has: a weight scale, an input scale or the marker.</summary>
    public static bool IsScaleKey(string key) =>
        key.EndsWith(ScaleSuffix, StringComparison.Ordinal) || key.EndsWith(InputScaleSuffix, StringComparison.Ordinal)
        || key == Marker || key.EndsWith("." + Marker, StringComparison.Ordinal);

    /// <summary>The scaled weights of a checkpoint; every scale must broadcast to its weight's shape.</summary>
    /// <exception cref="CheckpointException">A scale's shape does not fit its weight.</exception>
    public static ScaledWeights Find(string source, IEnumerable<string> keys, Func<string, long[]> shapeOf)
    {
        var all = keys.ToHashSet(StringComparer.Ordinal);
        var scaleOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var hidden = new HashSet<string>(StringComparer.Ordinal);
        var mismatched = new List<string>();
        foreach (string key in all.Order(StringComparer.Ordinal))
        {
            if (key == Marker || key.EndsWith("." + Marker, StringComparison.Ordinal))
            {
                hidden.Add(key);
                continue;
            }

            if (!key.EndsWith(ScaleSuffix, StringComparison.Ordinal))
            {
                continue;
            }

            string layer = key[..^ScaleSuffix.Length];
            string weight = layer + ".weight";
            if (!all.Contains(weight))
            {
                continue;   // an orphan scale stays a key of its own (strict binding then reports it)
            }

            long[] w = shapeOf(weight);
            long[] s = shapeOf(key);
            if (!Broadcasts(s, w))
            {
                mismatched.Add($"{key}: scale [{string.Join(", ", s)}] does not broadcast to weight [{string.Join(", ", w)}]");
                continue;
            }

            scaleOf[weight] = key;
            hidden.Add(key);
            if (all.Contains(layer + InputScaleSuffix))
            {
                hidden.Add(layer + InputScaleSuffix);
            }
        }

        if (mismatched.Count > 0)
        {
            throw new CheckpointException(source, [], [], mismatched);
        }

        return new ScaledWeights(scaleOf, hidden);
    }

    private static bool Broadcasts(long[] scale, long[] weight)
    {
        if (scale.Length > weight.Length)
        {
            return scale.Aggregate(1L, (a, b) => a * b) == 1;
        }

        for (int i = 1; i <= scale.Length; i++)
        {
            long s = scale[^i];
            if (s != 1 && s != weight[^i])
            {
                return false;
            }
        }

        return true;
    }
}
