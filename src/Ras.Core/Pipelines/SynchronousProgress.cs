using Ras.Sampling;

namespace Ras.Pipelines;

/// <summary>
/// An <see cref="IProgress{T}"/> that calls its handler on the reporting thread, in order (<see cref="Progress{T}"/>
/// posts to the captured context, so reports could arrive late or out of order).
/// </summary>
internal sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}

/// <summary>Adapters between sampler and pipeline progress.</summary>
internal static class SynchronousProgress
{
    /// <summary>Sampler steps as <see cref="GenerationStage.Denoise"/> reports (1-based finished steps); null when nobody listens.</summary>
    public static IProgress<SamplerProgress>? ForDenoise(IProgress<GenerationProgress>? progress) =>
        progress is null ? null : new SynchronousProgress<SamplerProgress>(p =>
            progress.Report(new GenerationProgress(GenerationStage.Denoise, p.Step + 1, p.Steps, p.ComputedTokens, p.TotalTokens, p.Elapsed, p.Preview)));
}
