using Ras.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.IO.Numerics;

/// <summary>Writes <paramref name="count"/> float32 values, starting at flat element <paramref name="first"/>, to <paramref name="destination"/>.</summary>
internal unsafe delegate void DecodeChunk(long first, long count, float* destination);

/// <summary>
/// Fills a tensor of any float dtype and device from a decoder that produces float32 (dequantization, fp8 decoding), a
/// bounded chunk at a time: straight into the tensor's memory when it is a contiguous float32 CPU tensor, otherwise
/// through one reused float32 scratch chunk that <c>copy_</c> converts.
/// </summary>
internal static unsafe class DecodedCopy
{
    /// <summary>Elements per chunk (16 MiB of float32).</summary>
    private const long ChunkElements = 1L << 22;

    /// <summary>Elements per parallel chunk when decoding in place (1 MiB of float32: small enough to share a block's matrices among cores).</summary>
    private const long ParallelChunkElements = 1L << 18;

    /// <summary>
    /// Decodes <paramref name="elements"/> values into <paramref name="destination"/> (same element count). Chunks start at
    /// multiples of <paramref name="granule"/> (a quantization block), so the decoder never splits a block.
    /// </summary>
    public static void Into(Tensor destination, long elements, long granule, DecodeChunk decode)
    {
        if (elements == 0)
        {
            return;
        }

        using var noGrad = no_grad();
        long chunk = Math.Max(granule, ChunkElements / granule * granule);
        if (!destination.is_contiguous())
        {
            using Tensor staged = empty(destination.shape, ScalarType.Float32);
            Into(staged, elements, granule, decode);
            destination.copy_(staged);
            return;
        }

        using Tensor flat = destination.view(-1);
        if (destination.dtype == ScalarType.Float32 && destination.device_type == DeviceType.CPU)
        {
            DecodeInPlace(flat, elements, granule, decode);
            return;
        }

        using Tensor scratch = empty(Math.Min(chunk, elements), ScalarType.Float32);
        for (long first = 0; first < elements; first += chunk)
        {
            long count = Math.Min(chunk, elements - first);
            using Tensor part = flat.narrow(0, first, count);
            using Tensor staged = scratch.narrow(0, 0, count);
            fixed (byte* target = staged.bytes)
            {
                decode(first, count, (float*)target);
            }

            part.copy_(staged);
        }
    }

    /// <summary>
    /// Decodes straight into a contiguous float32 CPU tensor, in parallel chunks on every core: dequantizing a block's
    /// weights at each use (packed storage) is on the forward's critical path, and the decoders are pure functions of
    /// their chunk, so the chunks are independent.
    /// </summary>
    private static void DecodeInPlace(Tensor flat, long elements, long granule, DecodeChunk decode)
    {
        long chunk = Math.Max(granule, ParallelChunkElements / granule * granule);
        int chunks = (int)((elements + chunk - 1) / chunk);
        var targets = new nint[chunks];
        for (int i = 0; i < chunks; i++)
        {
            long first = i * chunk;
            using Tensor part = flat.narrow(0, first, Math.Min(chunk, elements - first));
            fixed (byte* target = part.bytes)
            {
                targets[i] = (nint)target;   // native memory: the address stays valid while the tensor lives
            }
        }

        if (chunks == 1)
        {
            decode(0, elements, (float*)targets[0]);
            return;
        }

        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            long first = i * chunk;
            decode(first, Math.Min(chunk, elements - first), (float*)targets[i]);
        });
    }

    /// <summary>Releases the mapped source pages of a decoded chunk (see <see cref="MappedPages"/>).</summary>
    public static void Release(byte* start, long length) => MappedPages.Release(start, length);
}
