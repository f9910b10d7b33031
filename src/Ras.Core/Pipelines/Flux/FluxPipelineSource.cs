using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.Models.Clip;
using Ras.Models.Flux;
using Ras.Models.T5;
using Ras.Models.Vae;
using Ras.Pipelines.SD3;
using Ras.Schedulers;
using static TorchSharp.torch;

namespace Ras.Pipelines.Flux;

/// <summary>
/// Where a FLUX.1 pipeline's components come from: a diffusers <c>FluxPipeline</c> folder (<c>transformer/</c>, <c>vae/</c>,
/// <c>text_encoder/</c> = CLIP-L as <c>CLIPTextModel</c>, <c>text_encoder_2/</c> = T5-XXL, <c>tokenizer/</c>, <c>tokenizer_2/</c>,
/// <c>scheduler/</c>), or a single file in Black Forest Labs' transformer layout (<c>double_blocks.*</c>, <c>single_blocks.*</c>;
/// bare as BFL publishes it, or under ComfyUI's <c>model.diffusion_model.</c>), optionally bundling CLIP-L and T5 under
/// <c>text_encoders.{clip_l,t5xxl}.transformer.</c> and the VAE (BFL's <c>ae.safetensors</c> layout) under
/// <c>first_stage_model.</c> or <c>vae.</c>. What a single file lacks comes from component files (<c>--clip-l</c>, <c>--t5</c>,
/// <c>--vae</c>) or its <c>--config</c> folder; configs and tokenizers it cannot give are the standard ones, built in.
/// </summary>
public sealed class FluxPipelineSource : PipelineSource
{
    /// <summary>The diffusers class name of a FLUX.1 pipeline folder.</summary>
    public const string ClassName = "FluxPipeline";

    private static readonly string[] RequiredComponents = ["transformer", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler"];

    private const string ClipLPrefix = "text_encoders.clip_l.transformer.";
    private const string T5Prefix = "text_encoders.t5xxl.transformer.";

    private FluxPipelineSource(string path, string? folder, TensorStore? singleFile, string? configFolder, WeightStorage storage,
        IReadOnlyDictionary<string, ComponentFile> components)
        : base(path, folder, singleFile, configFolder, storage, components)
    {
    }

    /// <inheritdoc />
    protected override ModelFamily Family => FluxFamily.Instance;

    /// <summary>The component folder each component-file flag stands for (FLUX.1 has no CLIP-G).</summary>
    private static readonly Dictionary<string, string> Roles = new(StringComparer.Ordinal)
    {
        ["clip-l"] = "text_encoder", ["t5"] = "text_encoder_2", ["vae"] = "vae",
    };

    /// <summary>
    /// Opens <paramref name="path"/> (a diffusers FLUX.1 folder, or a single <c>.safetensors</c> / <c>.gguf</c> file), with any
    /// separate <paramref name="components"/> (CLIP-L, T5, VAE files) in place of its own.
    /// </summary>
    /// <exception cref="RasInputException">Not a FLUX.1 pipeline, a malformed file, a config folder of another family, or a missing component file.</exception>
    public static FluxPipelineSource Open(string path, string? configFolder = null, WeightStorage storage = WeightStorage.Auto, ComponentFiles? components = null)
    {
        IReadOnlyDictionary<string, ComponentFile> files = (components ?? ComponentFiles.None).For(FluxFamily.Instance.Name, Roles);
        var (folder, file) = OpenPath(path, configFolder, FluxFamily.Instance, RequiredComponents, FluxSingleFileConverter.Matches);
        return new FluxPipelineSource(path, folder, file, folder is null ? configFolder : null, storage, files);
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
                ("text_encoder_2", SingleFileHasT5(T5Prefix), T5Prefix + "*", "t5"),
                ("vae", SingleFileHasVae, "vae.* or first_stage_model.*", "vae"),
            ]);

    /// <summary>The transformer's architecture: the folder's config, else inferred from the single file's shapes.</summary>
    public FluxTransformerConfig TransformerConfig() =>
        ConfigPath("transformer", "config.json") is string config
            ? FluxTransformerConfig.Load(config)
            : FluxSingleFileConverter.InferConfig(SingleFile!);

    /// <summary>The schedule config: the folder's, else FLUX.1-dev's (dynamic shift) or schnell's by the transformer.</summary>
    public FlowMatchEulerDiscreteSchedulerConfig SchedulerConfig() => LoadSchedulerConfig(FluxSchedule.StandardConfig(TransformerConfig().GuidanceEmbeds));

    /// <summary>The VAE's config: the folder's, else FLUX.1's (16 channels, scaling 0.3611, shift 0.1159).</summary>
    public AutoencoderKLConfig VaeConfig() => LoadVaeConfig(StandardVae);

    /// <summary>Loads the transformer (held as <see cref="PipelineSource.Storage"/> says).</summary>
    public FluxTransformer2DModel LoadTransformer(Device? device)
    {
        if (SingleFile is null)
        {
            return FluxTransformer2DModel.FromPretrained(Component("transformer"), device, Storage);
        }

        FluxTransformerConfig config = TransformerConfig();
        return ModelLoader.Load(() => new FluxTransformer2DModel(config), FluxSingleFileConverter.Convert(SingleFile, config), Storage, device,
            (model, source) => StateDictBinder.Load(model, source));
    }

    /// <summary>Loads the VAE in float32.</summary>
    public AutoencoderKL LoadVae(Device? device) => LoadVae(VaeConfig(), device);

    /// <summary>Loads <c>text_encoder</c>: CLIP-L as diffusers' <c>CLIPTextModel</c> (no projection: its pooled output is used as it is).</summary>
    public CLIPTextModelWithProjection LoadClip(Device? device) => LoadClip("text_encoder", ClipLPrefix, SD3PipelineSource.StandardClipL, MissingProjection.Identity, device);

    /// <summary>Loads <c>text_encoder_2</c> (T5-XXL).</summary>
    /// <exception cref="RasInputException">Neither the file nor the folders have one.</exception>
    public T5EncoderModel LoadT5(Device? device) => LoadT5("text_encoder_2", T5Prefix, device);

    private static readonly AutoencoderKLConfig StandardVae = new()
    {
        InChannels = 3, OutChannels = 3, LatentChannels = 16, BlockOutChannels = [128, 256, 512, 512], LayersPerBlock = 2,
        NormNumGroups = 32, ScalingFactor = 0.3611, ShiftFactor = 0.1159, UseQuantConv = false, UsePostQuantConv = false,
    };
}
