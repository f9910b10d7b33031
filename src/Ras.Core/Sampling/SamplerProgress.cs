namespace Ras.Sampling;

/// <summary>One finished sampling step, as reported through <see cref="IProgress{T}"/>.</summary>
/// <param name="Step">Zero-based index of the finished step.</param>
/// <param name="Steps">Total steps of the run.</param>
/// <param name="ComputedTokens">Image tokens per image the model computed in this step.</param>
/// <param name="TotalTokens">Image tokens per image.</param>
/// <param name="Elapsed">Time since the run started.</param>
public sealed record SamplerProgress(int Step, int Steps, int ComputedTokens, int TotalTokens, TimeSpan Elapsed);
