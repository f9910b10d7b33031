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
/// tokenizer files must come from the config folder, and components the file lacks (e.g. <c>sd3_medium.safetensors</c>
/// has no text encoders) are loaded from the config folder's weights. A single file's CLIP-L without
/// <c>text_projection.weight</c> (Stability's <c>sd3_medium_incl_clips*</c>) gets the identity, as diffusers' single-file
/// loader. Components are loaded on demand, so a caller can free each one when its stage is done.
/// </summary>
public sealed class SD3PipelineSource : IDisposable
{
    /// <summary>The diffusers class name of an SD3 pipeline folder.</summary>
    public const string ClassName = "StableDiffusion3Pipeline";

    /// <summary>Component folders every SD3 pipeline folder has (T5 is optional, as in diffusers).</summary>
    private static readonly string[] RequiredComponents = ["transformer", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler"];

    private const string ClipLPrefix = "text_encoders.clip_l.transformer.";
    private const string ClipGPrefix = "text_encoders.clip_g.transformer.";
    private const string T5Prefix = "text_encoders.t5xxl.transformer.";
    private const string ProjectionKey = "text_projection.weight";
    private readonly TensorStore? singleFile;

    private SD3PipelineSource(string path, string? folder, TensorStore? singleFile, string? configFolder, WeightStorage storage)
    {
        Storage = storage;
        Path = path;
        Folder = folder;
        this.singleFile = singleFile;
        ConfigFolder = configFolder;
    }

    /// <summary>How the transformer's and T5's weights are held (the CLIPs and the VAE are small and always float32).</summary>
    public WeightStorage Storage { get; }

    /// <summary>What the user pointed at.</summary>
    public string Path { get; }

    /// <summary>The diffusers folder, or null for a single file.</summary>
    public string? Folder { get; }

    /// <summary>The <c>--config</c> folder of a single file, or null.</summary>
    public string? ConfigFolder { get; }

    /// <summary>True for a Stability single-file checkpoint.</summary>
    public bool IsSingleFile => singleFile is not null;

    /// <summary>True when a T5 encoder is available (SD3 runs without one: zeros, as diffusers).</summary>
    public bool HasT5 => singleFile is null
        ? Directory.Exists(System.IO.Path.Combine(Folder!, "text_encoder_3"))
        : singleFile.Contains(T5Prefix + "shared.weight") || singleFile.Contains(T5Prefix + "encoder.embed_tokens.weight") || ConfigWeights("text_encoder_3") is not null;

    /// <summary>Opens <paramref name="path"/> (a diffusers SD3 folder or a single <c>.safetensors</c> file).</summary>
    /// <exception cref="RasInputException">Not an SD3 pipeline, a malformed file, or a config folder of another family.</exception>
    public static SD3PipelineSource Open(string path, string? configFolder = null, WeightStorage storage = WeightStorage.Auto)
    {
        if (configFolder is not null)
        {
            PipelineFolder.Require(configFolder, SD3Family.Instance, [], "--config");
        }

        if (Directory.Exists(path))
        {
            PipelineFolder.Require(path, SD3Family.Instance, RequiredComponents);
            return new SD3PipelineSource(path, path, null, null, storage);
        }

        if (!File.Exists(path))
        {
            throw new RasInputException($"{path}: no such file or folder");
        }

        var store = TensorStore.OpenFile(path);
        if (!SD3SingleFileConverter.Matches(store))
        {
            store.Dispose();
            throw new RasInputException($"{path}: not an SD3 / SD3.5 single-file checkpoint (no keys like {SD3SingleFileConverter.Prefix}joint_blocks.0.x_block.attn.qkv.weight)");
        }

        return new SD3PipelineSource(path, null, store, configFolder, storage);
    }

    /// <summary>The transformer's architecture.</summary>
    public SD3TransformerConfig TransformerConfig() =>
        ConfigPath("transformer", "config.json") is string config
            ? SD3TransformerConfig.Load(config)
            : SD3SingleFileConverter.InferConfig(singleFile!);

    /// <summary>The sampling schedule config (SD3 standard: shift 3 when a single file has no config folder).</summary>
    public FlowMatchEulerDiscreteSchedulerConfig SchedulerConfig() =>
        ConfigPath("scheduler", "scheduler_config.json") is string config
            ? FlowMatchEulerDiscreteSchedulerConfig.Load(config)
            : new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0 };

    /// <summary>The VAE's config (SD3 standard when a single file has no config folder).</summary>
    public AutoencoderKLConfig VaeConfig() =>
        ConfigPath("vae", "config.json") is string config ? AutoencoderKLConfig.Load(config) : StandardVae;

    /// <summary>Loads the transformer (held as <see cref="Storage"/> says).</summary>
    public SD3Transformer2DModel LoadTransformer(Device? device)
    {
        if (singleFile is null)
        {
            return SD3Transformer2DModel.FromPretrained(Component("transformer"), device, Storage);
        }

        SD3TransformerConfig config = TransformerConfig();
        return ModelLoader.Load(() => new SD3Transformer2DModel(config), SD3SingleFileConverter.Convert(singleFile, config), Storage, device,
            (model, source) => StateDictBinder.Load(model, source));
    }

    /// <summary>Loads the VAE in float32.</summary>
    public AutoencoderKL LoadVae(Device? device)
    {
        if (singleFile is null)
        {
            return AutoencoderKL.FromPretrained(Component("vae"), device);
        }

        if (!VaeLdmConverter.Matches(singleFile))
        {
            return ConfigWeights("vae") is string vae ? AutoencoderKL.FromPretrained(vae, device)
                : throw new RasInputException($"{Path}: this single file has no VAE (first_stage_model.*); pass --config DIR with a diffusers SD3 folder that has vae/ weights, or use a file that includes one");
        }

        AutoencoderKLConfig config = VaeConfig();
        return ModelLoader.Bind(new AutoencoderKL(config), m => StateDictBinder.Load(m, VaeLdmConverter.Convert(singleFile, config)), device);
    }

    /// <summary>Loads <c>text_encoder</c> (CLIP-L).</summary>
    public CLIPTextModelWithProjection LoadClipL(Device? device) => LoadClip("text_encoder", ClipLPrefix, StandardClipL, device);

    /// <summary>Loads <c>text_encoder_2</c> (OpenCLIP bigG).</summary>
    public CLIPTextModelWithProjection LoadClipG(Device? device) => LoadClip("text_encoder_2", ClipGPrefix, StandardClipG, device);

    /// <summary>Loads <c>text_encoder_3</c> (T5-XXL), or null when the pipeline has none.</summary>
    public T5EncoderModel? LoadT5(Device? device)
    {
        if (!HasT5)
        {
            return null;
        }

        if (singleFile is null)
        {
            return T5EncoderModel.FromPretrained(Component("text_encoder_3"), device, Storage);
        }

        if (!singleFile.Contains(T5Prefix + "shared.weight") && !singleFile.Contains(T5Prefix + "encoder.embed_tokens.weight"))
        {
            return T5EncoderModel.FromPretrained(ConfigWeights("text_encoder_3")!, device, Storage);
        }

        T5Config config = ConfigPath("text_encoder_3", "config.json") is string path ? T5Config.Load(path) : InferT5();
        return ModelLoader.Load(() => new T5EncoderModel(config), MappedTensorSource.WithoutPrefix(singleFile, T5Prefix), Storage, device, T5EncoderModel.Bind);
    }

    /// <summary>
    /// The tokenizer folder <paramref name="name"/> (<c>tokenizer</c>, <c>tokenizer_2</c>, <c>tokenizer_3</c>): from the
    /// pipeline folder, or for a single file from its <c>--config</c> folder.
    /// </summary>
    /// <exception cref="RasInputException">The folder is missing (single files carry no tokenizer files).</exception>
    public string TokenizerFolder(string name)
    {
        string? root = Folder ?? ConfigFolder;
        if (root is null)
        {
            throw new RasInputException($"{Path}: a single-file checkpoint carries no tokenizer files; pass --config DIR, a diffusers SD3 folder with {name}/ (and the other tokenizer folders)");
        }

        string folder = System.IO.Path.Combine(root, name);
        return Directory.Exists(folder) ? folder : throw new RasInputException($"{root}: tokenizer folder {name}/ is missing");
    }

    /// <inheritdoc />
    public void Dispose() => singleFile?.Dispose();

    private static readonly AutoencoderKLConfig StandardVae = new()
    {
        InChannels = 3, OutChannels = 3, LatentChannels = 16, BlockOutChannels = [128, 256, 512, 512], LayersPerBlock = 2,
        NormNumGroups = 32, ScalingFactor = 1.5305, ShiftFactor = 0.0609, UseQuantConv = false, UsePostQuantConv = false,
    };

    private static readonly CLIPTextConfig StandardClipL = new()
    {
        VocabSize = 49408, HiddenSize = 768, IntermediateSize = 3072, ProjectionDim = 768, NumHiddenLayers = 12, NumAttentionHeads = 12,
        MaxPositionEmbeddings = 77, HiddenAct = ClipActivation.QuickGelu, EosTokenId = 2,
    };

    private static readonly CLIPTextConfig StandardClipG = new()
    {
        VocabSize = 49408, HiddenSize = 1280, IntermediateSize = 5120, ProjectionDim = 1280, NumHiddenLayers = 32, NumAttentionHeads = 20,
        MaxPositionEmbeddings = 77, HiddenAct = ClipActivation.Gelu, EosTokenId = 2,
    };

    /// <summary>The <c>--config</c> folder's <paramref name="component"/> folder when it holds weights (for parts a single file lacks).</summary>
    private string? ConfigWeights(string component)
    {
        if (ConfigFolder is null)
        {
            return null;
        }

        string folder = System.IO.Path.Combine(ConfigFolder, component);
        return Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.safetensors*").Any() ? folder : null;
    }

    private string Component(string name)
    {
        string folder = System.IO.Path.Combine(Folder!, name);
        return Directory.Exists(folder) ? folder : throw new RasInputException($"{Folder}: component folder {name}/ is missing");
    }

    private string? ConfigPath(string component, string file)
    {
        string? root = Folder ?? ConfigFolder;
        string? path = root is null ? null : System.IO.Path.Combine(root, component, file);
        if (path is not null && File.Exists(path))
        {
            return path;
        }

        return Folder is not null ? throw new RasInputException($"{Folder}: {component}/{file} is missing") : null;
    }

    private CLIPTextModelWithProjection LoadClip(string component, string prefix, CLIPTextConfig standard, Device? device)
    {
        if (singleFile is null)
        {
            return CLIPTextModelWithProjection.FromPretrained(Component(component), device);
        }

        if (!singleFile.Contains(prefix + "text_model.embeddings.token_embedding.weight"))
        {
            return ConfigWeights(component) is string folder ? CLIPTextModelWithProjection.FromPretrained(folder, device)
                : throw new RasInputException($"{Path}: this single file has no {component} ({prefix}*); pass --config DIR with a diffusers SD3 folder that has {component}/ weights, or use a file that bundles the text encoders");
        }

        string? configPath = ConfigPath(component, "config.json");
        CLIPTextConfig config = configPath is not null ? CLIPTextConfig.Load(configPath) : InferClip(prefix, standard);
        ITensorSource source = MappedTensorSource.WithoutPrefix(singleFile, prefix);
        if (prefix == ClipLPrefix && !source.Contains(ProjectionKey))
        {
            // Stability's sd3_medium_incl_clips* files hold no CLIP-L text_projection: SD3 uses CLIP-L's pooled output
            // unprojected, and diffusers' single-file loader (create_diffusers_clip_model_from_ldm) sets the projection to
            // eye(hidden_size). CLIP-G, and folders, keep the strict rule: a missing projection is a missing key.
            if (config.ProjectionDim != config.HiddenSize)
            {
                throw new ConfigException(configPath!, "projection_dim",
                    $"is {config.ProjectionDim}, but {Path} has no {prefix}{ProjectionKey}, which stands for the identity (as diffusers' single-file loader), so it must equal hidden_size {config.HiddenSize}");
            }

            source = new SupplementedTensorSource(source, new Dictionary<string, SuppliedTensor>(StringComparer.Ordinal) { [ProjectionKey] = SuppliedTensor.Identity(config.HiddenSize) });
        }

        return ModelLoader.Bind(new CLIPTextModelWithProjection(config), m => StateDictBinder.Load(m, source, ignore: CLIPTextModelWithProjection.IsPositionIds), device);
    }

    private CLIPTextConfig InferClip(string prefix, CLIPTextConfig standard)
    {
        long[] tokens = singleFile!.ShapeOf(prefix + "text_model.embeddings.token_embedding.weight");
        int layers = singleFile.Keys.Count(k => k.StartsWith(prefix + "text_model.encoder.layers.", StringComparison.Ordinal) && k.EndsWith(".self_attn.q_proj.weight", StringComparison.Ordinal));
        long[] fc1 = singleFile.ShapeOf(prefix + "text_model.encoder.layers.0.mlp.fc1.weight");

        // Without a projection (CLIP-L in Stability's files) the width is the hidden size: the identity stands in.
        long[] projection = singleFile.Contains(prefix + ProjectionKey) ? singleFile.ShapeOf(prefix + ProjectionKey) : tokens[1..];
        return standard with
        {
            VocabSize = (int)tokens[0], HiddenSize = (int)tokens[1], NumHiddenLayers = layers, IntermediateSize = (int)fc1[0],
            ProjectionDim = (int)projection[0], NumAttentionHeads = (int)tokens[1] / 64,
        };
    }

    private T5Config InferT5()
    {
        string embed = singleFile!.Contains(T5Prefix + "shared.weight") ? T5Prefix + "shared.weight" : T5Prefix + "encoder.embed_tokens.weight";
        long[] tokens = singleFile.ShapeOf(embed);
        long[] q = singleFile.ShapeOf(T5Prefix + "encoder.block.0.layer.0.SelfAttention.q.weight");
        long[] wi = singleFile.ShapeOf(T5Prefix + "encoder.block.0.layer.1.DenseReluDense.wi_0.weight");
        long[] bias = singleFile.ShapeOf(T5Prefix + "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
        int layers = singleFile.Keys.Count(k => k.StartsWith(T5Prefix + "encoder.block.", StringComparison.Ordinal) && k.EndsWith(".layer.0.SelfAttention.q.weight", StringComparison.Ordinal));
        return new T5Config
        {
            VocabSize = (int)tokens[0], DModel = (int)tokens[1], NumHeads = (int)bias[1], DKv = (int)(q[0] / bias[1]), DFf = (int)wi[0],
            NumLayers = layers, RelativeAttentionNumBuckets = (int)bias[0], RelativeAttentionMaxDistance = 128, LayerNormEpsilon = 1e-6,
        };
    }
}
