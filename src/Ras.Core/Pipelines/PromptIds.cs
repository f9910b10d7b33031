using Ras.Tokenizers;
using Ras.Tokenizers.Clip;
using Ras.Tokenizers.T5;
using static TorchSharp.torch;

namespace Ras.Pipelines;

/// <summary>Token id tensors for the CLIP and T5 towers, with diffusers' truncation warnings.</summary>
internal static class PromptIds
{
    /// <summary><c>[texts, 77]</c> CLIP ids; truncated prompts add diffusers' warning to <paramref name="warnings"/> (when given).</summary>
    public static Tensor Clip(CLIPTokenizer tokenizer, IReadOnlyList<string> texts, List<string>? warnings, Device? device)
    {
        var rows = texts.Select(t => tokenizer.Encode(t)).ToList();
        foreach (TokenizedPrompt row in rows.Where(r => r.Truncated))
        {
            warnings?.Add($"The following part of your input was truncated because CLIP can only handle sequences up to {tokenizer.ModelMaxLength} tokens: {row.RemovedText}");
        }

        return IdTensor(rows, device);
    }

    /// <summary>Longest T5 sequence diffusers' pipelines accept.</summary>
    public const int MaxT5Length = 512;

    /// <summary><paramref name="requested"/> T5 tokens, or <paramref name="fallback"/>; checked against 1…<see cref="MaxT5Length"/>.</summary>
    /// <exception cref="Errors.OptionsException">Out of range (named <c>max-sequence-length</c>).</exception>
    public static int T5Length(int? requested, int fallback)
    {
        int length = requested ?? fallback;
        return length is >= 1 and <= MaxT5Length ? length
            : throw new Errors.OptionsException("max-sequence-length", $"must be between 1 and {MaxT5Length}, found {length}");
    }

    /// <summary><c>[texts, maxLength]</c> T5 ids; truncated prompts add diffusers' warning.</summary>
    public static Tensor T5(T5Tokenizer tokenizer, IReadOnlyList<string> texts, int maxLength, List<string> warnings, Device? device)
    {
        var rows = texts.Select(t => tokenizer.Encode(t, maxLength)).ToList();
        foreach (TokenizedPrompt row in rows.Where(r => r.Truncated))
        {
            warnings.Add($"The following part of your input was truncated because `max_sequence_length` is set to {maxLength} tokens: {row.RemovedText}");
        }

        return IdTensor(rows, device);
    }

    private static Tensor IdTensor(List<TokenizedPrompt> rows, Device? device)
    {
        long[] ids = rows.SelectMany(r => r.InputIds.Select(i => (long)i)).ToArray();
        Tensor cpu = tensor(ids, [rows.Count, rows[0].InputIds.Length]);
        return device is null ? cpu : cpu.to(device);
    }
}
