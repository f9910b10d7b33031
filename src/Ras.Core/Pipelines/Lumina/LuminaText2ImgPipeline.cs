using System.Diagnostics;
using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.Models.Gemma;
using Ras.Models.Lumina;
using Ras.Models.Vae;
using Ras.Native;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tokenizers.Gemma;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Pipelines.Lumina;

/// <summary>
/// Lumina-Next text-to-image as diffusers' <c>LuminaText2ImgPipeline</c> (0.32) runs it, with optional RAS: Gemma
/// caption features (prompt and negative), one <c>randn([B, 4, H/8, W/8])</c> draw, the shared flow-matching Euler loop
/// with <see cref="LuminaDenoiser"/> (reversed time, conditional-first CFG on channels 0–2, per-step RoPE factors,
/// proportional attention), then the VAE (<c>latents / scaling_factor</c>, no shift). Components are loaded when their
/// stage starts and freed when it ends (Gemma, transformer, VAE in turn).
/// </summary>
public sealed class LuminaText2ImgPipeline : ITextToImagePipeline
{
    /// <summary>Default steps, as diffusers.</summary>
    public const int DefaultSteps = 30;

    /// <summary>Default CFG scale, as diffusers.</summary>
    public const double DefaultGuidance = 4.0;

    /// <summary>Image tokens of the official RAS Lumina script's 1024² images.</summary>
    public const int OfficialRasTokenCount = 4096;

    /// <summary>The official script's <c>skip_num_step</c> at <see cref="OfficialRasTokenCount"/> tokens.</summary>
    public const int OfficialSkipNumStep = 256;

    /// <summary>Largest edge in tokens of diffusers' RoPE position grid (384×384).</summary>
    private const int PositionGrid = 384;

    private readonly LuminaPipelineSource source;
    private readonly Device? device;
    private readonly LuminaNextDiT2DModelConfig transformerConfig;
    private readonly FlowMatchEulerDiscreteSchedulerConfig schedulerConfig;

    private LuminaText2ImgPipeline(LuminaPipelineSource source, Device? device, LuminaSamplingOptions? sampling)
    {
        this.source = source;
        this.device = device;
        transformerConfig = source.TransformerConfig();
        AutoencoderKLConfig vaeConfig = source.VaeConfig();
        schedulerConfig = source.SchedulerConfig();
        if (vaeConfig.LatentChannels != transformerConfig.InChannels)
        {
            throw new RasInputException($"{source.Folder}: the VAE has {vaeConfig.LatentChannels} latent channels but the transformer takes {transformerConfig.InChannels}");
        }

        // diffusers hard-codes 8; it is the VAE's downsampling (2^(blocks − 1)), which is what the latents really are.
        VaeScaleFactor = 1 << (vaeConfig.BlockOutChannels.Count - 1);
        Sampling = (sampling ?? new LuminaSamplingOptions()) with { VaeScaleFactor = VaeScaleFactor };
        Sampling.Validate();
        int multiple = VaeScaleFactor * transformerConfig.PatchSize;
        int native = transformerConfig.SampleSize * VaeScaleFactor;
        if (Sampling.ProportionalAttention)
        {
            LuminaDenoiser.RequireProportionalBase(native, VaeScaleFactor);   // fail at open, not after the text encoder ran
        }

        Defaults = new PipelineDefaults(DefaultSteps, DefaultGuidance, native, native, multiple, PositionGrid * multiple,
            RecommendedRasFor(native / multiple * (native / multiple)), SupportsImageToImage: false,
            (width, height) => RecommendedRasFor(Math.Max(1, width / multiple * (height / multiple))));   // invalid sizes are reported by Generate
    }

    /// <summary>
    /// The official RAS Lumina-Next settings (microsoft/RAS <c>scripts/Lumina_Next_T2I_example.sh</c> with
    /// <c>ras_manager</c>'s defaults) for 1024² images (<see cref="OfficialRasTokenCount"/> tokens): sample ratio 0.5,
    /// std metric, high ratio 1, starvation scale 0.1, official selection, and the dynamic ramp
    /// <c>skip_num_step</c> 256 every 4 steps (with 30 steps: 1024 … 2816 skipped tokens per block, multiples of 64);
    /// step range and reset steps keep their step-count-relative defaults (4 … steps, 12 and 22 of 30).
    /// </summary>
    public static RasOptions RecommendedRas { get; } = RecommendedRasFor(OfficialRasTokenCount);

    /// <inheritdoc />
    public string Description => $"Lumina-Next (folder {source.Folder})";

    /// <inheritdoc />
    public PipelineDefaults Defaults { get; }

    /// <summary>Pixels per latent pixel (8 for Lumina's SDXL VAE).</summary>
    public int VaeScaleFactor { get; }

    /// <summary>The Lumina pipeline constants in use (<c>scaling_watershed</c>, <c>proportional_attn</c>, VAE factor).</summary>
    public LuminaSamplingOptions Sampling { get; }

    /// <summary>The transformer's architecture.</summary>
    public LuminaNextDiT2DModelConfig TransformerConfig => transformerConfig;

    /// <summary>
    /// <see cref="RecommendedRas"/> with the skip ramp scaled to an image of <paramref name="tokenCount"/> tokens:
    /// <c>skip_num_step = round(256 · N / 4096)</c>, so the ramp spans the same share of the image at every size (the
    /// official schedule still floors each step's count to a multiple of 64, so small images skip in coarse steps).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tokenCount"/> is not positive.</exception>
    public static RasOptions RecommendedRasFor(int tokenCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokenCount);
        return new RasOptions
        {
            SampleRatio = 0.5,
            Metric = RasMetric.Std,
            HighRatio = 1.0,
            StarvationScale = 0.1,
            Selection = RasSelectionMode.Official,
            SkipNumStep = (int)Math.Round((double)OfficialSkipNumStep * tokenCount / OfficialRasTokenCount, MidpointRounding.AwayFromZero),
            SkipNumStepLength = 4,
        };
    }

    /// <summary>Opens a diffusers Lumina-Next folder; configs are read and checked now, weights are loaded stage by stage.</summary>
    /// <param name="folder">The pipeline folder.</param>
    /// <param name="device">Where to compute; null for the CPU.</param>
    /// <param name="storage">How the transformer's and Gemma's weights are held.</param>
    /// <param name="sampling">Pipeline constants (<c>scaling_watershed</c>, <c>proportional_attn</c>); null = diffusers' defaults. The VAE factor is taken from the VAE.</param>
    /// <exception cref="RasInputException">Not a Lumina folder, a component missing, or configs that do not fit together.</exception>
    /// <exception cref="OptionsException">Proportional attention on for a model trained below 32 px.</exception>
    public static LuminaText2ImgPipeline Open(string folder, Device? device = null, WeightStorage storage = WeightStorage.Auto, LuminaSamplingOptions? sampling = null) =>
        new(LuminaPipelineSource.Open(folder, storage), device, sampling);

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

        // 1. Captions: Gemma features of the prompts (and the negative), arranged as the CFG batch.
        using LuminaConditioning conditioning = EncodePrompts(request, plan, warnings, progress, cancellationToken);
        timings["encode"] = clock.Elapsed.TotalSeconds;

        // 2. One noise draw for the whole batch, then the Euler loop with the transformer loaded for this stage only.
        clock.Restart();
        Tensor latents = InitialNoise.Draw([plan.Batch, transformerConfig.InChannels, plan.Height / VaeScaleFactor, plan.Width / VaeScaleFactor], request.Seed, device);
        using var session = new RasSession(plan.Ras);
        using (LuminaNextDiT2DModel transformer = source.LoadTransformer(device))
        {
            var denoiser = new LuminaDenoiser(transformer, conditioning, Sampling);
            latents = FlowMatchEulerSampler.Sample(denoiser, plan.Scheduler.SetTimesteps(plan.Sampler.Steps), latents, plan.Sampler, session, SynchronousProgress.ForDenoise(progress), cancellationToken);
        }

        NativeHeap.Trim();
        timings["denoise"] = clock.Elapsed.TotalSeconds;

        // 3. Pixels: latents / scaling_factor through the VAE decoder (diffusers' Lumina applies no shift).
        clock.Restart();
        List<byte[]> images;
        using (AutoencoderKL vae = source.LoadVae(device))
        {
            images = PipelineStages.Decode(vae, latents, shift: false, progress, cancellationToken);
        }

        timings["decode"] = clock.Elapsed.TotalSeconds;
        var settings = new ResolvedSettings(plan.Sampler.Steps, plan.Sampler.Steps, plan.Sampler.CfgScale, plan.Scheduler.Config.Shift, null, plan.Ras);
        return new ImageGeneration(images, plan.Width, plan.Height, settings, [.. session.Records], session.TokenComputeCounts(),
            VaeScaleFactor * transformerConfig.PatchSize, warnings, timings);
    }

    /// <summary>Nothing is held between generations (components are loaded per stage).</summary>
    public void Dispose()
    {
    }

    /// <summary>The request with defaults filled in, validated before anything heavy runs.</summary>
    private Plan Resolve(ImageRequest request)
    {
        foreach ((bool given, string option) in new[]
        {
            (request.InitImage is not null, "image"), (request.MaxSequenceLength is not null, "max-sequence-length"), (request.SkipT5, "no-t5"),
        })
        {
            if (given)
            {
                throw new OptionsException(option, "is not available for Lumina-Next (text-to-image with a Gemma encoder; captions are at most 256 tokens)");
            }
        }

        if (request.Prompts.Count == 0)
        {
            throw new OptionsException("prompt", "at least one prompt is needed");
        }

        if (request.ImagesPerPrompt < 1)
        {
            throw new OptionsException("batch", $"must be at least 1, found {request.ImagesPerPrompt}");
        }

        int width = request.Width ?? Defaults.Width;
        int height = request.Height ?? Defaults.Height;
        ValidateSize("width", width);
        ValidateSize("height", height);
        if (request.Shift is double shift && (!double.IsFinite(shift) || shift <= 0))
        {
            throw new OptionsException("shift", $"must be a finite number > 0, found {shift}");
        }

        var sampler = new SamplerOptions { Steps = request.Steps ?? DefaultSteps, CfgScale = request.GuidanceScale ?? DefaultGuidance };
        sampler.Validate();
        int patch = VaeScaleFactor * transformerConfig.PatchSize;
        RasPlan.Create(request.Ras, sampler.Steps, height / patch, width / patch);
        if (request.Preview)
        {
            sampler = sampler with { Preview = PipelineStages.RoughPreview };
        }

        var scheduler = new FlowMatchEulerDiscreteScheduler(request.Shift is double s ? schedulerConfig with { Shift = s } : schedulerConfig);
        return new Plan(width, height, sampler, scheduler, request.Ras, request.Prompts.Count * request.ImagesPerPrompt);
    }

    private void ValidateSize(string option, int value)
    {
        if (value < Defaults.SizeMultiple || value % Defaults.SizeMultiple != 0 || value > Defaults.MaxSize)
        {
            throw new OptionsException(option, $"must be a multiple of {Defaults.SizeMultiple} between {Defaults.SizeMultiple} and {Defaults.MaxSize} pixels, found {value}");
        }
    }

    /// <summary>Tokenizes, runs Gemma (loaded, used, freed) and arranges <c>[prompts × images, negative × images]</c>.</summary>
    private LuminaConditioning EncodePrompts(ImageRequest request, Plan plan, List<string> warnings, IProgress<GenerationProgress>? progress, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        bool guidance = plan.Sampler.UsesCfg;
        GemmaTokenizer tokenizer = GemmaTokenizer.FromFolder(source.TokenizerFolder);
        LuminaPromptTokens tokens = LuminaPromptEncoder.Tokenize(tokenizer, request.Prompts, guidance ? request.NegativePrompt : null, warnings, device);
        Tensor features;
        using (GemmaModel encoder = source.LoadTextEncoder(device))
        {
            if (encoder.Config.HiddenSize != transformerConfig.CrossAttentionDim)
            {
                throw new RasInputException($"{source.Folder}: the text encoder's hidden size {encoder.Config.HiddenSize} differs from the transformer's cross_attention_dim {transformerConfig.CrossAttentionDim}");
            }

            features = LuminaPromptEncoder.Encode(encoder, tokens);
        }

        NativeHeap.Trim();
        progress?.Report(new GenerationProgress(GenerationStage.Encode, 1, 1, 0, 0, clock.Elapsed));
        cancellationToken.ThrowIfCancellationRequested();

        // Images of one prompt are adjacent (p0, p0, p1, …), as diffusers' repeat + view of the embeddings.
        int prompts = tokens.Prompts;
        Tensor positive = features.narrow(0, 0, prompts).repeat_interleave(request.ImagesPerPrompt, 0);
        Tensor positiveMask = tokens.Mask.narrow(0, 0, prompts).repeat_interleave(request.ImagesPerPrompt, 0);
        Tensor? negative = guidance ? features.narrow(0, prompts, 1) : null;
        Tensor? negativeMask = guidance ? tokens.Mask.narrow(0, prompts, 1) : null;
        return LuminaConditioning.Create(positive, positiveMask, negative, negativeMask, plan.Batch, guidance);
    }

    private sealed record Plan(int Width, int Height, SamplerOptions Sampler, FlowMatchEulerDiscreteScheduler Scheduler, RasOptions Ras, int Batch);
}
