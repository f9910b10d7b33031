using System.Diagnostics;
using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Images;
using Ras.Models.SD3;
using Ras.Native;
using Ras.Models.Vae;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tokenizers;
using Ras.Tokenizers.Clip;
using Ras.Tokenizers.T5;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Pipelines.SD3;

/// <summary>
/// Stable Diffusion 3 / 3.5 text-to-image and image-to-image, as diffusers' <c>StableDiffusion3Pipeline</c> and
/// <c>StableDiffusion3Img2ImgPipeline</c> run them, with optional RAS. Components are loaded when their stage
/// starts and freed when it ends (CLIP-L, CLIP-G, T5, transformer, VAE in turn), so only one large model is
/// resident at a time.
/// </summary>
public sealed class StableDiffusion3Pipeline : ITextToImagePipeline
{
    /// <summary>Default steps, as diffusers.</summary>
    public const int DefaultSteps = 28;

    /// <summary>Default CFG scale, as diffusers.</summary>
    public const double DefaultGuidance = 7.0;

    /// <summary>Default T5 length, as diffusers.</summary>
    public const int DefaultMaxSequenceLength = 256;

    /// <summary>Longest T5 sequence diffusers accepts.</summary>
    public const int MaxT5Length = 512;

    private readonly SD3PipelineSource source;
    private readonly Device? device;
    private readonly SD3TransformerConfig transformerConfig;
    private readonly AutoencoderKLConfig vaeConfig;
    private readonly FlowMatchEulerDiscreteSchedulerConfig schedulerConfig;

    private StableDiffusion3Pipeline(SD3PipelineSource source, Device? device)
    {
        this.source = source;
        this.device = device;
        transformerConfig = source.TransformerConfig();
        vaeConfig = source.VaeConfig();
        schedulerConfig = source.SchedulerConfig();
        VaeScaleFactor = 1 << (vaeConfig.BlockOutChannels.Count - 1);
        int multiple = VaeScaleFactor * transformerConfig.PatchSize;
        Defaults = new PipelineDefaults(DefaultSteps, DefaultGuidance, transformerConfig.SampleSize * VaeScaleFactor, transformerConfig.SampleSize * VaeScaleFactor,
            multiple, transformerConfig.PosEmbedMaxSize * multiple, RecommendedRas, SupportsImageToImage: true);
    }

    /// <summary>
    /// The RAS settings <c>--ras</c> uses for SD3 (explicit options override them): half the tokens per RAS step, the
    /// official SD3 script's high ratio 0.3 and starvation scale 1, official selection; step range and reset steps
    /// keep their step-count-relative defaults.
    /// </summary>
    public static RasOptions RecommendedRas { get; } = new()
    {
        SampleRatio = 0.5,
        HighRatio = 0.3,
        StarvationScale = 1.0,
        Selection = RasSelectionMode.Official,
    };

    /// <inheritdoc />
    public string Description => $"SD3 ({(source.IsSingleFile ? "single file" : "folder")} {source.Path})";

    /// <inheritdoc />
    public PipelineDefaults Defaults { get; }

    /// <summary>Pixels per latent pixel (8 for SD3's VAE).</summary>
    public int VaeScaleFactor { get; }

    /// <summary>True when the checkpoint has a T5 encoder.</summary>
    public bool HasT5 => source.HasT5;

    /// <summary>The transformer's architecture.</summary>
    public SD3TransformerConfig TransformerConfig => transformerConfig;

    /// <summary>
    /// Opens a diffusers SD3 folder or a single-file checkpoint (see <see cref="SD3PipelineSource"/>). Configs are
    /// read and checked now; weights are loaded stage by stage during generation.
    /// </summary>
    public static StableDiffusion3Pipeline Open(string path, string? configFolder = null, Device? device = null, WeightStorage storage = WeightStorage.Auto)
    {
        var source = SD3PipelineSource.Open(path, configFolder, storage);
        try
        {
            return new StableDiffusion3Pipeline(source, device);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public Task<ImageGeneration> GenerateAsync(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(request, progress, cancellationToken), cancellationToken);

    /// <summary>Synchronous <see cref="GenerateAsync"/> (on the calling thread).</summary>
    public ImageGeneration Generate(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        Plan plan = Resolve(request);
        var warnings = new List<string>();
        var timings = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        using var inference = inference_mode();
        using var scope = NewDisposeScope();

        using SD3Conditioning conditioning = EncodePrompts(request, plan, warnings, progress, cancellationToken);
        timings["encode"] = clock.Elapsed.TotalSeconds;

        clock.Restart();
        Tensor latents = InitialLatents(request, plan, progress, cancellationToken);
        using var session = new RasSession(plan.Ras);
        using (SD3Transformer2DModel transformer = source.LoadTransformer(device))
        {
            latents = FlowMatchEulerSampler.Sample(new SD3Denoiser(transformer, conditioning), plan.Scheduler, latents, plan.Sampler, session,
                SynchronousProgress.ForDenoise(progress), cancellationToken);
        }

        NativeHeap.Trim();

        timings["denoise"] = clock.Elapsed.TotalSeconds;
        clock.Restart();
        List<byte[]> images = Decode(latents, progress, cancellationToken);
        timings["decode"] = clock.Elapsed.TotalSeconds;

        var settings = new ResolvedSettings(plan.Sampler.Steps, plan.Sampler.Steps - plan.Sampler.StartStep, plan.Sampler.GuidanceScale,
            plan.Scheduler.Config.Shift, plan.UseT5 ? plan.MaxSequenceLength : null, plan.Ras);
        return new ImageGeneration(images, plan.Width, plan.Height, settings, [.. session.Records], session.TokenComputeCounts(),
            VaeScaleFactor * transformerConfig.PatchSize, warnings, timings);
    }

    /// <inheritdoc />
    public void Dispose() => source.Dispose();

    /// <summary>The encode stage alone (tests): the request's text conditioning as the transformer receives it.</summary>
    internal SD3Conditioning EncodePrompts(ImageRequest request)
    {
        using var inference = inference_mode();
        return EncodePrompts(request, Resolve(request), [], null, CancellationToken.None);
    }

    /// <summary>The request with defaults filled in, validated before anything heavy runs.</summary>
    private Plan Resolve(ImageRequest request)
    {
        if (request.Prompts.Count == 0)
        {
            throw new OptionsException("prompt", "at least one prompt is needed");
        }

        if (request.ImagesPerPrompt < 1)
        {
            throw new OptionsException("batch", $"must be at least 1, found {request.ImagesPerPrompt}");
        }

        int width = request.Width ?? (request.InitImage is { } image ? image.Width / Defaults.SizeMultiple * Defaults.SizeMultiple : Defaults.Width);
        int height = request.Height ?? (request.InitImage is { } image2 ? image2.Height / Defaults.SizeMultiple * Defaults.SizeMultiple : Defaults.Height);
        ValidateSize("width", width);
        ValidateSize("height", height);
        int maxSequenceLength = request.MaxSequenceLength ?? DefaultMaxSequenceLength;
        if (maxSequenceLength is < 1 or > MaxT5Length)
        {
            throw new OptionsException("max-sequence-length", $"must be between 1 and {MaxT5Length}, found {maxSequenceLength}");
        }

        if (request.Shift is double shift && (!double.IsFinite(shift) || shift <= 0))
        {
            throw new OptionsException("shift", $"must be a finite number > 0, found {shift}");
        }

        int steps = request.Steps ?? DefaultSteps;
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

        var sampler = new SamplerOptions { Steps = steps, GuidanceScale = request.GuidanceScale ?? DefaultGuidance, StartStep = startStep };
        sampler.Validate();
        int patch = VaeScaleFactor * transformerConfig.PatchSize;
        RasPlan.Create(request.Ras, steps - startStep, height / patch, width / patch);
        if (request.Preview)
        {
            sampler = sampler with { Preview = PipelineStages.RoughPreview };
        }

        var scheduler = new FlowMatchEulerDiscreteScheduler(request.Shift is double s ? schedulerConfig with { Shift = s } : schedulerConfig);
        return new Plan(width, height, sampler, scheduler, request.Ras, maxSequenceLength, !request.SkipT5 && source.HasT5,
            request.Prompts.Count * request.ImagesPerPrompt);
    }

    private void ValidateSize(string option, int value)
    {
        if (value < Defaults.SizeMultiple || value % Defaults.SizeMultiple != 0 || value > Defaults.MaxSize)
        {
            throw new OptionsException(option, $"must be a multiple of {Defaults.SizeMultiple} between {Defaults.SizeMultiple} and {Defaults.MaxSize} pixels (the transformer's position table), found {value}");
        }
    }

    /// <summary>Tokenizes prompts and the negative prompt, runs each text encoder in turn (loaded, used, freed) and arranges the CFG batch.</summary>
    private SD3Conditioning EncodePrompts(ImageRequest request, Plan plan, List<string> warnings, IProgress<GenerationProgress>? progress, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        bool guidance = plan.Sampler.UsesGuidance;
        List<string> texts = [.. request.Prompts];
        if (guidance)
        {
            texts.Add(request.NegativePrompt);
        }

        int stages = plan.UseT5 ? 3 : 2;
        void Done(int stage) => progress?.Report(new GenerationProgress(GenerationStage.Encode, stage, stages, 0, 0, clock.Elapsed));

        Tensor clipLIds = ClipIds(CLIPTokenizer.FromFolder(source.TokenizerFolder("tokenizer")), texts, warnings);
        Tensor clipGIds = ClipIds(CLIPTokenizer.FromFolder(source.TokenizerFolder("tokenizer_2")), texts, null);
        Tensor? t5Ids = plan.UseT5 ? T5Ids(T5Tokenizer.FromFolder(source.TokenizerFolder("tokenizer_3")), texts, plan.MaxSequenceLength, warnings) : null;

        (Tensor Tokens, Tensor Pooled) clipL, clipG;
        using (var model = source.LoadClipL(device))
        {
            clipL = SD3PromptEncoder.Clip(model, clipLIds);
        }

        NativeHeap.Trim();

        Done(1);
        cancellationToken.ThrowIfCancellationRequested();
        using (var model = source.LoadClipG(device))
        {
            clipG = SD3PromptEncoder.Clip(model, clipGIds);
        }

        NativeHeap.Trim();

        Done(2);
        cancellationToken.ThrowIfCancellationRequested();
        Tensor? t5 = null;
        if (t5Ids is not null)
        {
            using (var model = source.LoadT5(device)!)
            {
                t5 = SD3PromptEncoder.T5(model, t5Ids);
            }

            // A freed component's small allocations stay in glibc's arenas (1.5 GB after T5-XXL) unless trimmed.
            NativeHeap.Trim();
            Done(3);
            cancellationToken.ThrowIfCancellationRequested();
        }

        int prompts = request.Prompts.Count;
        (Tensor, Tensor) Rows((Tensor Tokens, Tensor Pooled) part, int start, int length) => (part.Tokens.narrow(0, start, length), part.Pooled.narrow(0, start, length));
        SD3PromptEmbeddings positive = SD3PromptEncoder.Assemble(Rows(clipL, 0, prompts), Rows(clipG, 0, prompts), t5?.narrow(0, 0, prompts),
            transformerConfig.JointAttentionDim, request.ImagesPerPrompt);
        SD3PromptEmbeddings? negative = guidance
            ? SD3PromptEncoder.Assemble(Rows(clipL, prompts, 1), Rows(clipG, prompts, 1), t5?.narrow(0, prompts, 1), transformerConfig.JointAttentionDim)
            : null;
        return SD3Conditioning.Create(positive.PromptEmbeds, positive.PooledPromptEmbeds, negative?.PromptEmbeds, negative?.PooledPromptEmbeds,
            plan.Batch, guidance);
    }

    private Tensor ClipIds(CLIPTokenizer tokenizer, List<string> texts, List<string>? warnings)
    {
        var rows = texts.Select(t => tokenizer.Encode(t)).ToList();
        foreach (TokenizedPrompt row in rows.Where(r => r.Truncated))
        {
            warnings?.Add($"The following part of your input was truncated because CLIP can only handle sequences up to {tokenizer.ModelMaxLength} tokens: {row.RemovedText}");
        }

        return IdTensor(rows);
    }

    private Tensor T5Ids(T5Tokenizer tokenizer, List<string> texts, int maxLength, List<string> warnings)
    {
        var rows = texts.Select(t => tokenizer.Encode(t, maxLength)).ToList();
        foreach (TokenizedPrompt row in rows.Where(r => r.Truncated))
        {
            warnings.Add($"The following part of your input was truncated because `max_sequence_length` is set to {maxLength} tokens: {row.RemovedText}");
        }

        return IdTensor(rows);
    }

    private Tensor IdTensor(List<TokenizedPrompt> rows)
    {
        long[] ids = rows.SelectMany(r => r.InputIds.Select(i => (long)i)).ToArray();
        Tensor cpu = tensor(ids, [rows.Count, rows[0].InputIds.Length]);
        return device is null ? cpu : cpu.to(device);
    }

    /// <summary>
    /// One <c>randn([B, C, H/8, W/8])</c> draw; for image-to-image the init image's latents noised to the first
    /// step's sigma (<c>σ·noise + (1 − σ)·x₀</c>, diffusers' <c>scale_noise</c>).
    /// </summary>
    private Tensor InitialLatents(ImageRequest request, Plan plan, IProgress<GenerationProgress>? progress, CancellationToken cancellationToken)
    {
        long[] shape = [plan.Batch, transformerConfig.InChannels, plan.Height / VaeScaleFactor, plan.Width / VaeScaleFactor];
        Tensor noise = InitialNoise.Draw(shape, request.Seed, device);
        if (request.InitImage is null)
        {
            return noise;
        }

        using var scope = NewDisposeScope();
        Tensor image = ImageTensors.FromRgb(request.InitImage, plan.Width, plan.Height);
        image = device is null ? image : image.to(device);
        Tensor clean;
        using (AutoencoderKL vae = source.LoadVae(device))
        using (LatentPosterior posterior = vae.Encode(image))
        {
            // The posterior mean, not a sample: the noise is the seed's only random draw, so strength 1 equals text-to-image.
            clean = vae.Scale(posterior.Mean);
        }

        cancellationToken.ThrowIfCancellationRequested();
        float sigma = plan.Scheduler.SetTimesteps(plan.Sampler.Steps).Sigmas[plan.Sampler.StartStep];
        Tensor noised = noise.mul(sigma).add(clean.expand(shape).mul(1f - sigma));
        return noised.MoveToOuterDisposeScope();
    }

    /// <summary>Decodes each image with the VAE, loaded for the stage only.</summary>
    private List<byte[]> Decode(Tensor latents, IProgress<GenerationProgress>? progress, CancellationToken cancellationToken)
    {
        using AutoencoderKL vae = source.LoadVae(device);
        return PipelineStages.Decode(vae, latents, shift: true, progress, cancellationToken);
    }

    private sealed record Plan(int Width, int Height, SamplerOptions Sampler, FlowMatchEulerDiscreteScheduler Scheduler, RasOptions Ras,
        int MaxSequenceLength, bool UseT5, int Batch);
}
