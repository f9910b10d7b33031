using Ras.Sampling;

namespace Ras.Pipelines;

/// <summary>
/// An <see cref="IProgress{T}"/> that calls its handler on the reporting thread, at once and in order, so every report (the
/// last step's too) has been handled when <see cref="ITextToImagePipeline.GenerateAsync"/> completes. <see cref="Progress{T}"/>
/// posts each report to the captured synchronization context (or the thread pool), so its handler can run after the
/// generation has completed, or out of order; use it only for UI updates that may lag. The handler runs on the generating
/// thread: keep it short and thread-safe.
/// </summary>
/// <typeparam name="T">The report type, e.g. <see cref="GenerationProgress"/>.</typeparam>
public sealed class SynchronousProgress<T>(Action<T> handler) : IProgress<T>
{
    /// <summary>Calls the handler with <paramref name="value"/> before returning.</summary>
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
