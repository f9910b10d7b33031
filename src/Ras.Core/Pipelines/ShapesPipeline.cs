using System.Diagnostics;
using System.Text.Json;
using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Configs;
using Ras.IO.Files;
using Ras.IO.Images;
using Ras.Native;
using Ras.IO.Safetensors;
using Ras.Models.Shapes;
using Ras.Models.SD3;
using Ras.Pipelines.SD3;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Pipelines;

/// <summary>
/// Text-to-image and image-to-image with the default model ("ras-shapes"): tokenize, encode, flow-matching Euler with CFG
/// (optionally RAS) directly in pixel space. A model folder mirrors diffusers' layout: <c>model_index.json</c>,
/// <c>transformer/</c>, <c>text_encoder/</c>, <c>tokenizer/vocab.json</c>, <c>scheduler/</c>.
/// </summary>
public sealed class ShapesPipeline : ITextToImagePipeline
{
    /// <summary>The <c>_class_name</c> in <c>model_index.json</c>.</summary>
    public const string ClassName = "RasShapesPipeline";

    /// <summary>Default denoising steps.</summary>
    public const int DefaultSteps = 20;

    /// <summary>The steps <c>--ras</c> uses when none are given: the preset is RAS combined with fewer steps (see <see cref="RecommendedRas"/>).</summary>
    public const int RecommendedRasSteps = 14;

    /// <summary>Default guidance scale.</summary>
    public const double DefaultGuidance = 4.0;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly bool ownsModules;

    /// <summary>
    /// The RAS settings <c>--ras</c> uses for this model (explicit options override them), chosen by the frontier sweep
    /// (docs/sweeps/ras-shapes-validation.json, 100 validation prompts; README "Where RAS wins"): the best RAS configuration
    /// at ≥ 1.8× fewer FLOPs than dense 20 steps — on <see cref="RecommendedRasSteps"/> steps, half of the tokens per RAS
    /// step from step 2, ranked by how much each token's velocity changed since the previous step
    /// (<see cref="RasMetric.Delta"/>) over its 3×3 neighbourhood (dilation 1), with <c>revisit</c> selection and every
    /// skipped token taken from the low scores (high ratio 0); resets at their step-count-relative defaults. 2.11× fewer
    /// FLOPs at 91 % adherence, SSIM 0.863 (dense 92 %); the previous preset (20 steps, ratio 0.35) gave 1.88× at 91 %,
    /// SSIM 0.833.
    /// </summary>
    public static RasOptions RecommendedRas { get; } = new()
    {
        SampleRatio = 0.5,
        Metric = RasMetric.Delta,
        HighRatio = 0,
        StarvationScale = 1.0,
        SchedulerStartStep = 2,
        Dilate = 1,
        Selection = RasSelectionMode.Revisit,
    };

    /// <summary>Assembles a pipeline from modules (owned by the caller unless <paramref name="ownsModules"/>).</summary>
    public ShapesPipeline(SD3Transformer2DModel transformer, ShapesTextEncoder textEncoder, WordTokenizer tokenizer,
        FlowMatchEulerDiscreteSchedulerConfig scheduler, bool ownsModules = false)
    {
        Transformer = transformer ?? throw new ArgumentNullException(nameof(transformer));
        TextEncoder = textEncoder ?? throw new ArgumentNullException(nameof(textEncoder));
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        Scheduler = new FlowMatchEulerDiscreteScheduler(scheduler);
        this.ownsModules = ownsModules;
    }

    /// <summary>The transformer.</summary>
    public SD3Transformer2DModel Transformer { get; }

    /// <inheritdoc />
    public string Description { get; private init; } = "ras-shapes";

    /// <inheritdoc />
    public ModelFamily Family => ShapesFamily.Instance;

    /// <summary>The native image edge in pixels: the model works in pixel space, so it is <c>sample_size</c>.</summary>
    public int ImageSize => Transformer.Config.SampleSize;

    /// <inheritdoc />
    public PipelineDefaults Defaults
    {
        get
        {
            int patch = Transformer.Config.PatchSize;
            return new PipelineDefaults(DefaultSteps, DefaultGuidance, ImageSize, ImageSize, patch, Transformer.Config.PosEmbedMaxSize * patch, RecommendedRas, SupportsImageToImage: true,
                RecommendedRasSteps: RecommendedRasSteps);
        }
    }

    /// <summary>The text encoder.</summary>
    public ShapesTextEncoder TextEncoder { get; }

    /// <summary>The tokenizer.</summary>
    public WordTokenizer Tokenizer { get; }

    /// <summary>The sampling schedule.</summary>
    public FlowMatchEulerDiscreteScheduler Scheduler { get; }

    /// <summary>True when <paramref name="folder"/>'s <c>model_index.json</c> names this pipeline.</summary>
    public static bool IsShapesFolder(string folder)
    {
        string index = Path.Combine(folder, "model_index.json");
        return File.Exists(index) && JsonConfig.Load(index).ClassName == ClassName;
    }

    /// <summary>Loads a model folder (weights of any stored float dtype, computed in float32).</summary>
    public static ShapesPipeline Load(string folder, Device? device = null)
    {
        JsonConfig.Load(Path.Combine(folder, "model_index.json")).RequireClass(ClassName);
        var textConfig = ShapesTextEncoderConfig.Load(Path.Combine(folder, "text_encoder", "config.json"));
        var tokenizer = WordTokenizer.Load(Path.Combine(folder, "tokenizer"), textConfig.MaxPositionEmbeddings);
        if (tokenizer.Vocabulary.Count != textConfig.VocabSize)
        {
            throw new ConfigException(Path.Combine(folder, "text_encoder", "config.json"), "vocab_size",
                $"is {textConfig.VocabSize} but tokenizer/vocab.json has {tokenizer.Vocabulary.Count} entries");
        }

        var scheduler = FlowMatchEulerDiscreteSchedulerConfig.Load(Path.Combine(folder, "scheduler", "scheduler_config.json"));
        SD3Transformer2DModel transformer = SD3Transformer2DModel.FromPretrained(Path.Combine(folder, "transformer"), device);
        var textEncoder = new ShapesTextEncoder(textConfig);
        try
        {
            using (var store = TensorStore.OpenComponent(Path.Combine(folder, "text_encoder"), "model"))
            {
                StateDictBinder.Load(textEncoder, store);
            }

            textEncoder.eval();
            if (device is not null)
            {
                textEncoder.to(device);
            }
        }
        catch
        {
            transformer.Dispose();
            textEncoder.Dispose();
            throw;
        }

        return new ShapesPipeline(transformer, textEncoder, tokenizer, scheduler, ownsModules: true) { Description = $"ras-shapes ({folder})" };
    }

    /// <summary>Writes a model folder with the weights stored as <paramref name="dtype"/> (fp16 for shipping).</summary>
    public static void Save(string folder, SD3Transformer2DModel transformer, ShapesTextEncoder textEncoder, WordTokenizer tokenizer,
        FlowMatchEulerDiscreteSchedulerConfig scheduler, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        ArgumentNullException.ThrowIfNull(textEncoder);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(scheduler);
        foreach (string part in new[] { "transformer", "text_encoder", "tokenizer", "scheduler" })
        {
            Directory.CreateDirectory(Path.Combine(folder, part));
        }

        AtomicFile.WriteText(Path.Combine(folder, "model_index.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["_class_name"] = ClassName,
            ["transformer"] = new[] { "ras", nameof(SD3Transformer2DModel) },
            ["text_encoder"] = new[] { "ras", nameof(ShapesTextEncoder) },
            ["tokenizer"] = new[] { "ras", nameof(WordTokenizer) },
            ["scheduler"] = new[] { "diffusers", FlowMatchEulerDiscreteSchedulerConfig.ClassName },
        }, Indented));
        AtomicFile.WriteText(Path.Combine(folder, "transformer", "config.json"), transformer.Config.ToJson());
        AtomicFile.WriteText(Path.Combine(folder, "text_encoder", "config.json"), textEncoder.Config.ToJson());
        AtomicFile.WriteText(Path.Combine(folder, "tokenizer", "vocab.json"), JsonSerializer.Serialize(tokenizer.Vocabulary, Indented));
        AtomicFile.WriteText(Path.Combine(folder, "scheduler", "scheduler_config.json"), scheduler.ToJson());
        WriteWeights(Path.Combine(folder, "transformer", "diffusion_pytorch_model.safetensors"), transformer, dtype);
        WriteWeights(Path.Combine(folder, "text_encoder", "model.safetensors"), textEncoder, dtype);
    }

    /// <inheritdoc />
    public Task<ImageGeneration> GenerateAsync(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Task.Run(() => Generate(request, progress, cancellationToken), cancellationToken);
    }

    /// <inheritdoc />
    public ImageGeneration Generate(ImageRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Shift is not null)
        {
            throw new OptionsException("shift", "is not available for the ras-shapes model");
        }

        if (request.Extras is { } extras)
        {
            throw new OptionsException(extras.OptionNames().FirstOrDefault() ?? "extras", $"is a {extras.FamilyName} setting; this is the ras-shapes model");
        }

        if (request.ImagesPerPrompt < 1)
        {
            throw new OptionsException("batch", $"must be at least 1, found {request.ImagesPerPrompt}");
        }

        PipelineDefaults defaults = Defaults;
        var shapes = new ShapesRequest
        {
            Prompts = [.. request.Prompts.SelectMany(p => Enumerable.Repeat(p, request.ImagesPerPrompt))],
            NegativePrompt = request.NegativePrompt,
            Seed = request.Seed,
            Steps = request.Steps ?? defaults.Steps,
            GuidanceScale = request.GuidanceScale ?? defaults.GuidanceScale,
            Width = request.Width ?? DefaultEdge(request.InitImage?.Width, defaults),
            Height = request.Height ?? DefaultEdge(request.InitImage?.Height, defaults),
            Ras = request.Ras,
            InitImage = request.InitImage,
            Strength = request.Strength,
            SeedPerImage = request.SeedPerImage,
            Stop = request.Stop,
        };
        cancellationToken.ThrowIfCancellationRequested();
        ShapesGeneration result = Generate(shapes, SynchronousProgress.ForDenoise(progress), request.Preview, cancellationToken);
        var warnings = result.UnknownWords.Distinct().Select(w => $"'{w}' is not in the model's vocabulary; it was mapped to the unknown token").ToList();
        if (result.Truncated)
        {
            warnings.Add($"the prompt was truncated to {Tokenizer.MaxLength} words");
        }

        var settings = new ResolvedSettings(shapes.Steps, shapes.Steps - StartStep(shapes), shapes.GuidanceScale, Scheduler.Config.Shift, shapes.Ras.ResolvedFor(shapes.Steps));
        return new ImageGeneration(result.Images, result.Width, result.Height, settings, result.Steps, result.TokenComputeCounts, result.PatchSize,
            warnings, new Dictionary<string, double> { ["denoise"] = result.Elapsed.TotalSeconds });
    }

    /// <summary>Generates one image per prompt.</summary>
    /// <exception cref="OptionsException">Invalid size, steps or RAS options.</exception>
    public ShapesGeneration Generate(ShapesRequest request, IProgress<SamplerProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Generate(request, progress, preview: false, cancellationToken);

    private ShapesGeneration Generate(ShapesRequest request, IProgress<SamplerProgress>? progress, bool preview, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        int patch = Transformer.Config.PatchSize;
        int maxSize = Transformer.Config.PosEmbedMaxSize * patch;
        ValidateSize("width", request.Width, patch, maxSize);
        ValidateSize("height", request.Height, patch, maxSize);
        if (request.Prompts.Count == 0)
        {
            throw new OptionsException("prompt", "at least one prompt is needed");
        }

        int startStep = StartStep(request);
        var sampler = new SamplerOptions
        {
            Steps = request.Steps,
            CfgScale = request.GuidanceScale,
            StartStep = startStep,
            Stop = request.Stop,
            Preview = preview ? latents => new LatentPreview(request.Width, request.Height, ImageTensors.ToRgbBytes(latents[0])) : null,
        };
        sampler.Validate();
        RasPlan.Create(request.Ras, sampler.Steps - startStep, request.Height / patch, request.Width / patch);

        var clock = Stopwatch.StartNew();
        int batch = request.Prompts.Count;
        var tokenized = request.Prompts.Select(Tokenizer.Encode).ToList();
        TokenizedPrompt negative = Tokenizer.Encode(request.NegativePrompt);
        Device device = Transformer.parameters().First().device;
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        Tensor ids = tensor(tokenized.SelectMany(t => t.Ids).ToArray(), [batch, Tokenizer.MaxLength]).to(device);
        var (hidden, pooled) = TextEncoder.Forward(ids);
        Tensor? negativeHidden = null;
        Tensor? negativePooled = null;
        if (sampler.UsesCfg)
        {
            Tensor negativeIds = tensor(negative.Ids, [1, Tokenizer.MaxLength]).to(device);
            (negativeHidden, negativePooled) = TextEncoder.Forward(negativeIds);
        }

        using var conditioning = SD3Conditioning.Create(hidden, pooled, negativeHidden, negativePooled, batch, sampler.UsesCfg);
        long[] shape = [batch, Transformer.Config.InChannels, request.Height, request.Width];
        Tensor noise = request.SeedPerImage ? InitialNoise.DrawPerImage(shape, request.Seed, device) : InitialNoise.Draw(shape, request.Seed, device);
        FlowMatchSchedule schedule = Scheduler.SetTimesteps(sampler.Steps);
        if (request.InitImage is not null)
        {
            // Pixel space: the clean sample is the image itself, noised to the first step's sigma exactly as the latent families
            // noise their VAE latents (σ·noise + (1 − σ)·x₀, diffusers' scale_noise).
            Tensor clean = ImageTensors.FromRgb(request.InitImage, request.Width, request.Height).to(device);
            float sigma = schedule.Sigmas[startStep];
            noise = noise.mul(sigma).add(clean.expand(shape).mul(1f - sigma));
        }

        using var session = new RasSession(request.Ras);
        Tensor images;
        using (Ras.Models.Common.CancelBetweenBlocks.Install(Transformer, cancellationToken))
        {
            images = FlowMatchEulerSampler.Sample(new SD3Denoiser(Transformer, conditioning), schedule, noise, sampler, session, progress, cancellationToken);
        }

        NativeHeap.ReleaseGarbage();   // the loop's finalizer-only native objects (see there), so memory stays flat over many calls
        var rgb = Enumerable.Range(0, batch).Select(b => ImageTensors.ToRgbBytes(images[b])).ToList();
        return new ShapesGeneration(rgb, request.Width, request.Height, [.. session.Records], session.TokenComputeCounts(), patch, clock.Elapsed,
            [.. tokenized.SelectMany(t => t.UnknownWords).Concat(negative.UnknownWords)], tokenized.Any(t => t.Truncated) || negative.Truncated);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (ownsModules)
        {
            Transformer.Dispose();
            TextEncoder.Dispose();
        }
    }

    /// <summary>
    /// diffusers' <c>get_timesteps</c> for image-to-image (<c>t_start = int(steps − min(steps·strength, steps))</c>); 0 for text-to-image.
    /// </summary>
    private static int StartStep(ShapesRequest request)
    {
        if (request.InitImage is null)
        {
            return 0;
        }

        if (!double.IsFinite(request.Strength) || request.Strength <= 0 || request.Strength > 1)
        {
            throw new OptionsException("strength", $"must be in (0, 1], found {request.Strength}");
        }

        return (int)Math.Max(request.Steps - Math.Min(request.Steps * request.Strength, request.Steps), 0);
    }

    /// <summary>The input image's edge rounded down to the size multiple when it fits the model, else the native size.</summary>
    private static int DefaultEdge(int? input, PipelineDefaults defaults) =>
        input is int edge && edge / defaults.SizeMultiple * defaults.SizeMultiple is int rounded && rounded >= defaults.SizeMultiple && rounded <= defaults.MaxSize
            ? rounded : defaults.Width;

    private static void ValidateSize(string option, int value, int multiple, int max)
    {
        if (value <= 0 || value % multiple != 0 || value > max)
        {
            throw new OptionsException(option, $"must be a multiple of {multiple} between {multiple} and {max} (the model's position table), found {value}");
        }
    }

    private static void WriteWeights(string path, nn.Module module, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var tensors = module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().to_type(dtype));
        SafetensorsWriter.Write(path, tensors);
    }
}
