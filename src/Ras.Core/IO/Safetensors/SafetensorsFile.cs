using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;
using Ras.Native;
using Ras.Errors;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.IO.Safetensors;

/// <summary>
/// A memory-mapped, validated safetensors file. Tensors are materialised one at a time on request,
/// so loading a checkpoint never needs a second full copy in memory.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly MemoryMappedFile map;
    private readonly MemoryMappedViewAccessor view;
    private readonly byte* basePointer;
    private readonly long dataStart;
    private bool disposed;

    private SafetensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, long dataStart,
        IReadOnlyDictionary<string, SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        FilePath = path;
        this.map = map;
        this.view = view;
        this.dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        basePointer = pointer + view.PointerOffset;
    }

    /// <summary>The file this reader maps.</summary>
    public string FilePath { get; }

    /// <summary>Every tensor's header entry, by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> strings (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="SafetensorsException">The file is missing, truncated or its header is malformed.</exception>
    public static SafetensorsFile Open(string path)
    {
        long length;
        try
        {
            // The length of what the path resolves to: FileInfo.Length of a symbolic link is the link's own size
            // (the Hugging Face cache links every snapshot file to a blob).
            using SafeFileHandle handle = File.OpenHandle(path);
            length = RandomAccess.GetLength(handle);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SafetensorsException(path, null, "file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SafetensorsException(path, null, $"cannot open ({e.Message})", e);
        }

        if (length < 8)
        {
            throw new SafetensorsException(path, null, $"file is {length} bytes, too short for the 8-byte header length");
        }

        MemoryMappedFile map;
        try
        {
            map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SafetensorsException(path, null, $"cannot open ({e.Message})", e);
        }

        MemoryMappedViewAccessor? view = null;
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            try
            {
                var start = new ReadOnlySpan<byte>(pointer + view.PointerOffset, 8);
                ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(start);
                if (headerLength > SafetensorsHeader.MaxHeaderBytes || headerLength > (ulong)(length - 8))
                {
                    throw new SafetensorsException(path, null,
                        $"header length {headerLength} is impossible for a file of {length} bytes (limit {SafetensorsHeader.MaxHeaderBytes})");
                }

                var json = new ReadOnlySpan<byte>(pointer + view.PointerOffset + 8, (int)headerLength);
                long dataStart = 8 + (long)headerLength;
                var (entries, metadata) = SafetensorsHeader.Parse(path, json, length - dataStart);
                return new SafetensorsFile(path, map, view, dataStart, entries, metadata);
            }
            finally
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
            }
        }
        catch
        {
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    /// <summary>True when the file holds <paramref name="name"/>.</summary>
    public bool Contains(string name) => Entries.ContainsKey(name);

    /// <summary>Reads a tensor into new CPU memory, in its stored dtype or converted to <paramref name="dtype"/>.</summary>
    /// <exception cref="SafetensorsException">The tensor is absent.</exception>
    public Tensor Read(string name, ScalarType? dtype = null)
    {
        SafetensorsEntry entry = Get(name);
        Tensor raw = empty(entry.Shape, entry.DType);
        CopyBytes(entry, raw);
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
        SafetensorsEntry entry = Get(name);
        if (!entry.Shape.SequenceEqual(destination.shape))
        {
            throw new SafetensorsException(FilePath, name,
                $"has shape {entry.ShapeText} but [{string.Join(", ", destination.shape)}] is needed");
        }

        using var noGrad = no_grad();
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
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        map.Dispose();
    }

    private void CopyBytes(SafetensorsEntry entry, Tensor destination)
    {
        // Tensor.bytes spans at most int.MaxValue bytes: copy large tensors in flat chunks.
        const long chunkBytes = 1L << 30;
        byte* source = basePointer + dataStart + entry.Begin;
        long total = entry.ByteLength;
        if (total == 0)
        {
            return;
        }

        long elementSize = total / entry.ElementCount;
        using Tensor flat = destination.view(-1);
        for (long done = 0; done < total; done += chunkBytes)
        {
            long bytes = Math.Min(chunkBytes, total - done);
            using Tensor part = flat.narrow(0, done / elementSize, bytes / elementSize);
            new ReadOnlySpan<byte>(source + done, (int)bytes).CopyTo(part.bytes);
            MappedPages.Release(source + done, bytes);
        }
    }
}
