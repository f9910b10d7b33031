using static TorchSharp.torch;

namespace Ras.Models.Common;

/// <summary>
/// One float32 arena the blocks' weights are written into at use (<see cref="UpcastOnUse"/>): it grows to the largest
/// block once and is reused by every block after, so a forward allocates (and the kernel zero-fills) no new weight
/// memory block after block. A second block in use at the same time (never the case in our models) gets fresh tensors.
/// </summary>
internal sealed class BlockScratch : IDisposable
{
    private Tensor? arena;
    private bool lent;

    /// <summary>Bytes the arena holds.</summary>
    public long Bytes => arena is null ? 0 : arena.NumberOfElements * 4;

    /// <summary>Float32 tensors of <paramref name="shapes"/>, contiguous, contents undefined until written; dispose the lease to give them back.</summary>
    public Lease Rent(IReadOnlyList<long[]> shapes)
    {
        long[] sizes = shapes.Select(s => s.Aggregate(1L, (a, b) => a * b)).ToArray();
        if (lent)
        {
            return new Lease(this, [.. shapes.Select(s => empty(s, ScalarType.Float32).DetachFromDisposeScope())], fromArena: false);
        }

        long total = sizes.Sum();
        if (arena is null || arena.NumberOfElements < total)
        {
            arena?.Dispose();
            arena = empty(total, ScalarType.Float32).DetachFromDisposeScope();
        }

        lent = true;
        var views = new List<Tensor>(shapes.Count);
        long offset = 0;
        for (int i = 0; i < shapes.Count; i++)
        {
            using Tensor slice = arena.narrow(0, offset, sizes[i]);
            views.Add(slice.view(shapes[i]).DetachFromDisposeScope());
            offset += sizes[i];
        }

        return new Lease(this, views, fromArena: true);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        arena?.Dispose();
        arena = null;
    }

    /// <summary>Tensors lent by <see cref="Rent"/>.</summary>
    internal sealed class Lease(BlockScratch owner, IReadOnlyList<Tensor> tensors, bool fromArena) : IDisposable
    {
        private bool returned;

        public IReadOnlyList<Tensor> Tensors => tensors;

        public void Dispose()
        {
            if (returned)
            {
                return;
            }

            returned = true;
            foreach (Tensor tensor in tensors)
            {
                tensor.Dispose();   // views: the arena keeps the memory; fresh tensors: freed
            }

            if (fromArena)
            {
                owner.lent = false;
            }
        }
    }
}
