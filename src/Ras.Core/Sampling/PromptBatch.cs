using Ras.Errors;
using static TorchSharp.torch;

namespace Ras.Sampling;

/// <summary>Shape checks and batch broadcasting shared by the families' prompt conditionings.</summary>
internal static class PromptBatch
{
    /// <summary>
    /// <paramref name="embeds"/> of <paramref name="rank"/> dims with batch <paramref name="batch"/> or 1 (shared by every
    /// image, expanded) → <c>[batch, …]</c> in <paramref name="dtype"/>.
    /// </summary>
    /// <exception cref="OptionsException">Wrong rank or a batch that is neither 1 nor <paramref name="batch"/>.</exception>
    public static Tensor Broadcast(Tensor embeds, int batch, string name, int rank, ScalarType dtype)
    {
        if (embeds.dim() != rank)
        {
            throw new OptionsException(name, $"must have {rank} dimensions, found [{string.Join(", ", embeds.shape)}]");
        }

        Tensor converted = embeds.to_type(dtype);
        if (embeds.shape[0] == batch)
        {
            return converted;
        }

        if (embeds.shape[0] == 1)
        {
            long[] shape = [.. embeds.shape];
            shape[0] = batch;
            return converted.expand(shape);
        }

        throw new OptionsException(name, $"batch {embeds.shape[0]} does not match the latent batch {batch} (use 1 to share one prompt)");
    }

    /// <summary>Throws unless <paramref name="actual"/> has the same shape as <paramref name="expected"/> beyond the batch dim.</summary>
    public static void RequireSameShape(Tensor actual, string actualName, Tensor expected, string expectedName)
    {
        if (!actual.shape.Skip(1).SequenceEqual(expected.shape.Skip(1)))
        {
            throw new OptionsException(actualName,
                $"shape [{string.Join(", ", actual.shape)}] does not match {expectedName} [{string.Join(", ", expected.shape)}]");
        }
    }
}
