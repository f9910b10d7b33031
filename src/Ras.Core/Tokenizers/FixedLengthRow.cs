namespace Ras.Tokenizers;

/// <summary>
/// Builds the fixed-length row transformers returns for <c>tok(text, padding="max_length", max_length=L,
/// truncation=True)</c>, and the untruncated ids of <c>tok(text, padding="longest")</c>, from a prompt's content ids.
/// </summary>
internal static class FixedLengthRow
{
    /// <summary>
    /// <paramref name="prefix"/> + content + <paramref name="suffix"/>, the content cut to fit <paramref name="length"/>
    /// (from <paramref name="truncationSide"/>), then padded with <paramref name="padId"/> on <paramref name="paddingSide"/>.
    /// </summary>
    /// <param name="content">The prompt's ids without special tokens.</param>
    /// <param name="prefix">Special ids before the content (CLIP's BOS).</param>
    /// <param name="suffix">Special ids after the content (EOS).</param>
    /// <param name="padId">The padding id.</param>
    /// <param name="length">The row length.</param>
    /// <param name="paddingSide">Where padding goes.</param>
    /// <param name="truncationSide">Which end of the content truncation cuts.</param>
    /// <param name="removedStart">Start index, in the untruncated ids, of the slice diffusers decodes for its warning (the slice ends before the last id).</param>
    public static (int[] Row, int[] Untruncated, bool Truncated, int[] Removed) Build(
        IReadOnlyList<int> content, int[] prefix, int[] suffix, int padId, int length,
        SequenceSide paddingSide, SequenceSide truncationSide, int removedStart)
    {
        int specials = prefix.Length + suffix.Length;
        if (length < specials)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"must be at least {specials} (the special tokens)");
        }

        int[] untruncated = [.. prefix, .. content, .. suffix];

        int keep = Math.Min(content.Count, length - specials);
        int skip = truncationSide == SequenceSide.Left ? content.Count - keep : 0;
        int[] kept = [.. prefix, .. content.Skip(skip).Take(keep), .. suffix];
        int[] row = new int[length];
        Array.Fill(row, padId);
        kept.CopyTo(row, paddingSide == SequenceSide.Left ? length - kept.Length : 0);

        // diffusers: `if untruncated_ids.shape[-1] >= text_input_ids.shape[-1] and not torch.equal(text_input_ids,
        // untruncated_ids)` then it logs batch_decode(untruncated_ids[:, removedStart:-1]).
        bool truncated = untruncated.Length >= length && !untruncated.AsSpan().SequenceEqual(row);
        int[] removed = truncated && removedStart < untruncated.Length - 1 ? untruncated[removedStart..^1] : [];
        return (row, untruncated, truncated, removed);
    }
}
