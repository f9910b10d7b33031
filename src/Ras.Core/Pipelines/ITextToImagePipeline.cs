using Ras.RegionAdaptive;
using Ras.Sampling;

namespace Ras.Pipelines;

/// <summary>
/// A text-to-image pipeline of any family. Generation runs on a worker thread; progress is reported per stage
/// and per sampler step, and cancellation is honoured between steps.
/// </summary>
public interface ITextToImagePipeline : IDisposable
{
    /// <summary>Family and source, for messages (e.g. <c>SD3 (folder /models/sd3)</c>).</summary>
    string Description { get; }

    /// <summary>The model's family.</summary>
    ModelFamily Family { get; }

    /// <summary>The family's defaults.</summary>
    PipelineDefaults Defaults { get; }

    /// <summary>
    /// Generates the images of <paramref name="request"/>. Reports go to <paramref name="progress"/> from the generating thread, in
    /// order, each before the work continues; with a <see cref="SynchronousProgress{T}"/> every report has been handled when the
    /// task completes (a <see cref="Progress{T}"/> posts them, so the last may be handled later).
    /// </summary>
    /// <exception cref="Errors.OptionsException">An invalid or unsupported setting (the message names it).</exception>
    /// <exception cref="Errors.RasInputException">A component that cannot be loaded.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task<ImageGeneration> GenerateAsync(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="GenerateAsync"/> on the calling thread. A long-lived caller (a server's worker) that always generates on the
    /// same thread keeps libtorch's and the allocator's per-thread caches on that one thread instead of on every pool thread.
    /// </summary>
    ImageGeneration Generate(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default);
}

/// <summary>A family's defaults and limits.</summary>
/// <param name="Steps">Default denoising steps.</param>
/// <param name="GuidanceScale">Default guidance scale (its meaning: <paramref name="GuidanceKind"/>).</param>
/// <param name="Width">Native width in pixels.</param>
/// <param name="Height">Native height in pixels.</param>
/// <param name="SizeMultiple">Width and height must be multiples of this (VAE factor × patch size).</param>
/// <param name="MaxSize">Largest edge the position table covers.</param>
/// <param name="RecommendedRas">What <c>--ras</c> turns on; explicit options override it.</param>
/// <param name="SupportsImageToImage">True when <see cref="ImageRequest.InitImage"/> is accepted.</param>
/// <param name="RecommendedRasForSize">
/// For families whose recommendation depends on the image size (Lumina's skip ramp scales with the token count): the
/// recommendation for a width and height in pixels; null when <paramref name="RecommendedRas"/> fits every size.
/// </param>
/// <param name="GuidanceKind">What the guidance scale is: classifier-free (SD3, Lumina, ras-shapes), embedded (FLUX.1-dev) or none.</param>
/// <param name="RecommendedRasSteps">
/// The step count <c>--ras</c> uses when none is given, for a preset that combines RAS with fewer steps (ras-shapes); null =
/// <paramref name="Steps"/>. Its compute is still compared with dense at <paramref name="Steps"/>.
/// </param>
public sealed record PipelineDefaults(int Steps, double GuidanceScale, int Width, int Height, int SizeMultiple, int MaxSize, RasOptions RecommendedRas,
    bool SupportsImageToImage, Func<int, int, RasOptions>? RecommendedRasForSize = null, GuidanceKind GuidanceKind = GuidanceKind.ClassifierFree,
    int? RecommendedRasSteps = null)
{
    /// <summary>What <c>--ras</c> turns on for a <paramref name="width"/>×<paramref name="height"/> pixel image.</summary>
    public RasOptions RecommendedRasFor(int width, int height) => RecommendedRasForSize?.Invoke(width, height) ?? RecommendedRas;

    /// <summary>Throws unless <paramref name="value"/> pixels is a multiple of <see cref="SizeMultiple"/> within <see cref="SizeMultiple"/>…<see cref="MaxSize"/>.</summary>
    /// <exception cref="Errors.OptionsException">It is not (named <paramref name="option"/>).</exception>
    public void ValidateSize(string option, int value)
    {
        if (value < SizeMultiple || value % SizeMultiple != 0 || value > MaxSize)
        {
            throw new Errors.OptionsException(option, $"must be a multiple of {SizeMultiple} between {SizeMultiple} and {MaxSize} pixels (the model's position limit), found {value}");
        }
    }
}
