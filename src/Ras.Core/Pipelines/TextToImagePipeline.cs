using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Configs;
using Ras.Pipelines.Lumina;
using Ras.Pipelines.SD3;
using static TorchSharp.torch;

namespace Ras.Pipelines;

/// <summary>Opens a pipeline of the right family for a model path.</summary>
public static class TextToImagePipeline
{
    /// <summary>
    /// Opens <paramref name="path"/>: a diffusers pipeline folder (family from <c>model_index.json</c>'s
    /// <c>_class_name</c>: SD3 / SD3.5, Lumina-Next or the built-in ras-shapes model) or an SD3-family single-file checkpoint.
    /// </summary>
    /// <param name="path">Folder or <c>.safetensors</c> file.</param>
    /// <param name="configFolder">For a single file: a diffusers folder of the same family whose configs and tokenizers are used.</param>
    /// <param name="device">Where to compute; null for the CPU.</param>
    /// <param name="storage">How large weights are held (SD3 transformer and T5, Lumina transformer and Gemma); see <see cref="WeightStorage"/>.</param>
    /// <exception cref="RasInputException">Not a model this version can run (the message says why).</exception>
    public static ITextToImagePipeline Open(string path, string? configFolder = null, Device? device = null, WeightStorage storage = WeightStorage.Auto)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            string index = Path.Combine(path, "model_index.json");
            if (!File.Exists(index))
            {
                throw new RasInputException($"{path}: not a diffusers pipeline folder (model_index.json not found)");
            }

            string? name = JsonConfig.Load(index).ClassName;
            if (name == ShapesPipeline.ClassName)
            {
                RejectConfig(configFolder, path);
                return ShapesPipeline.Load(path, device);
            }

            if (name is SD3PipelineSource.ClassName or "StableDiffusion3Img2ImgPipeline")
            {
                RejectConfig(configFolder, path);
                return StableDiffusion3Pipeline.Open(path, null, device, storage);
            }

            if (name == LuminaPipelineSource.ClassName)
            {
                RejectConfig(configFolder, path);
                return LuminaText2ImgPipeline.Open(path, device, storage);
            }

            throw new ConfigException(index, "_class_name",
                $"is '{name}'; supported pipelines: {SD3PipelineSource.ClassName} (SD3, SD3.5), {LuminaPipelineSource.ClassName} (Lumina-Next), {ShapesPipeline.ClassName}");
        }

        return StableDiffusion3Pipeline.Open(path, configFolder, device, storage);
    }

    private static void RejectConfig(string? configFolder, string path)
    {
        if (configFolder is not null)
        {
            throw new OptionsException("config", $"applies to single-file checkpoints only; {path} is a pipeline folder with its own configs");
        }
    }
}
