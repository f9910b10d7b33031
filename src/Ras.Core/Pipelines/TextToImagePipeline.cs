using Ras.Errors;
using Ras.IO.Checkpoints;
using static TorchSharp.torch;

namespace Ras.Pipelines;

/// <summary>Opens a pipeline of the right family for a model path (<see cref="ModelFamilies"/>).</summary>
public static class TextToImagePipeline
{
    /// <summary>
    /// Opens <paramref name="path"/>: a diffusers pipeline folder (family from <c>model_index.json</c>'s <c>_class_name</c>) or a
    /// single-file checkpoint (family from its key layout).
    /// </summary>
    /// <param name="path">Folder or <c>.safetensors</c> file.</param>
    /// <param name="configFolder">For a single file: a diffusers folder of the same family whose configs and tokenizers are used.</param>
    /// <param name="device">Where to compute; null for the CPU.</param>
    /// <param name="storage">How large weights are held (transformers and large text encoders); see <see cref="WeightStorage"/>.</param>
    /// <param name="components">Separate CLIP / T5 / VAE files used instead of the model's own (SD3 and FLUX.1).</param>
    /// <exception cref="RasInputException">Not a model this version can run (the message says why).</exception>
    public static ITextToImagePipeline Open(string path, string? configFolder = null, Device? device = null, WeightStorage storage = WeightStorage.Auto,
        ComponentFiles? components = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var options = new PipelineOpenOptions { ConfigFolder = configFolder, Device = device, Storage = storage, Components = components ?? ComponentFiles.None };
        if (Directory.Exists(path))
        {
            ModelFamily family = ModelFamilies.ForPipelineFolder(path);
            if (configFolder is not null)
            {
                throw new OptionsException("config", $"applies to single-file checkpoints only; {path} is a pipeline folder with its own configs");
            }

            return family.OpenFolder(path, options);
        }

        if (!File.Exists(path))
        {
            throw new RasInputException($"{path}: no such file or folder");
        }

        ModelFamily fileFamily;
        using (TensorStore store = TensorStore.OpenFile(path))
        {
            fileFamily = ModelFamilies.ForSingleFile(store, path);
        }

        return fileFamily.OpenSingleFile(path, options);
    }
}
