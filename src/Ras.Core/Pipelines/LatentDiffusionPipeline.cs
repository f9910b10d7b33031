using System.Diagnostics;
using Ras.Errors;
using Ras.IO.Images;
using Ras.Models.Common;
using Ras.Models.Vae;
using Ras.Native;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using static TorchSharp.torch;

namespace Ras.Pipelines;

/// <summary>
/// The recipe every latent-diffusion family runs, with the family's parts as hooks: (1) resolve and validate the request,
/// (2) encode the prompts with the family's text encoders, (3) one noise draw (image-to-image: the VAE latents of the input,
/// noised to the first step's sigma), (4) the shared flow-matching Euler loop with the family's denoiser and a
/// <see cref="RasSession"/>, (5) VAE decode. Components are loaded by the hooks when their stage starts and freed when it
/// ends, so only one large model is resident at a time.
/// </summary>
public abstract class LatentDiffusionPipeline : ITextToImagePipeline
{
    /// <summary>Creates the pipeline for <paramref name="device"/> (null = CPU).</summary>
    protected LatentDiffusionPipeline(Device? device)
    {
        Device = device;
    }

    /// <inheritdoc />
    public abstract string Description { get; }

    /// <inheritdoc />
    public abstract ModelFamily Family { get; }

    /// <inheritdoc />
    public abstract PipelineDefaults Defaults { get; }

    /// <summary>Pixels per latent pixel (the VAE's downsampling).</summary>
    public abstract int VaeScaleFactor { get; }

    /// <summary>Where the pipeline computes (null = CPU).</summary>
    protected Device? Device { get; }

    /// <summary>Channels of the latents the transformer denoises.</summary>
    protected abstract int LatentChannels { get; }

    /// <summary>Latent pixels per token edge.</summary>
    protected abstract int PatchSize { get; }

    /// <summary>The scheduler config of the family's folder.</summary>
    protected abstract FlowMatchEulerDiscreteSchedulerConfig SchedulerConfig { get; }

    /// <summary>What the request's guidance scale means for this model.</summary>
    protected virtual GuidanceKind GuidanceKind => GuidanceKind.ClassifierFree;

    /// <summary>True when the VAE decoder gets <c>latents / scaling_factor + shift_factor</c> (SD3, FLUX.1), false for <c>latents / scaling_factor</c> (Lumina).</summary>
    protected abstract bool VaeShift { get; }

    /// <inheritdoc />
    public Task<ImageGeneration> GenerateAsync(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(request, progress, cancellationToken), cancellationToken);

    /// <summary>Synchronous <see cref="GenerateAsync"/> (on the calling thread).</summary>
    public ImageGeneration Generate(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        RunPlan plan = Resolve(request);
        var warnings = new List<string>();
        var timings = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        using var inference = inference_mode();
        using var scope = NewDisposeScope();

        // 1. Prompts: the family's text encoders, each loaded, used and freed; arranged as the model batch.
        using IDisposable conditioning = EncodePrompts(request, plan, warnings, progress, cancellationToken);
        timings["encode"] = clock.Elapsed.TotalSeconds;

        // 2. One noise draw for the whole batch (image-to-image: the input's latents noised to the first step's sigma).
        clock.Restart();
        Tensor latents = InitialLatents(request, plan, cancellationToken);

        // 3. The Euler loop with the transformer loaded for this stage only.
        using var session = new RasSession(plan.Ras);
        (IDenoiser denoiser, IDisposable model) = LoadDenoiser(conditioning, plan);
        using (model)
        using (model is IStreamedBlocks blocks ? CancelBetweenBlocks.Install(blocks, cancellationToken) : null)   // a step can take minutes
        {
            latents = FlowMatchEulerSampler.Sample(denoiser, plan.Schedule, latents, plan.Sampler, session, SynchronousProgress.ForDenoise(progress), cancellationToken);
        }

        NativeHeap.ReleaseGarbage();   // the loop's finalizer-only native objects (see there) and freed pages, before the VAE allocates
        timings["denoise"] = clock.Elapsed.TotalSeconds;

        // 4. Pixels.
        clock.Restart();
        List<byte[]> images;
        using (AutoencoderKL vae = LoadVae())
        {
            images = PipelineStages.Decode(vae, latents, VaeShift, progress, cancellationToken);
        }

        timings["decode"] = clock.Elapsed.TotalSeconds;
        int stepsRun = plan.Sampler.Steps - plan.Sampler.StartStep;
        var settings = new ResolvedSettings(plan.Sampler.Steps, stepsRun, plan.GuidanceScale, plan.Scheduler.Config.Shift, plan.Ras.ResolvedFor(stepsRun), plan.Extras);
        return new ImageGeneration(images, plan.Width, plan.Height, settings, [.. session.Records], session.TokenComputeCounts(),
            VaeScaleFactor * PatchSize, warnings, timings);
    }

    /// <inheritdoc />
    public virtual void Dispose() => GC.SuppressFinalize(this);

    /// <summary>The encode stage alone (tests): the request's conditioning as the transformer receives it.</summary>
    internal IDisposable EncodePrompts(ImageRequest request)
    {
        using var inference = inference_mode();
        return EncodePrompts(request, Resolve(request), [], null, CancellationToken.None);
    }

    /// <summary>Builds a pipeline over <paramref name="source"/>, disposing the source when construction fails (bad configs).</summary>
    protected static TPipeline Over<TSource, TPipeline>(TSource source, Func<TSource, TPipeline> create)
        where TSource : IDisposable
    {
        ArgumentNullException.ThrowIfNull(create);
        try
        {
            return create(source);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>The family's settings for this run: the request's <see cref="ImageRequest.Extras"/> validated, defaults filled in.</summary>
    /// <exception cref="OptionsException">Invalid values, or extras of another family.</exception>
    protected abstract FamilyExtras? ResolveExtras(ImageRequest request);

    /// <summary>The true-CFG scale of <paramref name="extras"/>, for families whose own guidance is not CFG; null for none.</summary>
    protected virtual double? TrueCfgScale(FamilyExtras? extras) => null;

    /// <summary>Tokenizes and encodes the prompts (and, with CFG, the negative prompt) into the family's conditioning object.</summary>
    protected abstract IDisposable EncodePrompts(ImageRequest request, RunPlan plan, List<string> warnings, IProgress<GenerationProgress>? progress,
        CancellationToken cancellationToken);

    /// <summary>Loads the transformer and binds it to <paramref name="conditioning"/>; the returned owner frees the transformer.</summary>
    protected abstract (IDenoiser Denoiser, IDisposable Model) LoadDenoiser(IDisposable conditioning, RunPlan plan);

    /// <summary>The run's schedule (diffusers' <c>set_timesteps(steps)</c> by default).</summary>
    protected virtual FlowMatchSchedule Schedule(FlowMatchEulerDiscreteScheduler scheduler, int steps, long imageTokens) => scheduler.SetTimesteps(steps);

    /// <summary>Loads the VAE (float32).</summary>
    protected abstract AutoencoderKL LoadVae();

    /// <summary>
    /// One <c>randn([B, C, H/f, W/f])</c> draw; for image-to-image the input's VAE latents (posterior mean, scaled) noised to the
    /// first step's sigma, <c>σ·noise + (1 − σ)·x₀</c> (diffusers' <c>scale_noise</c>).
    /// </summary>
    protected virtual Tensor InitialLatents(ImageRequest request, RunPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(plan);
        long[] shape = [plan.Batch, LatentChannels, plan.Height / VaeScaleFactor, plan.Width / VaeScaleFactor];
        Tensor noise = request.SeedPerImage ? InitialNoise.DrawPerImage(shape, request.Seed, Device) : InitialNoise.Draw(shape, request.Seed, Device);
        if (request.InitImage is null)
        {
            return noise;
        }

        using var scope = NewDisposeScope();
        Tensor image = ImageTensors.FromRgb(request.InitImage, plan.Width, plan.Height);
        image = Device is null ? image : image.to(Device);
        Tensor clean;
        using (AutoencoderKL vae = LoadVae())
        using (LatentPosterior posterior = vae.Encode(image))
        {
            // The posterior mean, not a sample: the noise is the seed's only random draw, so strength 1 equals text-to-image.
            clean = VaeShift ? vae.Scale(posterior.Mean) : posterior.Mean.mul(vae.Config.ScalingFactor);
        }

        cancellationToken.ThrowIfCancellationRequested();
        float sigma = plan.Schedule.Sigmas[plan.Sampler.StartStep];
        Tensor noised = noise.mul(sigma).add(clean.expand(shape).mul(1f - sigma));
        return noised.MoveToOuterDisposeScope();
    }

    /// <summary>The request with defaults filled in, validated before anything heavy runs.</summary>
    private RunPlan Resolve(ImageRequest request)
    {
        if (request.Prompts.Count == 0)
        {
            throw new OptionsException("prompt", "at least one prompt is needed");
        }

        if (request.ImagesPerPrompt < 1)
        {
            throw new OptionsException("batch", $"must be at least 1, found {request.ImagesPerPrompt}");
        }

        if (request.InitImage is not null && !Defaults.SupportsImageToImage)
        {
            throw new OptionsException("image", $"image-to-image is not available for {Description}");
        }

        FamilyExtras? extras = ResolveExtras(request);
        int multiple = Defaults.SizeMultiple;
        int width = request.Width ?? (request.InitImage is { } image ? image.Width / multiple * multiple : Defaults.Width);
        int height = request.Height ?? (request.InitImage is { } image2 ? image2.Height / multiple * multiple : Defaults.Height);
        Defaults.ValidateSize("width", width);
        Defaults.ValidateSize("height", height);
        if (request.Shift is double shift && (!double.IsFinite(shift) || shift <= 0))
        {
            throw new OptionsException("shift", $"must be a finite number > 0, found {shift}");
        }

        int steps = request.Steps ?? Defaults.Steps;
        int startStep = 0;
        if (request.InitImage is not null)
        {
            if (!double.IsFinite(request.Strength) || request.Strength <= 0 || request.Strength > 1)
            {
                throw new OptionsException("strength", $"must be in (0, 1], found {request.Strength}");
            }

            // diffusers get_timesteps: init_timestep = min(steps·strength, steps); t_start = int(max(steps − init_timestep, 0)).
            startStep = (int)Math.Max(steps - Math.Min(steps * request.Strength, steps), 0);
        }

        double guidanceScale = request.GuidanceScale ?? Defaults.GuidanceScale;
        Guidance guidance = Guidance.For(GuidanceKind, guidanceScale, TrueCfgScale(extras));
        var sampler = new SamplerOptions { Steps = steps, CfgScale = guidance.CfgScale, StartStep = startStep, Stop = request.Stop };
        sampler.Validate();
        int patch = VaeScaleFactor * PatchSize;
        RasPlan.Create(request.Ras, steps - startStep, height / patch, width / patch);
        if (request.Preview)
        {
            sampler = sampler with { Preview = PipelineStages.RoughPreview };
        }

        var scheduler = new FlowMatchEulerDiscreteScheduler(request.Shift is double s ? SchedulerConfig with { Shift = s } : SchedulerConfig);
        long imageTokens = (long)(height / patch) * (width / patch);
        return new RunPlan(width, height, request.Prompts.Count * request.ImagesPerPrompt, guidanceScale, guidance, sampler, scheduler,
            Schedule(scheduler, steps, imageTokens), request.Ras, extras);
    }

    /// <summary>A request resolved for one run.</summary>
    /// <param name="Width">Image width in pixels.</param>
    /// <param name="Height">Image height in pixels.</param>
    /// <param name="Batch">Images (prompts × images per prompt).</param>
    /// <param name="GuidanceScale">The guidance scale as the user gave it (its meaning: the family's <see cref="GuidanceKind"/>).</param>
    /// <param name="Guidance">That scale resolved into the loop's CFG scale and the model's embedded guidance.</param>
    /// <param name="Sampler">Loop options.</param>
    /// <param name="Scheduler">The scheduler (with any shift override).</param>
    /// <param name="Schedule">The full schedule (the loop starts at <see cref="SamplerOptions.StartStep"/>).</param>
    /// <param name="Ras">RAS options.</param>
    /// <param name="Extras">The family's resolved settings.</param>
    protected sealed record RunPlan(int Width, int Height, int Batch, double GuidanceScale, Guidance Guidance, SamplerOptions Sampler,
        FlowMatchEulerDiscreteScheduler Scheduler, FlowMatchSchedule Schedule, RasOptions Ras, FamilyExtras? Extras);
}
