using Ras.Errors;
using Ras.IO.Files;
using Ras.IO.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.IO.Gguf;

/// <summary>
/// A memory-mapped, validated GGUF file (versions 2 and 3): its metadata, its tensor infos (shapes row-major: <c>ne</c>
/// reversed) and their data, dequantized to float32 on request one tensor (or chunk) at a time, so reading a checkpoint
/// never needs a float32 copy of the whole file.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    /// <summary>The metadata key naming the model's architecture (<c>flux</c>, <c>sd3</c>, …).</summary>
    public const string ArchitectureKey = "general.architecture";

    private readonly MappedFile file;
    private readonly Dictionary<string, GgufTensorInfo> byName;
    private readonly Dictionary<string, GgufValue> metadataByKey;
    private bool disposed;

    private GgufFile(MappedFile file, GgufHeader header)
    {
        this.file = file;
        Version = header.Version;
        Alignment = header.Alignment;
        DataOffset = header.DataOffset;
        Metadata = header.Metadata;
        Tensors = header.Tensors;
        byName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        metadataByKey = header.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    /// <summary>The file this reader maps.</summary>
    public string FilePath => file.Path;

    /// <summary>Whether reads keep the mapped pages they used (see <see cref="MappedFile.KeepsPagesMapped"/>).</summary>
    internal bool KeepsPagesMapped
    {
        get => file.KeepsPagesMapped;
        set => file.KeepsPagesMapped = value;
    }

    /// <summary>The file's size in bytes.</summary>
    public long FileLength => file.Length;

    /// <summary>The format version (2 or 3).</summary>
    public uint Version { get; }

    /// <summary>The data alignment (<c>general.alignment</c>, default 32).</summary>
    public long Alignment { get; }

    /// <summary>Where the data section starts, from the start of the file.</summary>
    public long DataOffset { get; }

    /// <summary>Every metadata pair, in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata { get; }

    /// <summary>Every tensor info, in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>The <c>general.architecture</c> string, or null when absent or not a string.</summary>
    public string? Architecture => TryGetMetadata(ArchitectureKey, out GgufValue? v) && v.Value is string s ? s : null;

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="GgufException">The file is missing, truncated, malformed or unsupported (the message says which and where).</exception>
    public static GgufFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        MappedFile mapped = MappedFile.Open(path, (problem, inner) => new GgufException(path, null, problem, inner));
        try
        {
            return new GgufFile(mapped, GgufHeader.Parse(path, mapped.Pointer, mapped.Length));
        }
        catch
        {
            mapped.Dispose();
            throw;
        }
    }

    /// <summary>True when the file holds a tensor <paramref name="name"/>.</summary>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>The metadata value of <paramref name="key"/>, when present.</summary>
    public bool TryGetMetadata(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out GgufValue? value) =>
        metadataByKey.TryGetValue(key, out value);

    /// <summary>The validated info of <paramref name="name"/>.</summary>
    /// <exception cref="GgufException">No such tensor.</exception>
    public GgufTensorInfo Get(string name)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return byName.TryGetValue(name, out GgufTensorInfo? info) ? info : throw new GgufException(FilePath, GgufException.Tensor(name), "not in this file");
    }

    /// <summary>Reads <paramref name="name"/> into a new CPU tensor of its row-major shape, dequantized to <paramref name="dtype"/> (float32 by default).</summary>
    /// <exception cref="GgufException">No such tensor, a type this reader does not dequantize, or the file changed on disk.</exception>
    public Tensor Read(string name, ScalarType dtype = ScalarType.Float32)
    {
        GgufTensorInfo info = Get(name);
        Tensor result = empty(info.Shape, dtype);
        try
        {
            CopyInto(name, result);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Dequantizes <paramref name="name"/> into <paramref name="destination"/> (same shape; any float dtype, any device).
    /// F16/BF16 tensors going to the same dtype are copied byte for byte; everything else is decoded to float32 (exact)
    /// and converted by <c>copy_</c>.
    /// </summary>
    /// <exception cref="GgufException">As <see cref="Read"/>, or a shape mismatch.</exception>
    public void CopyInto(string name, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        GgufTensorInfo info = Get(name);
        string subject = GgufException.Tensor(name);
        if (!info.Shape.SequenceEqual(destination.shape))
        {
            throw new GgufException(FilePath, subject, $"has shape {info.ShapeText} but [{string.Join(", ", destination.shape)}] is needed");
        }

        if (!GgufTensorTypes.IsSupported(info.Type))
        {
            throw new GgufException(FilePath, subject, $"has type {info.Type} ({(int)info.Type}), which this reader does not dequantize (supported: {GgufTensorTypes.SupportedNames})");
        }

        if (!destination.is_floating_point())
        {
            throw new GgufException(FilePath, subject, $"cannot be read into a {destination.dtype} tensor (a float dtype is needed)");
        }

        file.EnsureUnchanged($"reading tensor '{name}'");
        byte* data = file.Pointer + DataOffset + info.Offset;
        ScalarType? stored = info.Type switch
        {
            GgufTensorType.F32 => ScalarType.Float32,
            GgufTensorType.F16 => ScalarType.Float16,
            GgufTensorType.BF16 => ScalarType.BFloat16,
            _ => null,
        };
        using (no_grad())
        {
            if (stored == destination.dtype && destination.device_type == DeviceType.CPU && destination.is_contiguous())
            {
                CopyRaw(data, info.ByteLength, destination);
            }
            else
            {
                GgufTensorType type = info.Type;
                long blockElements = GgufTensorTypes.BlockElements(type);
                long blockBytes = GgufTensorTypes.BlockBytes(type);
                DecodedCopy.Into(destination, info.ElementCount, blockElements, (first, count, target) =>
                {
                    byte* source = data + first / blockElements * blockBytes;
                    long bytes = count / blockElements * blockBytes;
                    GgufDequantizer.Dequantize(type, source, target, count);
                    ReleasePages(source, bytes);
                });
            }
        }

        file.EnsureUnchanged($"reading tensor '{name}'");
    }

    /// <summary>
    /// Dequantizes rows <paramref name="start"/> … <paramref name="start"/> + <c>destination.shape[0]</c> − 1 (along dim 0)
    /// of <paramref name="name"/> into <paramref name="destination"/> (the other dims as stored; any float dtype and device).
    /// Rows are whole quantization blocks, so only their bytes are read: a fused projection's part costs its own size.
    /// </summary>
    /// <exception cref="GgufException">As <see cref="CopyInto"/>, or rows outside the tensor.</exception>
    public void CopyRowsInto(string name, long start, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        GgufTensorInfo info = Get(name);
        string subject = GgufException.Tensor(name);
        long rows = destination.shape.Length == 0 ? 0 : destination.shape[0];
        if (info.Shape.Length == 0 || destination.shape.Length != info.Shape.Length || !info.Shape.Skip(1).SequenceEqual(destination.shape.Skip(1))
            || start < 0 || rows < 0 || start + rows > info.Shape[0])
        {
            throw new GgufException(FilePath, subject, $"has shape {info.ShapeText}: rows {start}..{start + rows} of shape [{string.Join(", ", destination.shape)}] are not in it");
        }

        if (!GgufTensorTypes.IsSupported(info.Type) || !destination.is_floating_point())
        {
            CopyInto(name, destination);   // the same checks and messages
            return;
        }

        long rowElements = info.Shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        long first = start * rowElements;
        GgufTensorType type = info.Type;
        long blockElements = GgufTensorTypes.BlockElements(type);
        long blockBytes = GgufTensorTypes.BlockBytes(type);
        file.EnsureUnchanged($"reading tensor '{name}'");
        byte* data = file.Pointer + DataOffset + info.Offset + first / blockElements * blockBytes;
        using (no_grad())
        {
            DecodedCopy.Into(destination, rows * rowElements, blockElements, (offset, count, target) =>
            {
                byte* source = data + offset / blockElements * blockBytes;
                GgufDequantizer.Dequantize(type, source, target, count);
                ReleasePages(source, count / blockElements * blockBytes);
            });
        }

        file.EnsureUnchanged($"reading tensor '{name}'");
    }

    /// <summary>
    /// Dequantizes <paramref name="elements"/> values of <paramref name="name"/> from flat element <paramref name="first"/>
    /// (both multiples of the type's block size) to float32 at <paramref name="destination"/>: for callers that work a row
    /// block at a time.
    /// </summary>
    internal void Dequantize(string name, long first, long elements, float* destination)
    {
        GgufTensorInfo info = Get(name);
        long blockElements = GgufTensorTypes.BlockElements(info.Type);
        if (first < 0 || elements < 0 || first % blockElements != 0 || elements % blockElements != 0 || first + elements > info.ElementCount)
        {
            throw new ArgumentOutOfRangeException(nameof(elements), $"[{first}, {first + elements}) is not a block-aligned range of {info.ElementCount} elements");
        }

        file.EnsureUnchanged($"reading tensor '{name}'");
        byte* source = file.Pointer + DataOffset + info.Offset + first / blockElements * GgufTensorTypes.BlockBytes(info.Type);
        GgufDequantizer.Dequantize(info.Type, source, destination, elements);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        file.Dispose();
    }

    /// <summary>Stops keeping pages and releases every page of the mapping.</summary>
    internal void ReleaseMappedPages() => file.ReleaseMappedPages();

    private void ReleasePages(byte* start, long length) => file.ReleasePages(start, length);

    private void CopyRaw(byte* source, long total, Tensor destination)
    {
        // Tensor.bytes spans at most int.MaxValue bytes: copy large tensors in flat chunks.
        const long chunkBytes = 1L << 30;
        if (total == 0)
        {
            return;
        }

        long elementSize = destination.ElementSize;
        using Tensor flat = destination.view(-1);
        for (long done = 0; done < total; done += chunkBytes)
        {
            long bytes = Math.Min(chunkBytes, total - done);
            using Tensor part = flat.narrow(0, done / elementSize, bytes / elementSize);
            new ReadOnlySpan<byte>(source + done, (int)bytes).CopyTo(part.bytes);
            ReleasePages(source + done, bytes);
        }
    }
}
