using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Configs;
using Ras.Models.Clip;
using Ras.Models.SD3;
using Ras.Models.T5;
using Ras.Models.Vae;
using Ras.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Pipelines.SD3;

/// <summary>
/// Where an SD3 / SD3.5 pipeline's components come from: a diffusers folder (<c>model_index.json</c>, one
/// sub-folder per component) or a Stability single file (<c>model.diffusion_model.*</c>, optionally
/// <c>first_stage_model.*</c> and <c>text_encoders.{clip_l,clip_g,t5xxl}.transformer.*</c>). For a single file,
/// configs come from <c>--config DIR</c> (a diffusers folder of the same family, like diffusers'
/// <c>from_single_file(config=…)</c>) or are inferred from tensor shapes and the family's standard settings;
/// tokenizers come from the config folder or are the built-in ones, and components the file lacks (e.g.
/// <c>sd3_medium.safetensors</c> has no text encoders) come from component files (<c>--clip-l</c>, <c>--clip-g</c>,
/// <c>--t5</c>, <c>--vae</c>) or the config folder's weights. A single file's CLIP-L without
/// <c>text_projection.weight</c> (Stability's <c>sd3_medium_incl_clips*</c>) gets the identity, as diffusers' single-file
/// loader. Components are loaded on demand, so a caller can free each one when its stage is done.
/// </summary>
public sealed class SD3PipelineSource : PipelineSource
{
    /// <summary>The diffusers class name of an SD3 pipeline folder.</summary>
    public const string ClassName = "StableDiffusion3Pipeline";

    /// <summary>Component folders every SD3 pipeline folder has (T5 is optional, as in diffusers).</summary>
    private static readonly string[] RequiredComponents = ["transformer", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler"];

    private const string ClipLPrefix = "text_encoders.clip_l.transformer.";
    private const string ClipGPrefix = "text_encoders.clip_g.transformer.";
    private const string T5Prefix = "text_encoders.t5xxl.transformer.";

    private SD3PipelineSource(string path, string? folder, TensorStore? singleFile, string? configFolder, WeightStorage storage,
        IReadOnlyDictionary<string, ComponentFile> components)
        : base(path, folder, singleFile, configFolder, storage, components)
    {
    }

    /// <summary>True when a T5 encoder is available (SD3 runs without one: zeros, as diffusers).</summary>
    public bool HasT5 => T5Available("text_encoder_3", T5Prefix);

    /// <inheritdoc />
    protected override ModelFamily Family => SD3Family.Instance;

    /// <summary>The component folder each component-file flag stands for.</summary>
    private static readonly Dictionary<string, string> Roles = new(StringComparer.Ordinal)
    {
        ["clip-l"] = "text_encoder", ["clip-g"] = "text_encoder_2", ["t5"] = "text_encoder_3", ["vae"] = "vae",
    };

    /// <summary>
    /// Opens <paramref name="path"/> (a diffusers SD3 folder, or a single <c>.safetensors</c> / <c>.gguf</c> file), with any
    /// separate <paramref name="components"/> (CLIP-L, CLIP-G, T5, VAE files) in place of its own.
    /// </summary>
    /// <exception cref="RasInputException">Not an SD3 pipeline, a malformed file, a config folder of another family, or a missing component file.</exception>
    public static SD3PipelineSource Open(string path, string? configFolder = null, WeightStorage storage = WeightStorage.Auto, ComponentFiles? components = null)
    {
        IReadOnlyDictionary<string, ComponentFile> files = (components ?? ComponentFiles.None).For(SD3Family.Instance.Name, Roles);
        var (folder, file) = OpenPath(path, configFolder, SD3Family.Instance, RequiredComponents, SD3SingleFileConverter.Matches);
        return new SD3PipelineSource(path, folder, file, folder is null ? configFolder : null, storage, files);
    }

    /// <summary>
    /// Throws now, before any stage runs, when a single file lacks a component and neither a component file nor its
    /// <c>--config</c> folder supplies it.
    /// </summary>
    /// <exception cref="RasInputException">The first missing component, named.</exception>
    public void RequireComplete() =>
        RequireComplete(
            [
                ("text_encoder", SingleFileHasClip(ClipLPrefix), ClipLPrefix + "*", "clip-l"),
                ("text_encoder_2", SingleFileHasClip(ClipGPrefix), ClipGPrefix + "*", "clip-g"),
                ("vae", SingleFileHasVae, "first_stage_model.* or vae.*", "vae"),
            ]);

    /// <summary>The transformer's architecture.</summary>
    public SD3TransformerConfig TransformerConfig() =>
        ConfigPath("transformer", "config.json") is string config
            ? SD3TransformerConfig.Load(config)
            : SD3SingleFileConverter.InferConfig(SingleFile!);

    /// <summary>The sampling schedule config (SD3 standard: shift 3 when a single file has no config folder).</summary>
    public FlowMatchEulerDiscreteSchedulerConfig SchedulerConfig() => LoadSchedulerConfig(new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0 });

    /// <summary>The VAE's config (SD3 standard when a single file has no config folder).</summary>
    public AutoencoderKLConfig VaeConfig() => LoadVaeConfig(StandardVae);

    /// <summary>Loads the transformer (held as <see cref="PipelineSource.Storage"/> says).</summary>
    public SD3Transformer2DModel LoadTransformer(Device? device)
    {
        if (SingleFile is null)
        {
            return SD3Transformer2DModel.FromPretrained(Component("transformer"), device, Storage);
        }

        SD3TransformerConfig config = TransformerConfig();
        return ModelLoader.Load(() => new SD3Transformer2DModel(config), SD3SingleFileConverter.Convert(SingleFile, config), Storage, device,
            (model, source) => StateDictBinder.Load(model, source));
    }

    /// <summary>Loads the VAE in float32.</summary>
    public AutoencoderKL LoadVae(Device? device) => LoadVae(VaeConfig(), device);

    /// <summary>
    /// Loads <c>text_encoder</c> (CLIP-L). Stability's <c>sd3_medium_incl_clips*</c> files hold no CLIP-L <c>text_projection</c>:
    /// SD3 then uses CLIP-L's pooled output unprojected, and diffusers' single-file loader sets the projection to
    /// <c>eye(hidden_size)</c>; so do we. CLIP-G, and folders, keep the strict rule: a missing projection is a missing key.
    /// </summary>
    public CLIPTextModelWithProjection LoadClipL(Device? device) => LoadClip("text_encoder", ClipLPrefix, StandardClipL, MissingProjection.IdentityInSingleFile, device);

    /// <summary>Loads <c>text_encoder_2</c> (OpenCLIP bigG).</summary>
    public CLIPTextModelWithProjection LoadClipG(Device? device) => LoadClip("text_encoder_2", ClipGPrefix, StandardClipG, MissingProjection.Error, device);

    /// <summary>Loads <c>text_encoder_3</c> (T5-XXL), or null when the pipeline has none.</summary>
    public T5EncoderModel? LoadT5(Device? device) => HasT5 ? LoadT5("text_encoder_3", T5Prefix, device) : null;

    /// <summary>SD3's CLIP-L (also FLUX.1's text_encoder).</summary>
    internal static readonly CLIPTextConfig StandardClipL = new()
    {
        VocabSize = 49408, HiddenSize = 768, IntermediateSize = 3072, ProjectionDim = 768, NumHiddenLayers = 12, NumAttentionHeads = 12,
        MaxPositionEmbeddings = 77, HiddenAct = ClipActivation.QuickGelu, EosTokenId = 2,
    };

    private static readonly AutoencoderKLConfig StandardVae = new()
    {
        InChannels = 3, OutChannels = 3, LatentChannels = 16, BlockOutChannels = [128, 256, 512, 512], LayersPerBlock = 2,
        NormNumGroups = 32, ScalingFactor = 1.5305, ShiftFactor = 0.0609, UseQuantConv = false, UsePostQuantConv = false,
    };

    private static readonly CLIPTextConfig StandardClipG = new()
    {
        VocabSize = 49408, HiddenSize = 1280, IntermediateSize = 5120, ProjectionDim = 1280, NumHiddenLayers = 32, NumAttentionHeads = 20,
        MaxPositionEmbeddings = 77, HiddenAct = ClipActivation.Gelu, EosTokenId = 2,
    };
}
