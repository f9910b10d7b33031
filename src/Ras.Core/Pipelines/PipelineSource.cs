using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.Models.Clip;
using Ras.Models.T5;
using Ras.Models.Vae;
using Ras.Schedulers;
using Ras.Tokenizers;
using static TorchSharp.torch;

namespace Ras.Pipelines;

/// <summary>
/// Where a pipeline's components come from: a diffusers folder (<c>model_index.json</c>, one sub-folder per component) or a
/// single file (a transformer in its original layout, optionally with text encoders under <c>text_encoders.*</c> and a VAE)
/// plus an optional <c>--config</c> folder of the same family, as diffusers' <c>from_single_file(config=…)</c>: its configs and
/// tokenizers are used, and its weights supply every component the file lacks. Configs a single file cannot give are inferred
/// from tensor shapes and the family's standard settings, and tokenizers it cannot give are the built-in ones
/// (<see cref="BuiltInTokenizers"/>). Separate <see cref="ComponentFiles"/> replace any component's weights. Components
/// load on demand, so each can be freed after its stage. A family's source adds only its components and layouts.
/// </summary>
public abstract class PipelineSource : IDisposable
{
    /// <summary>The weight of the text projection CLIP models may lack.</summary>
    protected const string ProjectionKey = "text_projection.weight";

    private static readonly string[] VaePrefixes = [VaeLdmConverter.Prefix, "vae."];

    /// <summary>Wraps what <see cref="OpenPath"/> found.</summary>
    protected PipelineSource(string path, string? folder, TensorStore? singleFile, string? configFolder, WeightStorage storage,
        IReadOnlyDictionary<string, ComponentFile>? components = null)
    {
        Components = components ?? new Dictionary<string, ComponentFile>();
        Path = path;
        Folder = folder;
        SingleFile = singleFile;
        ConfigFolder = configFolder;
        Storage = storage;
    }

    /// <summary>What the user pointed at.</summary>
    public string Path { get; }

    /// <summary>The diffusers folder, or null for a single file.</summary>
    public string? Folder { get; }

    /// <summary>The <c>--config</c> folder of a single file, or null.</summary>
    public string? ConfigFolder { get; }

    /// <summary>How the transformer's and the large text encoders' weights are held (CLIPs and VAEs are small and always float32).</summary>
    public WeightStorage Storage { get; }

    /// <summary>Separate component files, by diffusers component folder name (e.g. <c>text_encoder_2</c>).</summary>
    public IReadOnlyDictionary<string, ComponentFile> Components { get; }

    /// <summary>True for a single-file checkpoint.</summary>
    public bool IsSingleFile => SingleFile is not null;

    /// <summary>The single file, or null for a folder.</summary>
    protected TensorStore? SingleFile { get; }

    /// <summary>The family, for messages.</summary>
    protected abstract ModelFamily Family { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        SingleFile?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// The tokenizer folder <paramref name="name"/>: the pipeline folder's; for a single file the <c>--config</c> folder's when it
    /// has one, else the library's built-in copy of the standard tokenizer (<paramref name="builtIn"/>).
    /// </summary>
    /// <exception cref="RasInputException">A pipeline folder lacks it.</exception>
    public string TokenizerFolder(string name, BuiltInTokenizer builtIn)
    {
        string? root = Folder ?? ConfigFolder;
        string? folder = root is null ? null : System.IO.Path.Combine(root, name);
        if (folder is not null && Directory.Exists(folder))
        {
            return folder;
        }

        return Folder is not null ? throw new RasInputException($"{Folder}: tokenizer folder {name}/ is missing") : BuiltInTokenizers.Folder(builtIn);
    }

    /// <summary>
    /// Checks <paramref name="path"/> and <paramref name="configFolder"/>: a folder must be a diffusers folder of
    /// <paramref name="family"/> with every folder in <paramref name="components"/>; a file must match <paramref name="matches"/>.
    /// Returns the folder, or the opened file.
    /// </summary>
    /// <exception cref="RasInputException">None of that holds (the message says which).</exception>
    protected static (string? Folder, TensorStore? File) OpenPath(string path, string? configFolder, ModelFamily family, IReadOnlyList<string> components,
        Func<TensorStore, bool> matches)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(matches);
        if (configFolder is not null)
        {
            PipelineFolder.Require(configFolder, family, [], "--config");
        }

        if (Directory.Exists(path))
        {
            PipelineFolder.Require(path, family, components);
            return (path, null);
        }

        if (!File.Exists(path))
        {
            throw new RasInputException($"{path}: no such file or folder");
        }

        var store = TensorStore.OpenFile(path);
        if (!matches(store))
        {
            store.Dispose();
            throw new RasInputException($"{path}: not a single-file {family.Name} checkpoint (no keys like {family.SingleFileLayout})");
        }

        return (null, store);
    }

    /// <summary>
    /// Throws now, before anything is computed, unless every component a generation will load is somewhere: for a single file,
    /// each of <paramref name="components"/> in the file (its flag says so), in a component file, or in the <c>--config</c>
    /// folder's weights. A pipeline folder's components were checked when it was opened; tokenizers always have a built-in copy.
    /// </summary>
    /// <exception cref="RasInputException">The first component missing, named with where it could come from.</exception>
    protected void RequireComplete(IEnumerable<(string Component, bool InFile, string FileKeys, string Flag)> components)
    {
        ArgumentNullException.ThrowIfNull(components);
        if (SingleFile is null)
        {
            return;
        }

        foreach ((string component, bool inFile, string fileKeys, string flag) in components)
        {
            if (!inFile && !Components.ContainsKey(component) && ConfigWeights(component) is null)
            {
                throw new RasInputException($"{Path}: this single file has no {component} ({fileKeys}); give it as a file with --{flag} FILE, or pass --config DIR with a diffusers {Family.Name} folder that has {component}/ weights");
            }
        }
    }

    /// <summary>True when the single file holds an LDM / BFL-layout VAE under one of the prefixes <see cref="LoadVae"/> reads.</summary>
    protected bool SingleFileHasVae => SingleFile is not null && VaePrefixes.Any(p => VaeLdmConverter.Matches(SingleFile, p));

    /// <summary>True when the single file holds a CLIP tower under <paramref name="prefix"/>.</summary>
    protected bool SingleFileHasClip(string prefix) => SingleFile?.Contains(prefix + "text_model.embeddings.token_embedding.weight") == true;

    /// <summary>The folder of component <paramref name="name"/> in the pipeline folder.</summary>
    /// <exception cref="RasInputException">It is missing.</exception>
    protected string Component(string name)
    {
        string folder = System.IO.Path.Combine(Folder!, name);
        return Directory.Exists(folder) ? folder : throw new RasInputException($"{Folder}: component folder {name}/ is missing");
    }

    /// <summary>
    /// <paramref name="component"/>/<paramref name="file"/> in the pipeline or <c>--config</c> folder; null for a single file without
    /// one (the caller infers the config).
    /// </summary>
    /// <exception cref="RasInputException">A pipeline folder lacks it.</exception>
    protected string? ConfigPath(string component, string file)
    {
        string? root = Folder ?? ConfigFolder;
        string? path = root is null ? null : System.IO.Path.Combine(root, component, file);
        if (path is not null && File.Exists(path))
        {
            return path;
        }

        return Folder is not null ? throw new RasInputException($"{Folder}: {component}/{file} is missing") : null;
    }

    /// <summary>The <c>--config</c> folder's <paramref name="component"/> folder when it holds weights (for parts a single file lacks).</summary>
    protected string? ConfigWeights(string component)
    {
        if (ConfigFolder is null)
        {
            return null;
        }

        string folder = System.IO.Path.Combine(ConfigFolder, component);
        return Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.safetensors*").Any() ? folder : null;
    }

    /// <summary>The scheduler config: the folder's, else <paramref name="standard"/> (a single file without <c>--config</c>).</summary>
    protected FlowMatchEulerDiscreteSchedulerConfig LoadSchedulerConfig(FlowMatchEulerDiscreteSchedulerConfig standard) =>
        ConfigPath("scheduler", "scheduler_config.json") is string config ? FlowMatchEulerDiscreteSchedulerConfig.Load(config) : standard;

    /// <summary>
    /// The VAE's config: the folder's, else <paramref name="standard"/>; a VAE file's or a single file's VAE has its architecture
    /// read from its shapes (<see cref="VaeShapes"/>) over that.
    /// </summary>
    protected AutoencoderKLConfig LoadVaeConfig(AutoencoderKLConfig standard)
    {
        string? configPath = ConfigPath("vae", "config.json");
        AutoencoderKLConfig known = configPath is not null ? AutoencoderKLConfig.Load(configPath) : standard;
        if (Components.TryGetValue("vae", out ComponentFile? file))
        {
            // A VAE file's architecture is in its shapes; what shapes cannot say (factors, groups) is the family's.
            using TensorStore store = OpenComponentFile(file);
            RequireVae(store, file);
            return VaeShapes.Infer(store, VaeFilePrefix(store), known);
        }

        return configPath is null && SingleFile is not null && VaePrefixes.FirstOrDefault(p => VaeLdmConverter.Matches(SingleFile, p)) is string prefix
            ? VaeShapes.Infer(SingleFile, prefix, standard)
            : known;
    }

    /// <summary>
    /// Loads the VAE in float32: the folder's <c>vae/</c>; from a single file its LDM / BFL layout under <c>first_stage_model.</c> or
    /// <c>vae.</c>; else the <c>--config</c> folder's weights.
    /// </summary>
    /// <exception cref="RasInputException">None of those has one.</exception>
    protected AutoencoderKL LoadVae(AutoencoderKLConfig config, Device? device)
    {
        if (Components.TryGetValue("vae", out ComponentFile? file))
        {
            return LoadVaeFile(file, config, device);
        }

        if (SingleFile is null)
        {
            return AutoencoderKL.FromPretrained(Component("vae"), device);
        }

        string? prefix = VaePrefixes.FirstOrDefault(p => VaeLdmConverter.Matches(SingleFile, p));
        string vaeKeys = string.Join(" or ", VaePrefixes.Select(p => p + "*"));
        if (prefix is null)
        {
            return ConfigWeights("vae") is string vae ? AutoencoderKL.FromPretrained(vae, device)
                : throw new RasInputException($"{Path}: this single file has no VAE ({vaeKeys}); pass --config DIR with a diffusers {Family.Name} folder that has vae/ weights, or use a file that includes one");
        }

        return ModelLoader.Bind(UninitializedModules.Construct(() => new AutoencoderKL(config)), m => StateDictBinder.Load(m, VaeLdmConverter.Convert(SingleFile, config, prefix)), device);
    }

    /// <summary>A VAE file: the original (LDM / BFL <c>ae.safetensors</c>) layout, bare or under a known prefix, or diffusers' layout.</summary>
    private static AutoencoderKL LoadVaeFile(ComponentFile file, AutoencoderKLConfig config, Device? device)
    {
        using TensorStore store = OpenComponentFile(file);
        string prefix = VaeFilePrefix(store);
        if (VaeLdmConverter.Matches(store, prefix))
        {
            return ModelLoader.Bind(UninitializedModules.Construct(() => new AutoencoderKL(config)), m => StateDictBinder.Load(m, VaeLdmConverter.Convert(store, config, prefix)), device);
        }

        RequireVae(store, file);
        return ModelLoader.Bind(UninitializedModules.Construct(() => new AutoencoderKL(config)), m => StateDictBinder.Load(m, store), device);
    }

    /// <summary>The prefix of a VAE file's original-layout keys (none, or a single file's), else none (diffusers' layout).</summary>
    private static string VaeFilePrefix(TensorStore store) =>
        new[] { string.Empty }.Concat(VaePrefixes).FirstOrDefault(p => VaeLdmConverter.Matches(store, p)) ?? string.Empty;

    /// <summary>Throws unless <paramref name="store"/> holds a VAE decoder in the original or diffusers layout.</summary>
    private static void RequireVae(TensorStore store, ComponentFile file)
    {
        if (!VaeLdmConverter.Matches(store, VaeFilePrefix(store)) && !store.Contains("decoder.conv_in.weight"))
        {
            throw new RasInputException($"{file.Path} (--{file.Flag}): not a VAE (no {VaeLdmConverter.MarkerKey}, bare or under {string.Join(" or ", VaePrefixes)}, and no diffusers decoder.conv_in.weight)");
        }
    }

    /// <summary>Opens a component file (safetensors or GGUF).</summary>
    private static TensorStore OpenComponentFile(ComponentFile file)
    {
        try
        {
            return TensorStore.OpenFile(file.Path);
        }
        catch (RasInputException e)
        {
            throw new RasInputException($"--{file.Flag}: {e.Message}", e);
        }
    }

    /// <summary>The prefix under which <paramref name="store"/> holds <paramref name="marker"/> (transformers' names), or an error naming the file.</summary>
    private static string FindPrefix(TensorStore store, ComponentFile file, string marker, string what)
    {
        string? key = store.Keys.Where(k => k.EndsWith(marker, StringComparison.Ordinal)).OrderBy(k => k.Length).FirstOrDefault();
        return key is not null ? key[..^marker.Length] : throw new RasInputException($"{file.Path} (--{file.Flag}): not a {what} in transformers' names (no key ending in {marker})");
    }

    /// <summary>What <see cref="LoadClip"/> does when the weights hold no <c>text_projection</c>.</summary>
    protected enum MissingProjection
    {
        /// <summary>A missing key, as any other (diffusers folders of <c>CLIPTextModelWithProjection</c>).</summary>
        Error,

        /// <summary>The identity when the tower comes from the single file (Stability's CLIP-L, as diffusers' single-file loader).</summary>
        IdentityInSingleFile,

        /// <summary>The identity always: the model is a <c>CLIPTextModel</c> whose pooled output is used unprojected (FLUX.1).</summary>
        Identity,
    }

    /// <summary>
    /// Loads a CLIP text encoder in float32: the folder's <paramref name="component"/>; from a single file its tower under
    /// <paramref name="prefix"/> (config from the <c>--config</c> folder, else inferred from shapes over <paramref name="standard"/>);
    /// else the <c>--config</c> folder's weights. <paramref name="missingProjection"/> says whether the identity stands in for an
    /// absent <c>text_projection</c> (an identity projection changes nothing: the pooled output is used as it is).
    /// </summary>
    protected CLIPTextModelWithProjection LoadClip(string component, string prefix, CLIPTextConfig standard, MissingProjection missingProjection, Device? device)
    {
        ArgumentNullException.ThrowIfNull(standard);
        Components.TryGetValue(component, out ComponentFile? file);
        bool fromFile = file is not null || SingleFileHasClip(prefix);
        string? configPath;
        ITensorSource weights;
        TensorStore? owned = null;
        if (file is not null)
        {
            owned = OpenComponentFile(file);
            prefix = FindPrefix(owned, file, "text_model.embeddings.token_embedding.weight", "CLIP text encoder");
            configPath = Folder is null ? ConfigPath(component, "config.json") : null;   // a pipeline folder's config describes its own encoder
            weights = MappedTensorSource.WithoutPrefix(owned, prefix);
        }
        else if (fromFile)
        {
            configPath = ConfigPath(component, "config.json");
            weights = MappedTensorSource.WithoutPrefix(SingleFile!, prefix);
        }
        else
        {
            string folder = SingleFile is null ? Component(component)
                : ConfigWeights(component) ?? throw new RasInputException($"{Path}: this single file has no {component} ({prefix}*); pass --config DIR with a diffusers {Family.Name} folder that has {component}/ weights, or use a file that bundles the text encoders");
            configPath = System.IO.Path.Combine(folder, "config.json");
            owned = TensorStore.OpenComponent(folder, "model");
            weights = owned;
        }

        using (owned)
        {
            CLIPTextConfig config = configPath is not null ? CLIPTextConfig.Load(configPath) : InferClip(file is not null ? owned! : SingleFile!, prefix, standard);
            bool supply = missingProjection == MissingProjection.Identity || (missingProjection == MissingProjection.IdentityInSingleFile && fromFile);
            if (supply && !weights.Contains(ProjectionKey))
            {
                if (missingProjection == MissingProjection.IdentityInSingleFile && configPath is not null && config.ProjectionDim != config.HiddenSize)
                {
                    throw new ConfigException(configPath, "projection_dim",
                        $"is {config.ProjectionDim}, but {Path} has no {prefix}{ProjectionKey}, which stands for the identity (as diffusers' single-file loader), so it must equal hidden_size {config.HiddenSize}");
                }

                config = config with { ProjectionDim = config.HiddenSize };
                weights = new SupplementedTensorSource(weights, new Dictionary<string, SuppliedTensor>(StringComparer.Ordinal) { [ProjectionKey] = SuppliedTensor.Identity(config.HiddenSize) });
            }

            return ModelLoader.Bind(UninitializedModules.Construct(() => new CLIPTextModelWithProjection(config)), m => StateDictBinder.Load(m, weights, ignore: CLIPTextModelWithProjection.IsPositionIds), device);
        }
    }

    /// <summary>True when T5 weights are available: the folder's <paramref name="component"/>, the single file's tower under <paramref name="prefix"/>, or the <c>--config</c> folder's.</summary>
    protected bool T5Available(string component, string prefix) => Components.ContainsKey(component) || (SingleFile is null
        ? Directory.Exists(System.IO.Path.Combine(Folder!, component))
        : SingleFileHasT5(prefix) || ConfigWeights(component) is not null);

    /// <summary>
    /// Loads a T5 encoder (held as <see cref="Storage"/> says; blocks kept in their stored form are read from the file at
    /// use, <see cref="BlockReads.Once"/>) from wherever <see cref="T5Available"/> found it.
    /// </summary>
    /// <exception cref="RasInputException">There is none.</exception>
    protected T5EncoderModel LoadT5(string component, string prefix, Device? device)
    {
        if (Components.TryGetValue(component, out ComponentFile? file))
        {
            using TensorStore store = OpenComponentFile(file);
            string filePrefix = FindPrefix(store, file, "encoder.block.0.layer.0.SelfAttention.q.weight", "T5 encoder");
            T5Config fileConfig = (Folder is null ? ConfigPath(component, "config.json") : null) is string configPath ? T5Config.Load(configPath) : InferT5(store, filePrefix);
            return ModelLoader.Load(() => new T5EncoderModel(fileConfig), MappedTensorSource.WithoutPrefix(store, filePrefix), Storage, device, T5EncoderModel.Bind,
                BlockReads.Once);
        }

        if (SingleFile is null)
        {
            return T5EncoderModel.FromPretrained(Component(component), device, Storage);
        }

        if (!SingleFileHasT5(prefix))
        {
            return T5EncoderModel.FromPretrained(ConfigWeights(component)
                ?? throw new RasInputException($"{Path}: this single file has no T5 ({prefix}*); pass --config DIR with a diffusers {Family.Name} folder that has {component}/ weights"), device, Storage);
        }

        T5Config config = ConfigPath(component, "config.json") is string path ? T5Config.Load(path) : InferT5(SingleFile, prefix);
        return ModelLoader.Load(() => new T5EncoderModel(config), MappedTensorSource.WithoutPrefix(SingleFile, prefix), Storage, device, T5EncoderModel.Bind,
            BlockReads.Once);
    }

    /// <summary>True when the single file holds a T5 encoder under <paramref name="prefix"/>.</summary>
    protected bool SingleFileHasT5(string prefix) =>
        SingleFile is not null && (SingleFile.Contains(prefix + "shared.weight") || SingleFile.Contains(prefix + "encoder.embed_tokens.weight"));

    private static CLIPTextConfig InferClip(TensorStore file, string prefix, CLIPTextConfig standard)
    {
        long[] tokens = file.ShapeOf(prefix + "text_model.embeddings.token_embedding.weight");
        int layers = file.Keys.Count(k => k.StartsWith(prefix + "text_model.encoder.layers.", StringComparison.Ordinal) && k.EndsWith(".self_attn.q_proj.weight", StringComparison.Ordinal));
        long[] fc1 = file.ShapeOf(prefix + "text_model.encoder.layers.0.mlp.fc1.weight");

        // Without a projection (CLIP-L in Stability's files) the width is the hidden size: the identity stands in.
        long[] projection = file.Contains(prefix + ProjectionKey) ? file.ShapeOf(prefix + ProjectionKey) : tokens[1..];
        return standard with
        {
            VocabSize = (int)tokens[0], HiddenSize = (int)tokens[1], NumHiddenLayers = layers, IntermediateSize = (int)fc1[0],
            ProjectionDim = (int)projection[0], NumAttentionHeads = (int)tokens[1] / 64,
        };
    }

    private static T5Config InferT5(TensorStore file, string prefix)
    {
        string embed = file.Contains(prefix + "shared.weight") ? prefix + "shared.weight" : prefix + "encoder.embed_tokens.weight";
        long[] tokens = file.ShapeOf(embed);
        long[] q = file.ShapeOf(prefix + "encoder.block.0.layer.0.SelfAttention.q.weight");
        long[] wi = file.ShapeOf(prefix + "encoder.block.0.layer.1.DenseReluDense.wi_0.weight");
        long[] bias = file.ShapeOf(prefix + "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
        int layers = file.Keys.Count(k => k.StartsWith(prefix + "encoder.block.", StringComparison.Ordinal) && k.EndsWith(".layer.0.SelfAttention.q.weight", StringComparison.Ordinal));
        return new T5Config
        {
            VocabSize = (int)tokens[0], DModel = (int)tokens[1], NumHeads = (int)bias[1], DKv = (int)(q[0] / bias[1]), DFf = (int)wi[0],
            NumLayers = layers, RelativeAttentionNumBuckets = (int)bias[0], RelativeAttentionMaxDistance = 128, LayerNormEpsilon = 1e-6,
        };
    }
}
