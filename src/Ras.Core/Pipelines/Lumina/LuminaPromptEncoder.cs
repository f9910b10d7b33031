using Ras.Models.Gemma;
using Ras.Tokenizers.Gemma;
using static TorchSharp.torch;

namespace Ras.Pipelines.Lumina;

/// <summary>Token ids and masks of a Lumina prompt batch: the prompts' rows, then (with guidance) the negative's row.</summary>
/// <param name="Ids"><c>[P (+1), L]</c> int64.</param>
/// <param name="Mask"><c>[P (+1), L]</c> int64, 1 = real token.</param>
/// <param name="Prompts">P, the number of prompt rows.</param>
internal sealed record LuminaPromptTokens(Tensor Ids, Tensor Mask, int Prompts);

/// <summary>
/// Prompt encoding as diffusers' <c>LuminaText2ImgPipeline.encode_prompt</c> (0.32) does it: prompts lower-cased and
/// stripped, tokenized together (padded to a multiple of 8, at most 256); the negative as given, padded to the prompts'
/// length; features = Gemma's penultimate hidden state under the attention mask.
/// </summary>
internal static class LuminaPromptEncoder
{
    /// <summary>
    /// Tokenizes <paramref name="prompts"/> and, when <paramref name="negative"/> is not null, the negative prompt (one row,
    /// shared by every image). Truncated prompts add diffusers' warning to <paramref name="warnings"/>.
    /// </summary>
    public static LuminaPromptTokens Tokenize(GemmaTokenizer tokenizer, IReadOnlyList<string> prompts, string? negative, List<string> warnings, Device? device)
    {
        IReadOnlyList<GemmaTokenizedPrompt> rows = tokenizer.EncodeBatch([.. prompts.Select(LuminaTextPreprocessing.Apply)]);
        foreach (GemmaTokenizedPrompt row in rows.Where(r => r.Truncated))
        {
            warnings.Add($"The following part of your input was truncated because Gemma can only handle sequences up to {GemmaTokenizer.LuminaMaxLength} tokens: {row.RemovedText}");
        }

        int length = rows[0].InputIds.Length;
        List<GemmaTokenizedPrompt> all = [.. rows];
        if (negative is not null)
        {
            // diffusers: padding="max_length", max_length = the prompt embeddings' length; no lower()/strip().
            all.Add(tokenizer.Encode(negative, length));
        }

        Tensor ids = tensor(all.SelectMany(r => r.InputIds.Select(i => (long)i)).ToArray(), [all.Count, length]);
        Tensor mask = tensor(all.SelectMany(r => r.AttentionMask.Select(m => (long)m)).ToArray(), [all.Count, length]);
        return new LuminaPromptTokens(device is null ? ids : ids.to(device), device is null ? mask : mask.to(device), rows.Count);
    }

    /// <summary>Caption features <c>[rows, L, hidden]</c>: <c>hidden_states[-2]</c> of <paramref name="model"/> with the tokens' mask.</summary>
    public static Tensor Encode(GemmaModel model, LuminaPromptTokens tokens) => model.PenultimateHiddenState(tokens.Ids, tokens.Mask);
}
