namespace Ras.Tokenizers.Gemma;

/// <summary>One prompt as Gemma receives it: the padded id row, its attention mask, and what diffusers checks for its truncation warning.</summary>
/// <param name="InputIds">Special tokens, content (truncated if needed) and padding; the row length the call asked for.</param>
/// <param name="AttentionMask">1 for every id that is not padding, 0 for padding; as long as <paramref name="InputIds"/>.</param>
/// <param name="UntruncatedIds">The same special tokens around the whole content, without padding or truncation.</param>
/// <param name="Truncated">
/// True when diffusers logs its truncation warning: <c>len(untruncated) ≥ len(row)</c> and they differ (content was cut).
/// </param>
/// <param name="RemovedText">The decoded ids the warning shows; null when <paramref name="Truncated"/> is false.</param>
public sealed record GemmaTokenizedPrompt(int[] InputIds, int[] AttentionMask, int[] UntruncatedIds, bool Truncated, string? RemovedText);
