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
public sealed class StableDiffusion3Pipeline : LatentDiffusionPipeline
{
    /// <summary>Default steps, as diffusers.</summary>
    public const int DefaultSteps = 28;

    /// <summary>Default CFG scale, as diffusers.</summary>
    public const double DefaultGuidance = 7.0;

    /// <summary>Default T5 length, as diffusers.</summary>
    public const int DefaultMaxSequenceLength = 256;

    /// <summary>Longest T5 sequence diffusers accepts.</summary>
    public const int MaxT5Length = PromptIds.MaxT5Length;

    private readonly SD3PipelineSource source;
    private readonly SD3TransformerConfig transformerConfig;
    private readonly FlowMatchEulerDiscreteSchedulerConfig schedulerConfig;

    private StableDiffusion3Pipeline(SD3PipelineSource source, Device? device)
        : base(device)
    {
        this.source = source;
        source.RequireComplete();
        transformerConfig = source.TransformerConfig();
        AutoencoderKLConfig vaeConfig = source.VaeConfig();
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
    public override string Description => $"SD3 ({(source.IsSingleFile ? "single file" : "folder")} {source.Path})";

    /// <inheritdoc />
    public override ModelFamily Family => SD3Family.Instance;

    /// <inheritdoc />
    public override PipelineDefaults Defaults { get; }

    /// <summary>Pixels per latent pixel (8 for SD3's VAE).</summary>
    public override int VaeScaleFactor { get; }

    /// <summary>True when the checkpoint has a T5 encoder.</summary>
    public bool HasT5 => source.HasT5;

    /// <summary>The transformer's architecture.</summary>
    public SD3TransformerConfig TransformerConfig => transformerConfig;

    /// <inheritdoc />
    protected override int LatentChannels => transformerConfig.InChannels;

    /// <inheritdoc />
    protected override int PatchSize => transformerConfig.PatchSize;

    /// <inheritdoc />
    protected override FlowMatchEulerDiscreteSchedulerConfig SchedulerConfig => schedulerConfig;

    /// <inheritdoc />
    protected override bool VaeShift => true;

    /// <summary>
    /// Opens a diffusers SD3 folder or a single-file checkpoint (see <see cref="SD3PipelineSource"/>). Configs are
    /// read and checked now; weights are loaded stage by stage during generation.
    /// </summary>
    public static StableDiffusion3Pipeline Open(string path, string? configFolder = null, Device? device = null, WeightStorage storage = WeightStorage.Auto,
        ComponentFiles? components = null) =>
        Over(SD3PipelineSource.Open(path, configFolder, storage, components), source => new StableDiffusion3Pipeline(source, device));

    /// <inheritdoc />
    public override void Dispose()
    {
        source.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// SD3's settings: T5 length (≤ 512, default 256), whether T5 runs (skipped on request or when the checkpoint has none) and
    /// CLIP skip (≥ 0; its upper bound depends on the CLIP towers and is checked when they run).
    /// </summary>
    protected override FamilyExtras? ResolveExtras(ImageRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        SD3Extras extras = FamilyExtras.Expect<SD3Extras>(request.Extras, SD3Family.Instance.Name) ?? new SD3Extras();
        int maxSequenceLength = PromptIds.T5Length(extras.MaxSequenceLength, DefaultMaxSequenceLength);

        if (extras.ClipSkip is < 0)
        {
            throw new OptionsException("clip-skip", $"must be at least 0, found {extras.ClipSkip}");
        }

        bool useT5 = !extras.SkipT5 && source.HasT5;
        return new SD3Extras { MaxSequenceLength = useT5 ? maxSequenceLength : null, SkipT5 = !useT5, ClipSkip = extras.ClipSkip };
    }

    /// <summary>Tokenizes prompts and the negative prompt, runs each text encoder in turn (loaded, used, freed) and arranges the CFG batch.</summary>
    protected override IDisposable EncodePrompts(ImageRequest request, RunPlan plan, List<string> warnings, IProgress<GenerationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(plan);
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        var extras = (SD3Extras)plan.Extras!;
        bool guidance = plan.Guidance.UsesCfg;
        List<string> texts = [.. request.Prompts];
        if (guidance)
        {
            texts.Add(request.NegativePrompt);
        }

        bool useT5 = !extras.SkipT5;
        int stages = useT5 ? 3 : 2;
        void Done(int stage) => progress?.Report(new GenerationProgress(GenerationStage.Encode, stage, stages, 0, 0, clock.Elapsed));

        Tensor clipLIds = PromptIds.Clip(CLIPTokenizer.FromFolder(source.TokenizerFolder("tokenizer", BuiltInTokenizer.ClipL)), texts, warnings, Device);
        Tensor clipGIds = PromptIds.Clip(CLIPTokenizer.FromFolder(source.TokenizerFolder("tokenizer_2", BuiltInTokenizer.ClipG)), texts, null, Device);
        Tensor? t5Ids = useT5 ? PromptIds.T5(T5Tokenizer.FromFolder(source.TokenizerFolder("tokenizer_3", BuiltInTokenizer.T5)), texts, extras.MaxSequenceLength!.Value, warnings, Device) : null;

        (Tensor Tokens, Tensor Pooled) clipL, clipG;
        using (var model = source.LoadClipL(Device))
        {
            clipL = SD3PromptEncoder.Clip(model, clipLIds, extras.ClipSkip);
        }

        NativeHeap.ReleaseGarbage();   // the encoder just freed: its finalizer-only objects and freed pages, before the next one loads

        Done(1);
        cancellationToken.ThrowIfCancellationRequested();
        using (var model = source.LoadClipG(Device))
        {
            // diffusers' encode_prompt passes clip_skip to both CLIP towers.
            clipG = SD3PromptEncoder.Clip(model, clipGIds, extras.ClipSkip);
        }

        NativeHeap.ReleaseGarbage();   // the encoder just freed: its finalizer-only objects and freed pages, before the next one loads

        Done(2);
        cancellationToken.ThrowIfCancellationRequested();
        Tensor? t5 = null;
        if (t5Ids is not null)
        {
            using (var model = source.LoadT5(Device)!)
            {
                t5 = SD3PromptEncoder.T5(model, t5Ids);
            }

            // A freed component's small allocations stay in glibc's arenas (1.5 GB after T5-XXL) unless trimmed.
            NativeHeap.ReleaseGarbage();   // the encoder just freed: its finalizer-only objects and freed pages, before the next one loads
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

    /// <inheritdoc />
    protected override (IDenoiser Denoiser, IDisposable Model) LoadDenoiser(IDisposable conditioning, RunPlan plan)
    {
        SD3Transformer2DModel transformer = source.LoadTransformer(Device);
        return (new SD3Denoiser(transformer, (SD3Conditioning)conditioning), transformer);
    }

    /// <inheritdoc />
    protected override AutoencoderKL LoadVae() => source.LoadVae(Device);
}
