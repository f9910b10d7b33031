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
/// Lumina-Next text-to-image as diffusers' <c>LuminaText2ImgPipeline</c> (0.32) runs it, with optional RAS, and image-to-image
/// (ours: diffusers has no Lumina image-to-image pipeline; the input's VAE latents are noised to the first step's sigma as the
/// SD3 and FLUX.1 image-to-image pipelines do, <see cref="LatentDiffusionPipeline.InitialLatents"/>): Gemma
/// caption features (prompt and negative), one <c>randn([B, 4, H/8, W/8])</c> draw, the shared flow-matching Euler loop
/// with <see cref="LuminaDenoiser"/> (reversed time, conditional-first CFG on channels 0–2, per-step RoPE factors,
/// proportional attention), then the VAE (<c>latents / scaling_factor</c>, no shift). Components are loaded when their
/// stage starts and freed when it ends (Gemma, transformer, VAE in turn).
/// </summary>
public sealed class LuminaText2ImgPipeline : LatentDiffusionPipeline
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
    private readonly LuminaNextDiT2DModelConfig transformerConfig;
    private readonly FlowMatchEulerDiscreteSchedulerConfig schedulerConfig;

    private LuminaText2ImgPipeline(LuminaPipelineSource source, Device? device, LuminaSamplingOptions? sampling)
        : base(device)
    {
        this.source = source;
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
            RecommendedRasFor(native / multiple * (native / multiple)), SupportsImageToImage: true,
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
    public override string Description => $"Lumina-Next (folder {source.Folder})";

    /// <inheritdoc />
    public override ModelFamily Family => LuminaFamily.Instance;

    /// <inheritdoc />
    public override PipelineDefaults Defaults { get; }

    /// <summary>Pixels per latent pixel (8 for Lumina's SDXL VAE).</summary>
    public override int VaeScaleFactor { get; }

    /// <summary>The Lumina pipeline constants in use (<c>scaling_watershed</c>, <c>proportional_attn</c>, VAE factor).</summary>
    public LuminaSamplingOptions Sampling { get; }

    /// <summary>The transformer's architecture.</summary>
    public LuminaNextDiT2DModelConfig TransformerConfig => transformerConfig;

    /// <inheritdoc />
    protected override int LatentChannels => transformerConfig.InChannels;

    /// <inheritdoc />
    protected override int PatchSize => transformerConfig.PatchSize;

    /// <inheritdoc />
    protected override FlowMatchEulerDiscreteSchedulerConfig SchedulerConfig => schedulerConfig;

    /// <summary>diffusers' Lumina decodes <c>latents / scaling_factor</c>, no shift.</summary>
    protected override bool VaeShift => false;

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

    /// <summary>
    /// The request's <see cref="LuminaSamplingOptions"/> (the VAE factor always the VAE's), or the ones the pipeline was opened with.
    /// </summary>
    protected override FamilyExtras? ResolveExtras(ImageRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        LuminaSamplingOptions? given = FamilyExtras.Expect<LuminaSamplingOptions>(request.Extras, LuminaFamily.Instance.Name);
        LuminaSamplingOptions options = given is null ? Sampling : given with { VaeScaleFactor = VaeScaleFactor };
        options.Validate();
        if (options.ProportionalAttention)
        {
            LuminaDenoiser.RequireProportionalBase(transformerConfig.SampleSize * VaeScaleFactor, VaeScaleFactor);
        }

        return options;
    }

    /// <inheritdoc />
    protected override (IDenoiser Denoiser, IDisposable Model) LoadDenoiser(IDisposable conditioning, RunPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        LuminaNextDiT2DModel transformer = source.LoadTransformer(Device);
        try
        {
            return (new LuminaDenoiser(transformer, (LuminaConditioning)conditioning, (LuminaSamplingOptions)plan.Extras!), transformer);
        }
        catch
        {
            transformer.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    protected override AutoencoderKL LoadVae() => source.LoadVae(Device);

    /// <summary>Tokenizes, runs Gemma (loaded, used, freed) and arranges <c>[prompts × images, negative × images]</c>.</summary>
    protected override IDisposable EncodePrompts(ImageRequest request, RunPlan plan, List<string> warnings, IProgress<GenerationProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(plan);
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        bool guidance = plan.Guidance.UsesCfg;
        GemmaTokenizer tokenizer = GemmaTokenizer.FromFolder(source.TokenizerFolder);
        LuminaPromptTokens tokens = LuminaPromptEncoder.Tokenize(tokenizer, request.Prompts, guidance ? request.NegativePrompt : null, warnings, Device);
        Tensor features;
        using (GemmaModel encoder = source.LoadTextEncoder(Device))
        {
            if (encoder.Config.HiddenSize != transformerConfig.CrossAttentionDim)
            {
                throw new RasInputException($"{source.Folder}: the text encoder's hidden size {encoder.Config.HiddenSize} differs from the transformer's cross_attention_dim {transformerConfig.CrossAttentionDim}");
            }

            features = LuminaPromptEncoder.Encode(encoder, tokens);
        }

        NativeHeap.ReleaseGarbage();   // the encoder just freed: its finalizer-only objects and freed pages, before the next one loads
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
}
