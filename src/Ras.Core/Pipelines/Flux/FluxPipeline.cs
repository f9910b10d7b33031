using System.Diagnostics;
using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.Models.Flux;
using Ras.Models.Vae;
using Ras.Native;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tokenizers;
using Ras.Tokenizers.Clip;
using Ras.Tokenizers.T5;
using static TorchSharp.torch;

namespace Ras.Pipelines.Flux;

/// <summary>
/// FLUX.1 (dev and schnell) text-to-image and image-to-image as diffusers' <c>FluxPipeline</c> and <c>FluxImg2ImgPipeline</c>
/// (0.32) run them, with optional RAS: (1) CLIP-L's pooled output and T5-XXL's token embeddings of the prompt (and, with
/// true CFG, of the negative prompt), (2) one <c>randn([B, 16, H/8, W/8])</c> draw (the unpacked latents; the denoiser packs
/// 2×2 patches into tokens), (3) sigmas <c>linspace(1, 1/n, n)</c> with the dynamic time shift μ of the token count (dev),
/// the shared Euler loop with embedded guidance (dev) and optional true CFG, (4) the 16-channel VAE on
/// <c>latents / scaling_factor + shift_factor</c>. Components are loaded per stage (CLIP-L, T5, transformer, VAE in turn).
/// </summary>
public sealed class FluxPipeline : LatentDiffusionPipeline
{
    /// <summary>diffusers' <c>default_sample_size</c>: 128 latents, 1024 px.</summary>
    public const int DefaultSampleSize = 128;

    /// <summary>FLUX.1-dev's default steps (diffusers).</summary>
    public const int DevSteps = 28;

    /// <summary>FLUX.1-dev's default embedded guidance (diffusers).</summary>
    public const double DevGuidance = 3.5;

    /// <summary>FLUX.1-dev's default T5 length (diffusers).</summary>
    public const int DevMaxSequenceLength = 512;

    /// <summary>FLUX.1-schnell's default steps (its model card).</summary>
    public const int SchnellSteps = 4;

    /// <summary>FLUX.1-schnell's default T5 length (its model card).</summary>
    public const int SchnellMaxSequenceLength = 256;

    /// <summary>Longest T5 sequence diffusers accepts.</summary>
    public const int MaxT5Length = PromptIds.MaxT5Length;

    /// <summary>Largest edge in pixels we accept (RoPE has no table; this bounds memory, as front-ends' sliders do).</summary>
    public const int MaxImageSize = 2048;

    private readonly FluxPipelineSource source;
    private readonly FluxTransformerConfig transformerConfig;
    private readonly FlowMatchEulerDiscreteSchedulerConfig schedulerConfig;

    private FluxPipeline(FluxPipelineSource source, Device? device)
        : base(device)
    {
        this.source = source;
        source.RequireComplete();
        transformerConfig = source.TransformerConfig();
        AutoencoderKLConfig vaeConfig = source.VaeConfig();
        schedulerConfig = source.SchedulerConfig();
        if (vaeConfig.LatentChannels * FluxLatents.PatchEdge * FluxLatents.PatchEdge != transformerConfig.InChannels)
        {
            throw new RasInputException($"{source.Path}: the VAE has {vaeConfig.LatentChannels} latent channels but the transformer takes {transformerConfig.InChannels} (= 4 × latent channels, packed 2×2)");
        }

        VaeScaleFactor = 1 << (vaeConfig.BlockOutChannels.Count - 1);
        int multiple = VaeScaleFactor * FluxLatents.PatchEdge;
        int native = DefaultSampleSize * VaeScaleFactor;
        Defaults = new PipelineDefaults(IsDev ? DevSteps : SchnellSteps, IsDev ? DevGuidance : 0.0, native, native, multiple, MaxImageSize,
            RecommendedRasFor(IsDev), SupportsImageToImage: true, GuidanceKind: IsDev ? GuidanceKind.Embedded : GuidanceKind.None);
    }

    /// <summary>
    /// What <c>--ras</c> turns on for FLUX.1-dev: SD3's recommendation (sample ratio 0.5, high ratio 0.3, starvation scale 1,
    /// official selection, step range and resets at their step-count-relative defaults). Flux is an MMDiT like SD3 (joint
    /// text-image attention, the same flow-matching schedule shape at 28 steps), so the settings the official code tuned on
    /// SD3 are the closest evidence; there is no official Flux tuning.
    /// </summary>
    public static RasOptions RecommendedRas { get; } = new()
    {
        SampleRatio = 0.5,
        HighRatio = 0.3,
        StarvationScale = 1.0,
        Selection = RasSelectionMode.Official,
    };

    /// <summary>
    /// What <c>--ras</c> turns on for FLUX.1-schnell: the dev settings with RAS from step 2 and no dense reset. Four steps leave no
    /// room for the default warm-up (RAS would never start); two dense steps fix the layout before the first selection, and a reset
    /// would undo the only two RAS steps there are.
    /// </summary>
    public static RasOptions RecommendedSchnellRas { get; } = RecommendedRas with { SchedulerStartStep = 2, ErrorResetSteps = [] };

    /// <inheritdoc />
    public override string Description => $"{(IsDev ? "FLUX.1-dev" : "FLUX.1-schnell")} ({(source.IsSingleFile ? "single file" : "folder")} {source.Path})";

    /// <inheritdoc />
    public override ModelFamily Family => FluxFamily.Instance;

    /// <inheritdoc />
    public override PipelineDefaults Defaults { get; }

    /// <summary>Pixels per latent pixel (8 for the Flux VAE).</summary>
    public override int VaeScaleFactor { get; }

    /// <summary>The transformer's architecture.</summary>
    public FluxTransformerConfig TransformerConfig => transformerConfig;

    /// <inheritdoc />
    protected override int LatentChannels => transformerConfig.InChannels / (FluxLatents.PatchEdge * FluxLatents.PatchEdge);

    /// <inheritdoc />
    protected override int PatchSize => FluxLatents.PatchEdge;

    /// <inheritdoc />
    protected override FlowMatchEulerDiscreteSchedulerConfig SchedulerConfig => schedulerConfig;

    /// <inheritdoc />
    protected override GuidanceKind GuidanceKind => IsDev ? GuidanceKind.Embedded : GuidanceKind.None;

    /// <inheritdoc />
    protected override bool VaeShift => true;

    /// <summary>True for a FLUX.1-dev style model (guidance embedding).</summary>
    private bool IsDev => transformerConfig.GuidanceEmbeds;

    /// <summary>What <c>--ras</c> turns on for a dev (<paramref name="dev"/>) or schnell model.</summary>
    public static RasOptions RecommendedRasFor(bool dev) => dev ? RecommendedRas : RecommendedSchnellRas;

    /// <summary>
    /// Opens a diffusers FLUX.1 folder or a single file (see <see cref="FluxPipelineSource"/>); configs are read and checked now,
    /// weights loaded stage by stage.
    /// </summary>
    public static FluxPipeline Open(string path, string? configFolder = null, Device? device = null, WeightStorage storage = WeightStorage.Auto,
        ComponentFiles? components = null) =>
        Over(FluxPipelineSource.Open(path, configFolder, storage, components), source => new FluxPipeline(source, device));

    /// <inheritdoc />
    public override void Dispose()
    {
        source.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// FLUX.1's settings: the T5 length (≤ 512; dev 512, schnell 256 by default) and true CFG, which needs a negative prompt — and
    /// a negative prompt does nothing without it, so either alone is an error rather than silently ignored.
    /// </summary>
    protected override FamilyExtras? ResolveExtras(ImageRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        FluxExtras extras = FamilyExtras.Expect<FluxExtras>(request.Extras, FluxFamily.Instance.Name) ?? new FluxExtras();
        int length = PromptIds.T5Length(extras.MaxSequenceLength, IsDev ? DevMaxSequenceLength : SchnellMaxSequenceLength);

        if (extras.TrueCfgScale is double scale && (!double.IsFinite(scale) || scale < 1))
        {
            throw new OptionsException("true-cfg", $"must be a finite number ≥ 1 (1 = off), found {scale}");
        }

        bool trueCfg = extras.TrueCfgScale is > 1.0;
        if (trueCfg && string.IsNullOrEmpty(request.NegativePrompt))
        {
            throw new OptionsException("true-cfg", "needs a negative prompt (true CFG guides away from it; diffusers runs it only with negative_prompt)");
        }

        if (!trueCfg && !string.IsNullOrEmpty(request.NegativePrompt))
        {
            throw new OptionsException("negative-prompt", "FLUX.1 uses a negative prompt only with true CFG: add --true-cfg S (S > 1), or drop the negative prompt");
        }

        return new FluxExtras { MaxSequenceLength = length, TrueCfgScale = extras.TrueCfgScale };
    }

    /// <inheritdoc />
    protected override double? TrueCfgScale(FamilyExtras? extras) => (extras as FluxExtras)?.TrueCfgScale;

    /// <summary>CLIP-L's pooled output and T5's token embeddings, each encoder loaded, used and freed; arranged as the model batch.</summary>
    protected override IDisposable EncodePrompts(ImageRequest request, RunPlan plan, List<string> warnings, IProgress<GenerationProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(plan);
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        var extras = (FluxExtras)plan.Extras!;
        bool trueCfg = plan.Guidance.UsesCfg;
        List<string> texts = [.. request.Prompts];
        if (trueCfg)
        {
            texts.Add(request.NegativePrompt);
        }

        Tensor clipIds = PromptIds.Clip(CLIPTokenizer.FromFolder(source.TokenizerFolder("tokenizer", BuiltInTokenizer.ClipL)), texts, warnings, Device);
        Tensor t5Ids = PromptIds.T5(T5Tokenizer.FromFolder(source.TokenizerFolder("tokenizer_2", BuiltInTokenizer.T5)), texts, extras.MaxSequenceLength!.Value, warnings, Device);


        // 1. CLIP-L: only the pooled output is used (a CLIPTextModel's pooler_output: the final-norm EOS row, no projection).
        Tensor pooled;
        using (var clip = source.LoadClip(Device))
        {
            pooled = clip.Forward(clipIds).PooledOutput;
        }

        NativeHeap.ReleaseGarbage();   // the encoder just freed: its finalizer-only objects and freed pages, before the next one loads
        progress?.Report(new GenerationProgress(GenerationStage.Encode, 1, 2, 0, 0, clock.Elapsed));
        cancellationToken.ThrowIfCancellationRequested();

        // 2. T5-XXL: the token embeddings are the text stream.
        Tensor tokens;
        using (var t5 = source.LoadT5(Device))
        {
            tokens = t5.Forward(t5Ids).LastHiddenState;
        }

        NativeHeap.ReleaseGarbage();   // the encoder just freed: its finalizer-only objects and freed pages, before the next one loads
        progress?.Report(new GenerationProgress(GenerationStage.Encode, 2, 2, 0, 0, clock.Elapsed));
        cancellationToken.ThrowIfCancellationRequested();

        // Images of one prompt are adjacent (p0, p0, p1, …), as diffusers' repeat + view.
        int prompts = request.Prompts.Count;
        Tensor positive = tokens.narrow(0, 0, prompts).repeat_interleave(request.ImagesPerPrompt, 0);
        Tensor positivePooled = pooled.narrow(0, 0, prompts).repeat_interleave(request.ImagesPerPrompt, 0);
        return FluxConditioning.Create(positive, positivePooled, trueCfg ? tokens.narrow(0, prompts, 1) : null, trueCfg ? pooled.narrow(0, prompts, 1) : null,
            plan.Batch, trueCfg, plan.Guidance.Embedded);
    }

    /// <inheritdoc />
    protected override (IDenoiser Denoiser, IDisposable Model) LoadDenoiser(IDisposable conditioning, RunPlan plan)
    {
        FluxTransformer2DModel transformer = source.LoadTransformer(Device);
        try
        {
            return (new FluxDenoiser(transformer, (FluxConditioning)conditioning), transformer);
        }
        catch
        {
            transformer.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    protected override FlowMatchSchedule Schedule(FlowMatchEulerDiscreteScheduler scheduler, int steps, long imageTokens) =>
        FluxSchedule.For(scheduler, steps, imageTokens);

    /// <inheritdoc />
    protected override AutoencoderKL LoadVae() => source.LoadVae(Device);
}
