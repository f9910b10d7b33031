using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Configs;
using Ras.Pipelines.Flux;
using Ras.Pipelines.Lumina;
using Ras.Pipelines.SD3;

namespace Ras.Pipelines;

/// <summary>
/// The registry of model families: the one place that maps a pipeline folder's <c>model_index.json</c>, a transformer's
/// <c>config.json</c> or a single file's keys to the family that runs it. The CLI and <see cref="TextToImagePipeline"/> read it;
/// adding a family means adding it here.
/// </summary>
public static class ModelFamilies
{
    /// <summary>Every family, in the order they are tried for single files.</summary>
    public static IReadOnlyList<ModelFamily> All { get; } = [SD3Family.Instance, FluxFamily.Instance, LuminaFamily.Instance, ShapesFamily.Instance];

    /// <summary>Every <c>ras bench --synthetic</c> preset.</summary>
    public static IEnumerable<SyntheticModel> SyntheticModels => All.SelectMany(f => f.SyntheticModels);

    /// <summary>The family of a diffusers pipeline folder, by its <c>model_index.json</c>'s <c>_class_name</c>.</summary>
    /// <exception cref="RasInputException">No <c>model_index.json</c>, or a class no family runs (the message lists the supported ones).</exception>
    public static ModelFamily ForPipelineFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        string index = Path.Combine(folder, "model_index.json");
        if (!File.Exists(index))
        {
            throw new RasInputException($"{folder}: not a diffusers pipeline folder (model_index.json not found)");
        }

        return TryForPipelineFolder(folder)
            ?? throw new ConfigException(index, "_class_name", $"is '{JsonConfig.Load(index).ClassName}'; supported pipelines: {Supported(f => f.PipelineClassNames)}");
    }

    /// <summary>The family of <paramref name="folder"/> when it is a pipeline folder of a known family, else null.</summary>
    public static ModelFamily? TryForPipelineFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        string index = Path.Combine(folder, "model_index.json");
        if (!File.Exists(index))
        {
            return null;
        }

        string? name = JsonConfig.Load(index).ClassName;
        return All.FirstOrDefault(f => f.PipelineClassNames.Contains(name));
    }

    /// <summary>The family of a transformer folder, by its <c>config.json</c>'s <c>_class_name</c>.</summary>
    /// <exception cref="RasInputException">No <c>config.json</c>, or a class no family runs.</exception>
    public static ModelFamily ForTransformerFolder(string transformerFolder)
    {
        ArgumentNullException.ThrowIfNull(transformerFolder);
        string config = Path.Combine(transformerFolder, "config.json");
        if (!File.Exists(config))
        {
            throw new RasInputException($"{transformerFolder}: no config.json (not a diffusers transformer folder)");
        }

        string? name = JsonConfig.Load(config).ClassName;
        return All.FirstOrDefault(f => f.TransformerClassName is not null && f.TransformerClassName == name)
            ?? throw new ConfigException(config, "_class_name",
                $"is '{name}'; supported transformers: {Supported(f => f.TransformerClassName is string c ? [c] : [])}");
    }

    /// <summary>
    /// The family whose single-file layout <paramref name="file"/> has (safetensors or GGUF), by its keys. A GGUF file's
    /// <c>general.architecture</c> (<c>flux</c>, <c>sd3</c>, …) makes the error precise when no layout matches.
    /// </summary>
    /// <exception cref="RasInputException">None recognises it.</exception>
    public static ModelFamily ForSingleFile(TensorStore file, string path)
    {
        ArgumentNullException.ThrowIfNull(file);
        ModelFamily? byKeys = All.FirstOrDefault(f => f.MatchesSingleFile(file));
        if (byKeys is not null)
        {
            return byKeys;
        }

        string known = string.Join("; ", All.Where(f => f.SingleFileLayout is not null).Select(f => $"{f.Name}: {f.SingleFileLayout}"));
        if (file.Gguf?.Architecture is string architecture)
        {
            throw new RasInputException(GgufArchitectures.TryGetValue(architecture, out ModelFamily? named)
                ? $"{path}: GGUF general.architecture is '{architecture}' ({named.Name}), but its tensor names are not {named.Name}'s single-file layout ({named.SingleFileLayout})"
                : $"{path}: GGUF general.architecture is '{architecture}', which no supported family runs (supported: {string.Join(", ", GgufArchitectures.Select(a => $"{a.Key} = {a.Value.Name}"))})");
        }

        throw new RasInputException($"{path}: not a single-file checkpoint of a supported family (no key layout matched; known: {known})");
    }

    /// <summary>GGUF <c>general.architecture</c> values (as ComfyUI-GGUF writes them) of the families that read GGUF files.</summary>
    private static Dictionary<string, ModelFamily> GgufArchitectures { get; } =
        new Dictionary<string, ModelFamily>(StringComparer.Ordinal) { ["flux"] = FluxFamily.Instance, ["sd3"] = SD3Family.Instance };

    /// <summary>The synthetic preset <paramref name="name"/>.</summary>
    /// <exception cref="OptionsException">No such preset (the message lists them).</exception>
    public static SyntheticModel Synthetic(string name) =>
        SyntheticModels.FirstOrDefault(s => s.Name == name)
        ?? throw new OptionsException("synthetic", $"'{name}' is not a synthetic model (available: {string.Join(", ", SyntheticModels.Select(s => s.Name))})");

    private static string Supported(Func<ModelFamily, IEnumerable<string>> names) =>
        string.Join("; ", All.Where(f => names(f).Any()).Select(f => $"{string.Join(", ", names(f))} ({f.Name})"));
}
