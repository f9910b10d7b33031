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
/// <c>first_stage_model.</c> or <c>vae.</c>. Everything a single file lacks comes from its <c>--config</c> folder.
/// </summary>
public sealed class FluxPipelineSource : PipelineSource
{
    /// <summary>The diffusers class name of a FLUX.1 pipeline folder.</summary>
    public const string ClassName = "FluxPipeline";

    private static readonly string[] RequiredComponents = ["transformer", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler"];

    private const string ClipLPrefix = "text_encoders.clip_l.transformer.";
    private const string T5Prefix = "text_encoders.t5xxl.transformer.";

    private FluxPipelineSource(string path, string? folder, TensorStore? singleFile, string? configFolder, WeightStorage storage)
        : base(path, folder, singleFile, configFolder, storage)
    {
    }

    /// <inheritdoc />
    protected override ModelFamily Family => FluxFamily.Instance;

    /// <summary>Opens <paramref name="path"/> (a diffusers FLUX.1 folder or a single <c>.safetensors</c> file).</summary>
    /// <exception cref="RasInputException">Not a FLUX.1 pipeline, a malformed file, or a config folder of another family.</exception>
    public static FluxPipelineSource Open(string path, string? configFolder = null, WeightStorage storage = WeightStorage.Auto)
    {
        var (folder, file) = OpenPath(path, configFolder, FluxFamily.Instance, RequiredComponents, FluxSingleFileConverter.Matches);
        return new FluxPipelineSource(path, folder, file, folder is null ? configFolder : null, storage);
    }

    /// <summary>
    /// Throws now, before any stage runs, when a single file lacks a component (or the tokenizers) and its <c>--config</c> folder
    /// does not supply it.
    /// </summary>
    /// <exception cref="RasInputException">The first missing component, named.</exception>
    public void RequireComplete() =>
        RequireComplete(["tokenizer", "tokenizer_2"],
            [
                ("text_encoder", SingleFileHasClip(ClipLPrefix), ClipLPrefix + "*"),
                ("text_encoder_2", SingleFileHasT5(T5Prefix), T5Prefix + "*"),
                ("vae", SingleFileHasVae, "vae.* or first_stage_model.*"),
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
