using Ras.Models.Common;
using static TorchSharp.torch;

namespace Ras.RegionAdaptive;

/// <summary>
/// The <see cref="ITokenRouting"/> of one RAS model call. With <c>index</c> null (a dense step before a
/// RAS step) every token is computed and each layer's K/V cache is refilled; otherwise only the
/// indexed tokens are computed and their fresh K/V overwrite their cache rows.
/// </summary>
internal sealed class RasRouting : ITokenRouting
{
    private readonly KeyValueCaches caches;
    private readonly Tensor? index;   // [B·copies, n] int64, or null for a refill step

    public RasRouting(KeyValueCaches caches, Tensor? index)
    {
        this.caches = caches;
        this.index = index;
    }

    public Tensor GatherImageTokens(Tensor tokens)
    {
        if (index is null)
        {
            return tokens.alias();
        }

        using Tensor expanded = Expand(index, tokens.shape[2]);
        return tokens.gather(1, expanded);                                  // [B, n, D]
    }

    public Tensor ScatterImageTokens(Tensor tokens, long imageTokenCount)
    {
        if (index is null)
        {
            return tokens.alias();
        }

        using Tensor expanded = Expand(index, tokens.shape[2]);
        using Tensor full = zeros([tokens.shape[0], imageTokenCount, tokens.shape[2]], tokens.dtype, tokens.device);
        return full.scatter(1, expanded, tokens);                           // [B, N, F], zeros at cached tokens
    }

    public (Tensor Keys, Tensor Values) MergeImageKeyValues(AttentionSlot slot, Tensor keys, Tensor values)
    {
        if (index is null)
        {
            caches.Fill(slot, keys, values);
            return (keys.alias(), values.alias());
        }

        using Tensor expanded = Expand(index, keys.shape[2]);
        return caches.Update(slot, expanded, keys, values);
    }

    private static Tensor Expand(Tensor index, long width) =>
        index.unsqueeze(-1).expand(index.shape[0], index.shape[1], width);
}
