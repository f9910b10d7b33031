using Ras.Errors;
using Ras.IO.Checkpoints;
using static TorchSharp.torch;

namespace Ras.Pipelines;

/// <summary>How a pipeline is opened: the config folder of a single file, the device and the weight storage.</summary>
public sealed record PipelineOpenOptions
{
    /// <summary>For a single file: a diffusers folder of the same family whose configs, tokenizers and missing components are used.</summary>
    public string? ConfigFolder { get; init; }

    /// <summary>Where to compute; null for the CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>How large weights are held; see <see cref="WeightStorage"/>.</summary>
    public WeightStorage Storage { get; init; } = WeightStorage.Auto;

    /// <summary>Separate text encoder / VAE files used instead of the pipeline's own (families that take them: SD3, FLUX.1).</summary>
    public ComponentFiles Components { get; init; } = ComponentFiles.None;

    /// <summary>Throws unless no component file is given: for families whose pipelines take none.</summary>
    /// <exception cref="Errors.OptionsException">One is given.</exception>
    public void RequireNoComponentFiles(string family) => Components.For(family, new Dictionary<string, string>());
}

/// <summary>A random-weight model of a family's real widths, for <c>ras bench --synthetic</c>.</summary>
/// <param name="Name">The preset's name (e.g. <c>sd3-medium</c>).</param>
/// <param name="Description">Its widths, for <c>--help</c>.</param>
/// <param name="DefaultLayers">Blocks when <c>--layers</c> is not given (the real model's depth).</param>
/// <param name="DefaultSingleLayers">Single-stream blocks when <c>--single-layers</c> is not given; null for families without them.</param>
/// <param name="Create">Builds it with (layers, single layers) blocks on a device.</param>
public sealed record SyntheticModel(string Name, string Description, int DefaultLayers, int? DefaultSingleLayers,
    Func<int, int?, Device, DenoisingTransformer> Create);

/// <summary>
/// One model family as the library's entry points see it: which diffusers folders, transformer configs and single files are
/// its own, how to open its pipeline, how to load its transformer alone (<c>ras denoise</c>, <c>ras bench</c>), and how to
/// describe it (<c>ras info</c>). Every family is listed once in <see cref="ModelFamilies"/>; nothing else switches on class names.
/// </summary>
public abstract class ModelFamily
{
    /// <summary>The family's name for messages (e.g. <c>SD3</c>, <c>Lumina-Next</c>).</summary>
    public abstract string Name { get; }

    /// <summary>The <c>model_index.json</c> <c>_class_name</c> values of its pipeline folders.</summary>
    public abstract IReadOnlyList<string> PipelineClassNames { get; }

    /// <summary>The <c>transformer/config.json</c> <c>_class_name</c> of its transformer, or null when it uses another family's.</summary>
    public abstract string? TransformerClassName { get; }

    /// <summary>The type of this family's <see cref="FamilyExtras"/>, or null when it has none.</summary>
    public virtual Type? ExtrasType => null;

    /// <summary>True when the model works on pixels (no VAE): one image pixel per latent pixel.</summary>
    public virtual bool PixelSpace => false;

    /// <summary>
    /// The keys of the transformer's stored buffers: tensors in its checkpoint that are not trained parameters (e.g. SD3's fixed
    /// sin-cos position table), so that a count of parameters read from a checkpoint matches <c>model.parameters()</c>.
    /// </summary>
    public virtual IReadOnlyList<string> TransformerBufferKeys => [];

    /// <summary>Random-weight presets for <c>ras bench --synthetic</c>.</summary>
    public virtual IReadOnlyList<SyntheticModel> SyntheticModels => [];

    /// <summary>The key layout of the family's single-file checkpoints, for messages (e.g. <c>model.diffusion_model.joint_blocks.*</c>); null when it has none.</summary>
    public virtual string? SingleFileLayout => null;

    /// <summary>True when <paramref name="file"/>'s keys are a single-file checkpoint of this family.</summary>
    public virtual bool MatchesSingleFile(TensorStore file) => false;

    /// <summary>Opens a pipeline folder of this family; configs are read and checked now, weights loaded stage by stage.</summary>
    /// <exception cref="RasInputException">A component missing, or configs that do not fit together.</exception>
    public abstract ITextToImagePipeline OpenFolder(string folder, PipelineOpenOptions options);

    /// <summary>Opens a single-file checkpoint of this family (see <see cref="MatchesSingleFile"/>).</summary>
    /// <exception cref="RasInputException">Not one, or a component it lacks and no <see cref="PipelineOpenOptions.ConfigFolder"/> supplies.</exception>
    public virtual ITextToImagePipeline OpenSingleFile(string path, PipelineOpenOptions options) =>
        throw new RasInputException($"{path}: {Name} models are loaded from diffusers folders, not single files");

    /// <summary>Loads the transformer of <paramref name="transformerFolder"/> (its config's class is <see cref="TransformerClassName"/>); compute is float32.</summary>
    /// <param name="transformerFolder">A diffusers <c>transformer/</c> folder.</param>
    /// <param name="device">Where to compute.</param>
    /// <param name="extras">The family's own sampling settings, if any.</param>
    /// <param name="storage">How the weights are held (default: all float32).</param>
    /// <exception cref="RasInputException">Bad config, malformed weights, or extras of another family.</exception>
    public abstract DenoisingTransformer LoadTransformer(string transformerFolder, Device device, FamilyExtras? extras = null, WeightStorage storage = WeightStorage.FullPrecision);

    /// <summary>Labelled lines describing the transformer config at <paramref name="configPath"/> (<c>ras info</c>).</summary>
    /// <param name="configPath">The transformer's <c>config.json</c>.</param>
    /// <param name="pixelsPerLatent">Image pixels per latent pixel (8 with a VAE, 1 in pixel space).</param>
    public abstract IEnumerable<(string Label, string Text)> DescribeTransformer(string configPath, int pixelsPerLatent);

    /// <inheritdoc />
    public override string ToString() => Name;
}
