namespace Ras.Tokenizers;

/// <summary>
/// One prompt as a text encoder receives it: the fixed-length id row, plus what diffusers looks at to decide
/// whether to warn that the prompt was cut.
/// </summary>
/// <param name="InputIds">Exactly the requested length: special tokens, content (truncated if needed) and padding.</param>
/// <param name="UntruncatedIds">The same special tokens around the whole content, without padding or truncation.</param>
/// <param name="Truncated">
/// True when diffusers logs its truncation warning: <c>len(untruncated) ≥ length</c> and the untruncated ids differ
/// from the row (a prompt that fills the row exactly is not truncated).
/// </param>
/// <param name="RemovedText">The decoded text that did not fit, as the warning shows it; null when <paramref name="Truncated"/> is false.</param>
public sealed record TokenizedPrompt(int[] InputIds, int[] UntruncatedIds, bool Truncated, string? RemovedText);
