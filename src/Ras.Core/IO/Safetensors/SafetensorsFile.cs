using System.Buffers.Binary;
using Ras.Errors;
using Ras.IO.Files;
using Ras.IO.Numerics;
using Ras.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.IO.Safetensors;

/// <summary>
/// A memory-mapped, validated safetensors file. Tensors are materialised one at a time on request,
/// so loading a checkpoint never needs a second full copy in memory. fp8 tensors (<c>F8_E4M3</c>, <c>F8_E5M2</c>) are
/// decoded exactly on the way out.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly MappedFile file;
    private readonly long dataStart;
    private bool disposed;

    private SafetensorsFile(MappedFile file, long dataStart, IReadOnlyDictionary<string, SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        this.file = file;
        this.dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>The file this reader maps.</summary>
    public string FilePath => file.Path;

    /// <summary>The file's size in bytes.</summary>
    public long FileLength => file.Length;

    /// <summary>Every tensor's header entry, by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> strings (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="SafetensorsException">The file is missing, truncated or its header is malformed.</exception>
    public static SafetensorsFile Open(string path)
    {
        MappedFile mapped = MappedFile.Open(path, (problem, inner) => new SafetensorsException(path, null, problem, inner));
        try
        {
            long length = mapped.Length;
            if (length < 8)
            {
                throw new SafetensorsException(path, null, $"file is {length} bytes, too short for the 8-byte header length");
            }

            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(mapped.Pointer, 8));
            if (headerLength > SafetensorsHeader.MaxHeaderBytes || headerLength > (ulong)(length - 8))
            {
                throw new SafetensorsException(path, null,
                    $"header length {headerLength} is impossible for a file of {length} bytes (limit {SafetensorsHeader.MaxHeaderBytes})");
            }

            var json = new ReadOnlySpan<byte>(mapped.Pointer + 8, (int)headerLength);
            long dataStart = 8 + (long)headerLength;
            var (entries, metadata) = SafetensorsHeader.Parse(path, json, length - dataStart);
            return new SafetensorsFile(mapped, dataStart, entries, metadata);
        }
        catch
        {
            mapped.Dispose();
            throw;
        }
    }

    /// <summary>True when the file holds <paramref name="name"/>.</summary>
    public bool Contains(string name) => Entries.ContainsKey(name);

    /// <summary>
    /// Reads a tensor into new CPU memory, as <see cref="SafetensorsEntry.DType"/> (fp8: bfloat16, exact) or converted to
    /// <paramref name="dtype"/> (fp8 to float32 is decoded directly).
    /// </summary>
    /// <exception cref="SafetensorsException">The tensor is absent, or the file changed on disk since it was opened.</exception>
    public Tensor Read(string name, ScalarType? dtype = null)
    {
        SafetensorsEntry entry = Get(name);
        if (entry.IsFloat8)
        {
            Tensor decoded = empty(entry.Shape, dtype ?? entry.DType);
            try
            {
                CopyInto(name, decoded);
                return decoded;
            }
            catch
            {
                decoded.Dispose();
                throw;
            }
        }

        Tensor raw = empty(entry.Shape, entry.DType);
        try
        {
            CopyBytes(entry, raw);
        }
        catch
        {
            raw.Dispose();
            throw;
        }

        if (dtype is null || dtype == entry.DType)
        {
            return raw;
        }

        using (raw)
        {
            return raw.to_type(dtype.Value);
        }
    }

    /// <summary>
    /// Copies a tensor into an existing tensor of the same shape (any dtype, any device), converting as
    /// needed. Used to fill preallocated parameters one at a time.
    /// </summary>
    public void CopyInto(string name, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        SafetensorsEntry entry = Get(name);
        if (!entry.Shape.SequenceEqual(destination.shape))
        {
            throw new SafetensorsException(FilePath, name,
                $"has shape {entry.ShapeText} but [{string.Join(", ", destination.shape)}] is needed");
        }

        using var noGrad = no_grad();
        if (entry.IsFloat8)
        {
            if (!destination.is_floating_point())
            {
                throw new SafetensorsException(FilePath, name, $"is {entry.StoredDType} and cannot be read into a {destination.dtype} tensor");
            }

            DecodeFloat8(entry, destination);
            return;
        }

        if (destination.dtype == entry.DType && destination.device_type == DeviceType.CPU && destination.is_contiguous())
        {
            CopyBytes(entry, destination);
            return;
        }

        using Tensor staged = Read(name);
        destination.copy_(staged);
    }

    /// <summary>The validated entry for <paramref name="name"/>.</summary>
    public SafetensorsEntry Get(string name)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return Entries.TryGetValue(name, out SafetensorsEntry? entry)
            ? entry
            : throw new SafetensorsException(FilePath, name, "not in this file");
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

    private void DecodeFloat8(SafetensorsEntry entry, Tensor destination)
    {
        file.EnsureUnchanged($"reading tensor '{entry.Name}'");
        byte* source = file.Pointer + dataStart + entry.Begin;
        bool e4m3 = entry.StoredDType == "F8_E4M3";
        DecodedCopy.Into(destination, entry.ElementCount, 32, (first, count, target) =>
        {
            if (e4m3)
            {
                FloatDecoding.E4M3ToSingle(source + first, target, count);
            }
            else
            {
                FloatDecoding.E5M2ToSingle(source + first, target, count);
            }

            ReleasePages(source + first, count);
        });
        file.EnsureUnchanged($"reading tensor '{entry.Name}'");
    }

    /// <summary>Whether reads keep the mapped pages they used (see <see cref="MappedFile.KeepsPagesMapped"/>).</summary>
    internal bool KeepsPagesMapped
    {
        get => file.KeepsPagesMapped;
        set => file.KeepsPagesMapped = value;
    }

    /// <summary>Stops keeping pages and releases every page of the mapping.</summary>
    internal void ReleaseMappedPages() => file.ReleaseMappedPages();

    private void ReleasePages(byte* start, long length) => file.ReleasePages(start, length);

    private void CopyBytes(SafetensorsEntry entry, Tensor destination)
    {
        // Tensor.bytes spans at most int.MaxValue bytes: copy large tensors in flat chunks.
        const long chunkBytes = 1L << 30;
        long total = entry.ByteLength;
        if (total == 0)
        {
            return;
        }

        file.EnsureUnchanged($"reading tensor '{entry.Name}'");
        byte* source = file.Pointer + dataStart + entry.Begin;
        long elementSize = total / entry.ElementCount;
        using Tensor flat = destination.view(-1);
        for (long done = 0; done < total; done += chunkBytes)
        {
            long bytes = Math.Min(chunkBytes, total - done);
            using Tensor part = flat.narrow(0, done / elementSize, bytes / elementSize);
            new ReadOnlySpan<byte>(source + done, (int)bytes).CopyTo(part.bytes);
            ReleasePages(source + done, bytes);
        }

        file.EnsureUnchanged($"reading tensor '{entry.Name}'");
    }
}
