using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Configs;
using Ras.Models.Gemma;
using Ras.Models.Lumina;
using Ras.Models.Vae;
using Ras.Schedulers;
using static TorchSharp.torch;

namespace Ras.Pipelines.Lumina;

/// <summary>
/// A diffusers <c>LuminaText2ImgPipeline</c> folder: <c>transformer/</c> (<see cref="LuminaNextDiT2DModel"/>),
/// <c>text_encoder/</c> (<see cref="GemmaModel"/>), <c>tokenizer/</c> (Gemma SentencePiece), <c>vae/</c>
/// (<see cref="AutoencoderKL"/>) and <c>scheduler/</c>. Configs are read on demand; each component is loaded only when
/// asked for, so a caller can free it when its stage is done.
/// </summary>
public sealed class LuminaPipelineSource
{
    /// <summary>The diffusers class name of a Lumina-Next pipeline folder.</summary>
    public const string ClassName = "LuminaText2ImgPipeline";

    private static readonly string[] RequiredComponents = ["transformer", "text_encoder", "tokenizer", "vae", "scheduler"];

    private LuminaPipelineSource(string folder, WeightStorage storage)
    {
        Folder = folder;
        Storage = storage;
    }

    /// <summary>The pipeline folder.</summary>
    public string Folder { get; }

    /// <summary>How the transformer's and Gemma's weights are held (the VAE is small and always float32).</summary>
    public WeightStorage Storage { get; }

    /// <summary>The <c>tokenizer/</c> folder.</summary>
    public string TokenizerFolder => Path.Combine(Folder, "tokenizer");

    /// <summary>Opens <paramref name="folder"/>, checking <c>model_index.json</c>'s class and that every component folder exists.</summary>
    /// <exception cref="RasInputException">Not a folder, no <c>model_index.json</c>, or a component folder is missing.</exception>
    /// <exception cref="ConfigException"><c>_class_name</c> is not <see cref="ClassName"/>.</exception>
    public static LuminaPipelineSource Open(string folder, WeightStorage storage = WeightStorage.Auto)
    {
        PipelineFolder.Require(folder, LuminaFamily.Instance, RequiredComponents);
        return new LuminaPipelineSource(folder, storage);
    }

    /// <summary>The transformer's architecture.</summary>
    public LuminaNextDiT2DModelConfig TransformerConfig() => LuminaNextDiT2DModelConfig.Load(Config("transformer", "config.json"));

    /// <summary>The VAE's config.</summary>
    public AutoencoderKLConfig VaeConfig() => AutoencoderKLConfig.Load(Config("vae", "config.json"));

    /// <summary>The sampling schedule's config.</summary>
    public FlowMatchEulerDiscreteSchedulerConfig SchedulerConfig() => FlowMatchEulerDiscreteSchedulerConfig.Load(Config("scheduler", "scheduler_config.json"));

    /// <summary>Loads the transformer (held as <see cref="Storage"/> says).</summary>
    public LuminaNextDiT2DModel LoadTransformer(Device? device) => LuminaNextDiT2DModel.FromPretrained(Path.Combine(Folder, "transformer"), device, Storage);

    /// <summary>Loads the Gemma text encoder (held as <see cref="Storage"/> says).</summary>
    public GemmaModel LoadTextEncoder(Device? device) => GemmaModel.FromPretrained(Path.Combine(Folder, "text_encoder"), device, Storage);

    /// <summary>Loads the VAE in float32.</summary>
    public AutoencoderKL LoadVae(Device? device) => AutoencoderKL.FromPretrained(Path.Combine(Folder, "vae"), device);

    private string Config(string component, string file)
    {
        string path = Path.Combine(Folder, component, file);
        return File.Exists(path) ? path : throw new RasInputException($"{Folder}: {component}/{file} is missing");
    }
}
